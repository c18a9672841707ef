"""Running the real ``stream`` command in a subprocess and reading its output with deadlines."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = (
    "StreamProcess",
    "children_of",
    "pid_alive",
    "run_stream",
    "stream_children",
    "stream_command",
    "wait_until_gone",
)


def stream_command() -> list[str]:
    """The installed ``stream`` console script next to this interpreter."""
    script = Path(sys.executable).parent / "stream"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "stream.cli.main"]


def _env(extra: dict[str, str] | None) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # A test says where the broker is; an address from the outer shell must not leak in.
    env.pop("STREAM_KAFKA_BOOTSTRAP", None)
    env.update(extra or {})
    return env


def run_stream(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Runs ``stream ARGS`` to completion; stdout and stderr are kept apart."""
    return subprocess.run(
        [*stream_command(), *args],
        cwd=cwd,
        env=_env(env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class StreamProcess:
    """A running ``stream ARGS``; its stdout and stderr are one stream of lines."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        launcher: Sequence[str] = (),
        own_group: bool = False,
    ) -> None:
        """Starts ``stream ARGS``, behind ``launcher`` (e.g. ``uv run``) when given; in a
        process group of its own with ``own_group``, as a terminal runs a command."""
        self.args = list(args)
        self._own_group = own_group
        self.proc = subprocess.Popen(
            [*launcher, *stream_command(), *args],
            cwd=cwd,
            env=_env(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            process_group=0 if own_group else None,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        try:
            for line in self.proc.stdout:
                self._queue.put(line.rstrip("\n"))
        except ValueError:
            pass  # closed by kill() while a grandchild still held the pipe open
        self._queue.put(None)

    @property
    def output(self) -> str:
        """Every line read so far."""
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        """Reads lines until one matches ``pattern`` (a regex); fails after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line matched {pattern!r} in {timeout} s:\n{self.output}")
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(
                    f"stream exited ({self.proc.wait()}) before a line matched {pattern!r}:\n"
                    f"{self.output}"
                )
            self.lines.append(line)
            match = regex.search(line)
            if match is not None:
                return match

    def wait_for_all(self, *patterns: str, timeout: float = 30.0) -> list[re.Match[str]]:
        """Reads lines until each of ``patterns`` matched one, in any order."""
        deadline = time.monotonic() + timeout
        found: dict[str, re.Match[str]] = {}
        start = len(self.lines)
        for pattern in patterns:
            earlier = (re.search(pattern, line) for line in self.lines[start:])
            match = next((m for m in earlier if m is not None), None)
            if match is None:
                match = self.wait_for(pattern, timeout=max(deadline - time.monotonic(), 0.01))
            found[pattern] = match
        return [found[pattern] for pattern in patterns]

    def send(self, signum: int) -> None:
        """Sends ``signum`` to the ``stream`` process."""
        self.proc.send_signal(signum)

    def finish(self, timeout: float = 60.0) -> int:
        """Waits for exit, reads the rest of the output, returns the exit code."""
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=timeout)
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        return code

    def stop(self) -> int:
        """SIGTERM, then the exit code."""
        self.send(signal.SIGTERM)
        return self.finish()

    def kill(self) -> None:
        """Kills it if it still runs (test teardown); its whole group if it has its own."""
        if self._own_group:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = re.search(r"^State:\s+(\w)", status, re.MULTILINE)
    return state is not None and state.group(1) != "Z"


def children_of(pid: int) -> list[int]:
    """The pids of ``pid``'s child processes (Linux)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in children.split()]


def stream_children(pid: int) -> list[int]:
    """The ``stream run`` processes ``pid`` started (not, say, a local broker's java)."""
    found = []
    for child in children_of(pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            continue
        if b"stream.cli.main" in command:
            found.append(child)
    return found


def wait_until_gone(pids: Sequence[int], timeout: float = 20.0) -> list[int]:
    """Waits until none of ``pids`` is alive; returns those still alive at the deadline."""
    deadline = time.monotonic() + timeout
    alive = [pid for pid in pids if pid_alive(pid)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)  # polling a process table, not waiting for a message
        alive = [pid for pid in alive if pid_alive(pid)]
    return alive
