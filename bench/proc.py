"""Running one variant as a child process: spawn, wait for its start line, peak RSS, stop.

Each run is a fresh process so one variant's imports, caches and garbage never weigh on
the next one's numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

__all__ = ("REPO_ROOT", "VariantProcess", "cpu_seconds", "peak_rss_bytes")

REPO_ROOT = Path(__file__).resolve().parent.parent
_STOP_GRACE = 30.0


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:
            continue  # the thread ended while we looked
    return found


def _vm_hwm(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) * 1024 if match else 0


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of ``pid`` (all its threads), or ``None`` if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_bytes(pid: int) -> int:
    """Peak resident memory (``VmHWM``) of ``pid`` plus all its descendants, summed.

    With several workers the sum is an upper bound: their peaks need not coincide.
    """
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += _vm_hwm(current)
        todo += _children(current)
    return total


class VariantProcess:
    """A variant's process, its output teed to a log file (``async with``: stopped on exit)."""

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        log_path: Path,
        ready: re.Pattern[str] | None = None,
    ) -> None:
        self.argv = list(argv)
        self.log_path = log_path
        # Keep a PYTHONPATH the harness was given (e.g. a snapshot of the packages to measure
        # while the working tree changes), and add the repository for `bench` itself.
        path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(REPO_ROOT)) if p)
        self._env = {**os.environ, "PYTHONPATH": path, **env}
        self._ready_pattern = ready
        self._ready = asyncio.Event()
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self.spawned_at = 0.0
        self.ready_at: float | None = None
        self.stop_seconds: float | None = None
        """SIGTERM to exit, when it exited by itself within the grace period."""

    async def __aenter__(self) -> VariantProcess:
        self.spawned_at = time.monotonic()
        # Own session: stopping it (and its workers) never signals the harness.
        self._proc = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=REPO_ROOT,
            env=self._env,
            start_new_session=True,
        )
        self._reader = asyncio.create_task(self._read_output())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def name(self) -> str:
        """The command, for messages."""
        return " ".join(Path(self.argv[0]).name if i == 0 else a for i, a in enumerate(self.argv))

    @property
    def pid(self) -> int:
        """The process id."""
        assert self._proc is not None
        return self._proc.pid

    @property
    def running(self) -> bool:
        """Whether the process has not exited yet."""
        return self._proc is not None and self._proc.returncode is None

    @property
    def startup_seconds(self) -> float | None:
        """Spawn to the start line, if one was seen."""
        return None if self.ready_at is None else self.ready_at - self.spawned_at

    async def wait_ready(self, timeout: float) -> float:
        """Waits for the start line; returns seconds since spawn."""
        try:
            async with asyncio.timeout(timeout):
                await self._ready.wait()
        except TimeoutError:
            raise RuntimeError(
                f"{self.name} printed no start line within {timeout:.0f} s; see "
                f"{self.log_path}:\n{self.log_tail()}"
            ) from None
        assert self.ready_at is not None
        return self.ready_at - self.spawned_at

    def peak_rss(self) -> int:
        """Peak RSS of the process tree so far, in bytes (read before stopping it)."""
        return peak_rss_bytes(self.pid)

    async def stop(self) -> int:
        """SIGTERM (a graceful stop for every variant), SIGKILL after a grace period."""
        proc = self._proc
        if proc is None:
            return 0
        if proc.returncode is None:
            asked = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(_STOP_GRACE):
                    await proc.wait()
                self.stop_seconds = time.monotonic() - asked
            except TimeoutError:
                os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        # Workers of a killed parent may outlive it; the session holds them all.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        if self._reader is not None:
            await self._reader
        assert proc.returncode is not None
        return proc.returncode

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the process's output."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no output)"
        return "\n".join(text.splitlines()[-lines:])

    async def _read_output(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        with self.log_path.open("w", encoding="utf-8") as log:
            log.write(f"$ {' '.join(self.argv)}\n")
            async for raw in self._proc.stdout:
                line = raw.decode(errors="replace")
                if (
                    self.ready_at is None
                    and self._ready_pattern is not None
                    and self._ready_pattern.search(line)
                ):
                    self.ready_at = time.monotonic()
                    self._ready.set()
                log.write(line)
                log.flush()


def python_module(module: str) -> list[str]:
    """The command that runs ``python -m module`` with this interpreter."""
    return [sys.executable, "-m", module]
