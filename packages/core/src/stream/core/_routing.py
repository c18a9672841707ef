"""One subscription as its transport sees it: messages routed by filter, partition hooks.

A transport gets one :class:`SubscriptionHandler` per subscription. It hands each
message to the first handler whose ``filter`` takes it; a message no handler takes is
skipped: it is committed in order with the others (so nothing stalls on it), counted,
and reported in the log at most once per interval.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Sequence

from stream.core._dispatch import Dispatcher
from stream.core._messages import Message, OutgoingMessage, Record, TopicPartition, message_of
from stream.core.transport import Sleep, Subscription

__all__ = ("PartitionsHook", "SubscriptionHandler")

PartitionsHook = Callable[[frozenset[TopicPartition]], Awaitable[None]]
"""The service's ``on_partitions_assigned`` or ``on_partitions_revoked``."""

_REPORT_INTERVAL = 10.0
"""Seconds between log lines about skipped messages: a busy topic that is mostly
filtered out must not flood the log."""


class SubscriptionHandler:
    """The ``RecordHandler`` of one subscription: routes, counts skips, runs hooks.

    Args:
        subscription: What the transport is given with it (named after its first handler).
        dispatchers: Its handlers, in class order; each but the last has a filter.
        on_assigned: Runs when partitions are assigned, before their first message.
        on_revoked: Runs when partitions are revoked, after their work was committed.
        logger: The service's logger.
        clock: Seconds, monotonic (paces the skip reports).

    Attributes:
        unmatched: Messages no handler's filter took (skipped and committed).
    """

    def __init__(
        self,
        subscription: Subscription,
        dispatchers: Sequence[Dispatcher],
        *,
        on_assigned: PartitionsHook,
        on_revoked: PartitionsHook,
        logger: logging.Logger,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.subscription = subscription
        self.name = subscription.name
        self.unmatched = 0
        self._dispatchers = tuple(dispatchers)
        self._routes = tuple((d, d.spec.options.filter) for d in dispatchers)
        only = dispatchers[0]
        # The usual case, one handler and no filter, goes straight to it.
        self._only = only if len(dispatchers) == 1 and only.spec.options.filter is None else None
        self._on_assigned = on_assigned
        self._on_revoked = on_revoked
        self._logger = logger
        self._clock = clock
        self._next_report = 0.0

    def use_retry_sleep(self, sleep: Sleep) -> None:
        """Waits with ``sleep`` between retries (a test transport's skips the wait)."""
        for dispatcher in self._dispatchers:
            dispatcher.use_retry_sleep(sleep)

    async def __call__(self, messages: Sequence[Record], /) -> list[OutgoingMessage]:
        """Handles ``messages`` in order, each by the handler its filters choose."""
        only = self._only
        if only is not None:
            return await only(messages)
        outputs: list[OutgoingMessage] = []
        # Consecutive messages for one handler go to it together, so outputs keep the
        # order of their inputs and a handler sees its messages in partition order.
        run: list[Message] = []
        current: Dispatcher | None = None
        for record in messages:
            message = message_of(record)  # what a filter is given
            target, error = await self._match(message)
            if run and (target is not current or error is not None):
                assert current is not None
                outputs.extend(await current(run))
                run = []
            current = target
            if target is None:
                self._skip(message)
            elif error is not None:
                outputs.extend(target.reject(message, error))
            else:
                run.append(message)
        if run:
            assert current is not None
            outputs.extend(await current(run))
        return outputs

    async def partitions_assigned(self, partitions: Collection[TopicPartition], /) -> None:
        """Tells the service that ``partitions`` are now this subscription's."""
        await self._on_assigned(frozenset(partitions))

    async def partitions_revoked(self, partitions: Collection[TopicPartition], /) -> None:
        """Tells the service that ``partitions`` are no longer this subscription's."""
        await self._on_revoked(frozenset(partitions))

    async def _match(self, message: Message) -> tuple[Dispatcher | None, Exception | None]:
        """The handler that takes ``message`` (``None``: none does), or the one whose
        filter raised, with its error."""
        for dispatcher, accepts in self._routes:
            if accepts is None:
                return dispatcher, None
            try:
                verdict = accepts(message)
                if inspect.isawaitable(verdict):
                    verdict = await verdict
            except Exception as error:
                return dispatcher, error
            if verdict:
                return dispatcher, None
        return None, None

    def _skip(self, message: Message) -> None:
        self.unmatched += 1
        now = self._clock()
        if now < self._next_report:
            return
        self._next_report = now + _REPORT_INTERVAL
        self._logger.info(
            "%s: %s[%d]@%d matched no handler's filter; skipped and committed "
            "(%d skipped since start, reported at most every %.0fs)",
            self.name,
            message.topic,
            message.partition,
            message.offset,
            self.unmatched,
            _REPORT_INTERVAL,
        )
