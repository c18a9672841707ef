"""The middleware of one handler: counts its attempts, their outcome and duration."""

from __future__ import annotations

from bisect import bisect_left
from time import perf_counter
from typing import Any

from stream.core import CallNext, EncodeError, Message, Middleware, OutgoingMessage
from stream.core.transport import DeadLetterMessage
from stream.prometheus._counts import TopicCounts

__all__ = ("HandlerMetrics",)


class HandlerMetrics(Middleware):
    """``Metrics`` bound to one handler: its name is the ``handler`` label.

    Args:
        name: ``"<Service>.<method>"``.
        batch: Whether the handler takes a batch (counts are per message either way).
        bounds: The duration histogram's buckets.

    Attributes:
        by_topic: What it did with each topic's messages.
        published: Records it sent, by topic.
    """

    def __init__(self, name: str, *, batch: bool, bounds: tuple[float, ...]) -> None:
        self.name = name
        self.by_topic: dict[str, TopicCounts] = {}
        self.published: dict[str, int] = {}
        self._batch = batch
        self._bounds = bounds
        # Messages whose last attempt failed: their next attempt is a retry. Empty while
        # all goes well, so a healthy message pays one truth test for it.
        self._failing: set[tuple[str, int, int]] = set()

    async def handle(self, message: Message, body: Any, call_next: CallNext) -> Any:
        """Counts the attempt as handled, or failed (and the next one as a retry), and
        observes how long it took."""
        counts = self.by_topic.get(message.topic)
        if counts is None:
            counts = self.by_topic[message.topic] = TopicCounts(self._bounds)
        if self._failing and _place(message) in self._failing:
            counts.retried += len(body) if self._batch else 1
        began = perf_counter()
        try:
            result = await call_next()
        except BaseException:
            # A timeout reaches here as a cancellation: it failed the attempt all the same.
            counts.observe(perf_counter() - began)
            counts.failed += len(body) if self._batch else 1
            self._failing.add(_place(message))
            raise
        # Inlined (no method call, no tuple): this runs once per message.
        elapsed = perf_counter() - began
        counts.buckets[bisect_left(self._bounds, elapsed)] += 1
        counts.seconds += elapsed
        counts.handled += len(body) if self._batch else 1
        if self._failing:
            self._failing.discard(_place(message))
        return result

    def publish(self, record: OutgoingMessage, source: Message | None) -> OutgoingMessage:
        """Counts the record sent; a dead letter also counts against its source topic."""
        published = self.published
        published[record.topic] = published.get(record.topic, 0) + 1
        if source is not None and isinstance(record, DeadLetterMessage):
            counts = self.by_topic.get(source.topic)
            if counts is None:
                counts = self.by_topic[source.topic] = TopicCounts(self._bounds)
            counts.dead_lettered += 1
            if isinstance(record.error, EncodeError):
                # Its handler returned (counted handled), but the result could not be
                # sent: the message ends as a dead letter, not as handled.
                counts.handled -= 1
            self._failing.discard(_place(source))
        return record


def _place(message: Message) -> tuple[str, int, int]:
    return (message.topic, message.partition, message.offset)
