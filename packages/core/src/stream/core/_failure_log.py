"""Logging dead-lettered messages without letting a poison partition flood the log.

Each partition's first failures in a window are logged whole; past that, they are
counted and one line per window says how many more went to the dead-letter topic.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ("FailureLog",)


@dataclass(slots=True)
class _Window:
    started: float
    logged: int = 0
    suppressed: int = 0
    dead_letter_topic: str = ""


class FailureLog:
    """Logs the failures of one handler, a bounded number per partition and window.

    Args:
        logger: Where the lines go.
        name: The handler's name, first on every line.
        burst: Failures of one partition logged whole in a window.
        window: Seconds after which a partition's count starts again.
        clock: Seconds, monotonic.
    """

    def __init__(
        self,
        logger: logging.Logger,
        name: str,
        *,
        burst: int = 10,
        window: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._name = name
        self._burst = burst
        self._window = window
        self._clock = clock
        self._windows: dict[tuple[str, int], _Window] = {}
        self.pending = False
        """Whether some partition has failures counted but not yet summarised."""

    def should_log(self, topic: str, partition: int, dead_letter_topic: str) -> bool:
        """Counts one failure of ``topic[partition]``; ``True`` when it is to be logged
        whole, ``False`` when it is only counted for the window's summary."""
        now = self._clock()
        window = self._windows.get((topic, partition))
        if window is None or now - window.started >= self._window:
            if window is not None:
                self._summarise(topic, partition, window)
            window = self._windows[topic, partition] = _Window(now)
        if window.logged < self._burst:
            window.logged += 1
            return True
        if window.suppressed == 0:
            self._logger.error(
                "%s: %s[%d] keeps failing; further messages sent to %s are counted and "
                "summarised every %.0fs",
                self._name,
                topic,
                partition,
                dead_letter_topic,
                self._window,
            )
        window.suppressed += 1
        window.dead_letter_topic = dead_letter_topic
        self.pending = True
        return False

    def summarise_due(self) -> None:
        """Logs the summary of every window that has ended with failures counted."""
        now = self._clock()
        pending = False
        for (topic, partition), window in list(self._windows.items()):
            if now - window.started >= self._window:
                self._summarise(topic, partition, window)
                del self._windows[topic, partition]
            elif window.suppressed:
                pending = True
        self.pending = pending

    def _summarise(self, topic: str, partition: int, window: _Window) -> None:
        if window.suppressed:
            self._logger.error(
                "%s: %d more messages of %s[%d] sent to %s in the last %.0fs",
                self._name,
                window.suppressed,
                topic,
                partition,
                window.dead_letter_topic,
                self._window,
            )
