"""A watchdog that names the handler blocking the event loop.

A handler that calls blocking code (``time.sleep``, a synchronous HTTP client, a long
computation) stops every subscription of the process, and the group's heartbeats with
them. Nothing in the per-message path measures this: a task in the loop only notes the
time, every ``threshold / 4`` seconds, and a thread (which still runs while the loop is
stuck) checks that note. Once it is older than ``threshold``, the thread asks the loop
which task it is running (every task that runs a subscription's handler is named after
the subscription, see :func:`handler_task_name`), finds the line it is stuck on in the
loop thread's stack, and logs a WARNING; when the loop runs again it logs how long it
was stuck.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from types import FrameType

import anyio

__all__ = ("LoopWatchdog", "handler_task_name")

logger = logging.getLogger("stream.kafka")

_HANDLER_TASK = "stream handler "


def handler_task_name(subscription: str) -> str:
    """The name of a task that runs ``subscription``'s handler, for the watchdog."""
    return _HANDLER_TASK + subscription


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
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stuck_in: str | None = None

    def start(self) -> None:
        """Starts the watching thread; call from the loop's thread, then run :meth:`beat`."""
        self._loop_thread = threading.get_ident()
        self._loop = asyncio.get_running_loop()
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
            task = asyncio.current_task(self._loop) if self._loop is not None else None
            if frame is None or self._beat != beat:
                continue
            where = _describe(frame, task)
            self._stuck_in = where
            logger.warning(
                "%s is blocking the event loop (%.2fs so far): every subscription and the "
                "group heartbeats wait meanwhile; await the I/O, or run blocking code with "
                "`await anyio.to_thread.run_sync(...)`",
                where,
                stuck,
            )


def _describe(frame: FrameType, task: asyncio.Task[object] | None) -> str:
    """``"handler Svc.on_x (at app.py:12 in on_x)"``: the handler running and where."""
    task_name = task.get_name() if task is not None else ""
    if task_name.startswith(_HANDLER_TASK):
        name = f"handler {task_name.removeprefix(_HANDLER_TASK)}"
    else:
        name = "code outside any handler"
    code = frame.f_code
    return f"{name} (at {code.co_filename}:{frame.f_lineno} in {code.co_name})"
