"""Counts kept in plain numbers on the event loop, turned into metrics only at a scrape.

A ``prometheus_client`` counter takes a lock per increment; a handler that runs in
microseconds would pay for it more than once per message. These are ints and lists
that the loop's one thread updates; the collector reads them when scraped.
"""

from __future__ import annotations

from bisect import bisect_left

__all__ = ("DURATION_BUCKETS", "Histogram", "TopicCounts")

DURATION_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""Seconds: from a fast handler's 100 µs to a slow call's 10 s (the client's defaults
start at 5 ms, where most stream handlers have long finished)."""


class Histogram:
    """Observations counted per bucket (not cumulative: :meth:`cumulative` sums them up).

    Attributes:
        bounds: The buckets' upper bounds, ascending (``+Inf`` is implied).
        buckets: Observations per bucket; the last is above every bound.
        seconds: The sum of every observation.
    """

    __slots__ = ("bounds", "buckets", "seconds")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.buckets = [0] * (len(bounds) + 1)
        self.seconds = 0.0

    def observe(self, seconds: float) -> None:
        """Counts one observation of ``seconds``."""
        self.buckets[bisect_left(self.bounds, seconds)] += 1
        self.seconds += seconds

    def cumulative(self) -> list[tuple[str, float]]:
        """``(le, count)`` pairs as Prometheus wants them, ``+Inf`` last."""
        running = 0
        pairs: list[tuple[str, float]] = []
        for bound, count in zip((*map(repr, self.bounds), "+Inf"), self.buckets, strict=True):
            running += count
            pairs.append((bound, running))
        return pairs


class TopicCounts(Histogram):
    """What one handler did with the messages of one topic; the histogram is its
    attempts' durations."""

    __slots__ = ("dead_lettered", "failed", "handled", "retried")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        super().__init__(bounds)
        self.handled = 0
        self.failed = 0
        self.retried = 0
        self.dead_lettered = 0
