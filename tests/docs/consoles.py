"""Console examples of the documentation site, read and run as a reader would type them.

A ``.console`` file under ``docs/examples`` is a terminal session: ``$ command`` lines, each
followed by what it prints. A command runs in bash, with the workspace's ``stream`` first
on ``PATH`` and the examples as the current folder; every line shown must be printed (in
any order: log lines of concurrent tasks may swap), after two normalisations that keep the
pages readable: the broker's real address reads ``localhost:9092`` and the folder reads
``/home/ada/thermo``. A command whose shown output has an ``error:`` line must exit 1,
any other 0. ``stream run`` and ``stream dev`` serve until stopped: the test waits for
their lines, then presses CTRL+C and expects a clean exit.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
SHOWN_ADDRESS = "localhost:9092"
SHOWN_FOLDER = "/home/ada/thermo"


@dataclass(frozen=True)
class Command:
    """One ``$`` line of a console example and the lines shown after it."""

    line: str
    shown: tuple[str, ...]

    @property
    def serves(self) -> bool:
        """Whether it runs until stopped (``stream run`` / ``stream dev`` without an error)."""
        words = self.line.split()
        while words and "=" in words[0]:  # VAR=value prefixes
            words.pop(0)
        runs = words[:2] in (["stream", "run"], ["stream", "dev"])
        return runs and "--help" not in words and not self.fails

    @property
    def fails(self) -> bool:
        """Whether its shown output says it fails."""
        return any(line.startswith("error:") for line in self.shown)


def read_console(path: Path) -> list[Command]:
    """The commands of a console example, in order."""
    commands: list[Command] = []
    line: str | None = None
    shown: list[str] = []
    for text in path.read_text().splitlines():
        if text.startswith("$ "):
            if line is not None:
                commands.append(Command(line, tuple(shown)))
            line, shown = text[2:], []
        else:
            assert line is not None, f"{path.name}: output before the first `$` line"
            shown.append(text)
    if line is not None:
        commands.append(Command(line, tuple(shown)))
    return commands


def copy_examples(folder: Path) -> Path:
    """A copy of the example modules in ``folder``, so commands may write files there."""
    for path in EXAMPLES.glob("*.py"):
        shutil.copy(path, folder / path.name)
    return folder


def environment(bootstrap: str | None) -> dict[str, str]:
    """The commands' environment: the workspace's ``stream`` first, 80 columns, the broker."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "80"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("STREAM_KAFKA_BOOTSTRAP", None)
    if bootstrap is not None:
        env["STREAM_KAFKA_BOOTSTRAP"] = bootstrap
    return env


class Session:
    """Runs console commands in one folder against one broker (or none)."""

    def __init__(self, cwd: Path, bootstrap: str | None = None) -> None:
        self.cwd = cwd
        self.bootstrap = bootstrap
        self.env = environment(bootstrap)

    def script(self, command: Command) -> str:
        """The command as bash runs it: the shown broker address is the real one."""
        if self.bootstrap is None:
            return command.line
        return command.line.replace(SHOWN_ADDRESS, self.bootstrap)

    def normalise(self, output: str) -> list[str]:
        """Output lines as the page shows them."""
        if self.bootstrap is not None:
            output = output.replace(self.bootstrap, SHOWN_ADDRESS)
        output = output.replace(str(self.cwd), SHOWN_FOLDER)
        return [line.rstrip() for line in output.splitlines()]

    def run(self, command: Command, timeout: float = 60) -> list[str]:
        """Runs a command that ends; checks its exit code and its shown lines."""
        done = subprocess.run(
            ["bash", "-c", self.script(command)],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
        printed = self.normalise(done.stdout)
        expected_code = 1 if command.fails else 0
        assert done.returncode == expected_code, (
            f"`{command.line}` exited {done.returncode}:\n{done.stdout}"
        )
        missing = [line for line in command.shown if line not in printed]
        assert not missing, f"`{command.line}` did not print {missing}:\n{done.stdout}"
        return printed

    def start(self, command: Command) -> Serving:
        """Starts a command that serves until stopped."""
        assert command.serves, command.line
        return Serving(self, command)


class Serving:
    """A ``stream run`` / ``stream dev`` in the background, its output read line by line."""

    def __init__(self, session: Session, command: Command) -> None:
        self.session = session
        self.command = command
        self.printed: list[str] = []
        self.proc = subprocess.Popen(
            ["bash", "-c", session.script(command)],
            cwd=session.cwd,
            env=session.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # CTRL+C reaches the process group: bash and stream
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def wait_for(self, *lines: str, timeout: float = 60) -> None:
        """Waits until every one of ``lines`` was printed."""
        deadline = time.monotonic() + timeout
        while not set(lines) <= set(self.printed):
            try:
                line = self._lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                line = ""
            missing = sorted(set(lines) - set(self.printed))
            if line is None or time.monotonic() > deadline:
                self.stop()
                printed = "\n".join(self.printed)
                raise AssertionError(f"`{self.command.line}` did not print {missing}:\n{printed}")
            self.printed += self.session.normalise(line)

    def wait_for_shown(self, timeout: float = 60) -> None:
        """Waits for every line the page shows after the command."""
        self.wait_for(*self.command.shown, timeout=timeout)

    def stop(self) -> int:
        """CTRL+C, then the exit code once it has stopped."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            code = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise
        finally:
            self._reader.join(timeout=10)  # the pipe ends with the process
            assert self.proc.stdout is not None
            self.proc.stdout.close()
        return code
