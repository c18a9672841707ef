"""Child ``stream run`` processes for ``--workers`` and ``--reload``: start, stop, never orphan.

A supervisor starts each child in its own process group, so only the supervisor sees the
terminal's CTRL+C and decides what the children get: SIGTERM for a graceful stop, SIGKILL
when forced. A child dies with its supervisor even when the supervisor is killed outright
(``PR_SET_PDEATHSIG`` on Linux, a watch on the parent's pid elsewhere).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from types import FrameType

from stream.cli._interrupts import SignalWatcher, signals_unblocked
from stream.cli._logs import logger
from stream.cli._options import RunOptions

__all__ = (
    "PARENT_ENV",
    "WORKER_ENV",
    "SupervisorSignals",
    "describe_exit",
    "spawn_child",
    "stop_child",
    "wait_or_kill",
    "watch_parent",
    "worker_number",
)

WORKER_ENV = "STREAM_CLI_WORKER"
"""Set in a worker's environment to its number (1, 2, ...), shown on its log lines."""

PARENT_ENV = "STREAM_CLI_PARENT_PID"
"""Set in a child's environment to the supervisor's pid; the child exits when it goes."""

_PR_SET_PDEATHSIG = 1


def spawn_child(
    options: RunOptions, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Starts one ``stream run`` child for ``options``; it shares our stdout and stderr."""
    child_env = {**os.environ, PARENT_ENV: str(os.getpid()), **(env or {})}
    with signals_unblocked():  # the supervisor's own mask would leave the child unstoppable
        return subprocess.Popen(  # noqa: S603 - our own interpreter and module, arguments as a list
            options.child_command(), env=child_env, process_group=0
        )


def stop_child(
    process: subprocess.Popen[bytes], *, grace: float, forced: threading.Event | None = None
) -> int:
    """Asks ``process`` to stop (SIGTERM), waits up to ``grace`` seconds, then SIGKILLs it.

    Args:
        process: The child.
        grace: Seconds it has to drain and commit.
        forced: Kill at once when this is set (a second CTRL+C) while waiting.

    Returns:
        Its exit code (negative: the signal that ended it).
    """
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    return wait_or_kill(process, deadline=time.monotonic() + grace, forced=forced)


def wait_or_kill(
    process: subprocess.Popen[bytes], *, deadline: float, forced: threading.Event | None = None
) -> int:
    """Waits for ``process`` until ``deadline`` (``time.monotonic()``), then SIGKILLs it.

    Returns:
        Its exit code (negative: the signal that ended it).
    """
    while process.poll() is None:
        if (forced is not None and forced.is_set()) or time.monotonic() >= deadline:
            process.kill()
            return process.wait()
        try:
            process.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            continue
    return process.returncode


def describe_exit(code: int) -> str:
    """``"exited with code 1"`` or ``"was killed by SIGKILL"``."""
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


class SupervisorSignals:
    """SIGINT/SIGTERM for a supervisor: the first asks for a stop, a second SIGINT forces.

    A SIGINT that a launcher relays after the terminal sent it to us already (``uv run``
    without a terminal on its stdin does) is the same CTRL+C, not a second one: see
    :mod:`stream.cli._interrupts`.

    Attributes:
        stop: Set by the first SIGINT or SIGTERM.
        force: Set by a SIGINT after that.
        wake: Set by every signal (and SIGCHLD), so a waiting loop looks around.
    """

    def __init__(self) -> None:
        """Creates the events; :meth:`install` starts listening."""
        self.stop = threading.Event()
        self.force = threading.Event()
        self.wake = threading.Event()

    def install(self) -> None:
        """Takes over SIGINT, SIGTERM and SIGCHLD; call from the main thread, before
        starting children (with :func:`spawn_child`) or threads."""
        SignalWatcher(self._on_signal).install()
        signal.signal(signal.SIGCHLD, self._on_child)

    def _on_signal(self, signum: int) -> None:
        if not self.stop.is_set():
            self.stop.set()
            logger.info("Stopping (%s); press CTRL+C again to force", signal.Signals(signum).name)
        elif signum == signal.SIGINT and not self.force.is_set():
            self.force.set()
            logger.warning("Forcing exit")
        self.wake.set()

    def _on_child(self, signum: int, frame: FrameType | None) -> None:
        self.wake.set()


def worker_number() -> int | None:
    """This process's worker number, when it is one of ``stream run --workers``."""
    value = os.environ.get(WORKER_ENV)
    return int(value) if value and value.isdigit() else None


def watch_parent() -> None:
    """Makes this child get SIGTERM when its supervisor dies, so none is left orphaned."""
    parent = os.environ.get(PARENT_ENV)
    if not parent or not parent.isdigit():
        return
    parent_pid = int(parent)
    if sys.platform == "linux":
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    else:
        threading.Thread(target=_poll_parent, args=(parent_pid,), daemon=True).start()
    # The supervisor may have died before prctl took effect.
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), signal.SIGTERM)


def _poll_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)
