"""What every consume loop of a subscription shares, whatever its guarantee.

A loop owns one ``AIOKafkaConsumer``, the offsets in flight (:class:`OffsetTracker`),
a :class:`Committer` and the :class:`RebalanceListener` that finishes and commits work
before partitions move. It stops on request or on its first failure. The two loops
(:class:`~stream.kafka._subscriber.Subscriber` for at-least-once and at-most-once,
:class:`~stream.kafka._exactly_once.TransactionalSubscriber` for exactly-once) each add
their own ``run``.
"""

from __future__ import annotations

import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Collection
from typing import Any

import anyio

from stream.core import Guarantee
from stream.core.transport import Message, RecordHandler, Subscription
from stream.kafka._consumer import open_consumer
from stream.kafka._errors import SubscriptionFailedError
from stream.kafka._offsets import OffsetTracker
from stream.kafka._partitions import PartitionControl
from stream.kafka._rebalance import Committer, RebalanceListener

__all__ = ("ConsumeLoop", "messages_of")

logger = logging.getLogger("stream.kafka")


def messages_of(records: list[Any]) -> list[Message]:
    """aiokafka's ``ConsumerRecord``s as the core's messages."""
    return [
        Message(r.topic, r.partition, r.offset, r.key, r.value, r.headers, r.timestamp)
        for r in records
    ]


class ConsumeLoop(ABC):
    """One subscription's consumer and the state every loop keeps around it.

    Args:
        subscription: What to consume and how.
        handler: The core's handler for it.
        rebalance_timeout: The longest a rebalance waits for work on revoked partitions.

    Attributes:
        failure: Why the subscription stopped on its own, or ``None``.
    """

    def __init__(
        self, subscription: Subscription, handler: RecordHandler, *, rebalance_timeout: float
    ) -> None:
        self.subscription = subscription
        self.failure: SubscriptionFailedError | None = None
        self._handler = handler
        self._commit_timeout = rebalance_timeout
        self._tracker: OffsetTracker[Any] = OffsetTracker()
        # Only at-least-once commits after handling: at-most-once commits before,
        # exactly-once inside its transactions.
        self._committer = Committer(
            self._tracker,
            subscription.name,
            enabled=subscription.options.delivery.guarantee is Guarantee.AT_LEAST_ONCE,
        )
        self._listener = RebalanceListener(
            subscription.name,
            self._tracker,
            self._committer,
            rebalance_timeout,
            after_assign=self._assigned,
            after_revoke=self._revoked,
            give_up=lambda: self._ended or self.failure is not None,
        )
        self.partitions = PartitionControl(handler)
        self._consumer: Any = None
        self._stopping = False
        self._ended = False  # run() returned: no work in flight will finish any more
        self._fetch_scope: anyio.CancelScope | None = None
        # getmany returns as soon as records are there; the timeout only bounds an idle
        # wait, and a floor keeps max_wait=0 from spinning the event loop.
        self._fetch_timeout_ms = max(10, math.ceil(subscription.options.max_wait * 1000))

    async def start(self, client_kwargs: dict[str, Any], consumer_kwargs: dict[str, Any]) -> None:
        """Creates the consumer, subscribes (or assigns) and connects (``BindError`` if refused)."""
        self._consumer = await open_consumer(
            self.subscription, client_kwargs, consumer_kwargs, self._listener
        )
        self._committer.consumer = self.partitions.consumer = self._consumer
        if self.subscription.options.partitions is not None:
            # Assigned by hand: no rebalance will tell the service, so tell it here.
            try:
                await self.partitions.assigned(self._consumer.assignment())
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await self.close()
                raise

    @abstractmethod
    async def run(self) -> None:
        """Consumes until :meth:`request_stop` or a failure, then commits what finished."""

    async def close(self) -> None:
        """Leaves the group and disconnects (after :meth:`run` ended)."""
        self._ended = True
        self._tracker.wake()  # a revocation waiting for work gives up: leaving revokes all
        consumer, self._consumer = self._consumer, None
        self._committer.consumer = None
        if consumer is not None:
            # The last commit is done (run() ended): the service may flush its partitions.
            await self._tell_service(self.partitions.close)
            await consumer.stop()

    def request_stop(self) -> None:
        """Stops fetching; work already in a handler finishes and is committed."""
        self._stopping = True
        if self._fetch_scope is not None:
            self._fetch_scope.cancel()

    async def _fetch(self) -> dict[Any, list[Any]] | None:
        """The next records by partition (maybe none), or ``None`` once stopped or failed."""
        try:
            with anyio.CancelScope() as self._fetch_scope:
                await self._before_fetch()
                batches: dict[Any, list[Any]] = await self._consumer.getmany(
                    timeout_ms=self._fetch_timeout_ms,
                    max_records=self.subscription.options.max_records,
                )
                return batches
        except Exception as error:  # aiokafka retries what can be retried itself
            self._fail(error)
            return None
        finally:
            self._fetch_scope = None
        return None  # stopped: the fetch was cancelled

    async def _before_fetch(self) -> None:  # noqa: B027 (a hook; loops may add to it)
        """Runs before each fetch, where a request to stop can still cancel it."""

    async def _assigned(self, assigned: Collection[Any]) -> None:
        await self._partitions_assigned(assigned)
        await self._tell_service(self.partitions.assigned, assigned)

    async def _revoked(self, revoked: Collection[Any]) -> None:
        await self._partitions_revoked(revoked)
        await self._tell_service(self.partitions.revoked, revoked)

    async def _tell_service(
        self, hook: Callable[..., Awaitable[None]], *partitions: Collection[Any]
    ) -> None:
        # aiokafka only logs what a rebalance listener raises. A failed hook stops the
        # subscription instead, as a handler's error would: nothing past it is handled.
        try:
            await hook(*partitions)
        except Exception as error:
            self._fail(error)

    async def _partitions_assigned(self, assigned: Collection[Any]) -> None:  # noqa: B027
        """Runs at a rebalance once ``assigned`` are this member's."""

    async def _partitions_revoked(self, revoked: Collection[Any]) -> None:  # noqa: B027
        """Runs at a rebalance after the revoked partitions' work was waited for and
        committed."""

    def _fail(self, error: Exception) -> None:
        if self.failure is None:
            name = self.subscription.name
            logger.error("%s: stopping the subscription: %r", name, error, exc_info=error)
            self.failure = SubscriptionFailedError(name, error)
            self.failure.__cause__ = error
        self.request_stop()
        # A revocation waiting for this work gives up now instead of at its timeout.
        self._tracker.wake()
