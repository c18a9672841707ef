"""The middleware of one handler: counts its attempts, their outcome and duration."""

from __future__ import annotations

import time
from typing import Any

from stream.core import CallNext, EncodeError, Message, Middleware, OutgoingMessage
from stream.core.transport import DeadLetterMessage
from stream.prometheus._counts import TopicCounts

__all__ = ("HandlerMetrics", "PublishCounts")

PublishCounts = dict[tuple[str, str], int]
"""Records sent, by ``(handler, topic)``; ``""`` for sends from outside a handler."""


class HandlerMetrics(Middleware):
    """``Metrics`` bound to one handler: its name is the ``handler`` label.

    Args:
        name: ``"<Service>.<method>"``.
        batch: Whether the handler takes a batch (counts are per message either way).
        bounds: The duration histogram's buckets.
        published: Where sends are counted (shared with the other handlers).
    """

    def __init__(
        self, name: str, *, batch: bool, bounds: tuple[float, ...], published: PublishCounts
    ) -> None:
        self.name = name
        self.by_topic: dict[str, TopicCounts] = {}
        self._batch = batch
        self._bounds = bounds
        self._published = published
        # Messages whose last attempt failed: their next attempt is a retry. Empty while
        # all goes well, so a healthy message pays one truth test for it.
        self._failing: set[tuple[str, int, int]] = set()

    async def handle(self, message: Message, body: Any, call_next: CallNext) -> Any:
        """Counts the attempt as handled, or failed (and the next one as a retry), and
        observes how long it took."""
        counts = self.by_topic.get(message.topic)
        if counts is None:
            counts = self.by_topic[message.topic] = TopicCounts(self._bounds)
        messages = len(body) if self._batch else 1
        where = (message.topic, message.partition, message.offset)
        failing = self._failing
        if failing and where in failing:
            counts.retried += messages
        began = time.perf_counter()
        try:
            result = await call_next()
        except BaseException:
            # A timeout reaches here as a cancellation: it failed the attempt all the same.
            counts.duration.observe(time.perf_counter() - began)
            counts.failed += messages
            failing.add(where)
            raise
        counts.duration.observe(time.perf_counter() - began)
        counts.handled += messages
        if failing:
            failing.discard(where)
        return result

    def publish(self, record: OutgoingMessage, source: Message | None) -> OutgoingMessage:
        """Counts the record sent; a dead letter also counts against its source topic."""
        key = (self.name, record.topic)
        self._published[key] = self._published.get(key, 0) + 1
        if source is not None and isinstance(record, DeadLetterMessage):
            counts = self.by_topic.get(source.topic)
            if counts is None:
                counts = self.by_topic[source.topic] = TopicCounts(self._bounds)
            counts.dead_lettered += 1
            if isinstance(record.error, EncodeError):
                # Its handler returned (counted handled), but the result could not be
                # sent: the message ends as a dead letter, not as handled.
                counts.handled -= 1
            self._failing.discard((source.topic, source.partition, source.offset))
        return record
