"""One CTRL+C is one CTRL+C, also when the launcher in front of a supervisor relays it.

The terminal sends CTRL+C's SIGINT to every process of its foreground process group. A
launcher in that group cannot always tell that its child got the SIGINT too: ``uv run``
whose standard input is not a terminal (an IDE's run window, a pipe, CI) relays it to
its child 200 ms later. A supervisor counting SIGINTs would take that copy for a second
CTRL+C and force the exit, killing a service that was stopping cleanly.

On Linux a signal says who sent it. :class:`SignalWatcher` blocks SIGINT and SIGTERM in
the process's threads and reads them with ``sigwaitinfo`` in a thread of its own; a SIGINT
from the parent process that comes within :data:`RELAY_WINDOW` seconds after one the
parent did not send is that same key press relayed, and is dropped. Where
``sigwaitinfo`` is missing (macOS) signals reach plain handlers and every one counts.
Children inherit a blocked signal mask: start them inside :func:`signals_unblocked`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from types import FrameType

from stream.cli._logs import logger

__all__ = ("RELAY_WINDOW", "SignalWatcher", "signals_unblocked")

RELAY_WINDOW = 2.0
"""Seconds after a SIGINT within which the parent's SIGINT is taken as its relayed copy."""

_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


class SignalWatcher:
    """Calls ``on_signal(signum)`` for each SIGINT and SIGTERM, less relayed copies.

    Args:
        on_signal: Runs in the watcher's thread (or, as a fallback, in the main thread).
    """

    def __init__(self, on_signal: Callable[[int], None]) -> None:
        self._on_signal = on_signal
        self._lock = threading.RLock()
        # When each SIGINT came that the parent did not send; each excuses one relayed copy.
        self._unrelayed: deque[float] = deque()

    def install(self) -> None:
        """Starts watching; call from the main thread, before starting other threads."""
        for signum in _SIGNALS:
            # Reached only without sigwaitinfo, or by a thread that began before install.
            signal.signal(signum, self._handle)
        if hasattr(signal, "sigwaitinfo"):
            signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
            # Started after blocking, so the thread inherits the mask sigwaitinfo needs.
            threading.Thread(target=self._wait, name="stream.cli signals", daemon=True).start()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self._deliver(signum, sender=None)

    def _wait(self) -> None:
        while True:
            info = signal.sigwaitinfo(_SIGNALS)
            self._deliver(info.si_signo, sender=info.si_pid)

    def _deliver(self, signum: int, sender: int | None) -> None:
        with self._lock:
            if signum == signal.SIGINT and self._relayed(sender):
                logger.debug("SIGINT relayed by the parent process %s: ignored", sender)
                return
            self._on_signal(signum)

    def _relayed(self, sender: int | None) -> bool:
        now = time.monotonic()
        while self._unrelayed and now - self._unrelayed[0] > RELAY_WINDOW:
            self._unrelayed.popleft()
        if sender is None or sender != os.getppid():
            self._unrelayed.append(now)
            return False
        if self._unrelayed:
            self._unrelayed.popleft()
            return True
        return False  # the parent's own SIGINT (`kill -INT` of a uv run): it counts


@contextlib.contextmanager
def signals_unblocked() -> Iterator[None]:
    """Unblocks SIGINT and SIGTERM in this thread meanwhile, so a child started inside
    inherits a signal mask that lets it be stopped."""
    previous = signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
