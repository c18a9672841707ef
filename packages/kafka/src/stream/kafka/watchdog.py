"""A watchdog that names the handler blocking the event loop.

A handler that calls blocking code (``time.sleep``, a synchronous HTTP client, a long
computation) stops every subscription of the process, and the group's heartbeats with
them. Nothing in the per-message path measures this: a task in the loop only notes the
time, every ``threshold / 4`` seconds, and a thread (which still runs while the loop is
stuck) checks that note. Once it is older than ``threshold``, the thread looks at the
loop thread's stack, finds the subscription whose handler is running and the line it
is stuck on, and logs a WARNING; when the loop runs again it logs how long it was stuck.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from types import CodeType, FrameType

import anyio

__all__ = ("LoopWatchdog", "handler_frame")

logger = logging.getLogger("stream.kafka")

_HANDLER_FRAMES: set[CodeType] = set()


def handler_frame(code: CodeType) -> CodeType:
    """Registers ``code`` as a frame that runs a subscription's handler (its ``self``
    has a ``subscription``); returns it."""
    _HANDLER_FRAMES.add(code)
    return code


class LoopWatchdog:
    """Watches one event loop for calls that block it longer than ``threshold`` seconds.

    Args:
        threshold: Seconds the loop may be stuck before a WARNING.
    """

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self._interval = threshold / 4
        self._beat = time.monotonic()
        self._loop_thread = threading.get_ident()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._stuck_in: str | None = None

    def start(self) -> None:
        """Starts the watching thread; call from the loop's thread, then run :meth:`beat`."""
        self._loop_thread = threading.get_ident()
        self._beat = time.monotonic()
        self._thread = threading.Thread(
            target=self._watch, name="stream.kafka loop watchdog", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stops the watching thread."""
        self._stopped.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=1.0)

    async def beat(self) -> None:
        """Notes the time while the loop runs (until cancelled); logs a stall that ended."""
        while True:
            await anyio.sleep(self._interval)
            now = time.monotonic()
            stuck = now - self._beat - self._interval
            self._beat = now
            where, self._stuck_in = self._stuck_in, None
            if where is not None:
                logger.warning("%s blocked the event loop for %.2fs", where, stuck)

    def _watch(self) -> None:
        while not self._stopped.wait(self._interval):
            beat = self._beat
            stuck = time.monotonic() - beat
            if stuck < self.threshold or self._stuck_in is not None:
                continue
            frame = sys._current_frames().get(self._loop_thread)
            if frame is None or self._beat != beat:
                continue
            where = _describe(frame)
            self._stuck_in = where
            logger.warning(
                "%s is blocking the event loop (%.2fs so far): every subscription and the "
                "group heartbeats wait meanwhile; await the I/O, or run blocking code with "
                "`await anyio.to_thread.run_sync(...)`",
                where,
                stuck,
            )


def _describe(frame: FrameType) -> str:
    """``"Svc.on_x (at app.py:12 in on_x)"``: the handler running and where it is stuck."""
    innermost = frame
    name = "code outside any handler"
    current: FrameType | None = frame
    while current is not None:
        if current.f_code in _HANDLER_FRAMES:
            owner = current.f_locals.get("self")
            subscription = getattr(owner, "subscription", None)
            name = f"handler {getattr(subscription, 'name', '?')}"
            break
        current = current.f_back
    code = innermost.f_code
    return f"{name} (at {code.co_filename}:{innermost.f_lineno} in {code.co_name})"
