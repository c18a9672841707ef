"""What every consume loop of a subscription shares, whatever its guarantee.

A loop owns one ``AIOKafkaConsumer``, the offsets in flight (:class:`OffsetTracker`),
a :class:`Committer` and the :class:`RebalanceListener` that finishes and commits work
before partitions move. It stops on request or on its first failure; a transient broker
outage only interrupts it (see :mod:`stream.kafka._outage`): :meth:`ConsumeLoop.recover`
rewinds it to the committed offsets, and it runs again. The two loops
(:class:`~stream.kafka._subscriber.Subscriber` for at-least-once and at-most-once,
:class:`~stream.kafka._exactly_once.TransactionalSubscriber` for exactly-once) each add
their own ``run``.
"""

from __future__ import annotations

import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

import anyio

from stream.core import Guarantee
from stream.core.transport import (
    OutgoingMessage,
    PartitionStatus,
    Record,
    RecordHandler,
    Subscription,
    SubscriptionStatus,
    TransportObserver,
)
from stream.kafka._consumer import end_offset, has_joined, open_consumer, start_offset
from stream.kafka._errors import SubscriptionFailedError
from stream.kafka._offsets import OffsetTracker
from stream.kafka._outage import Outage, is_transient
from stream.kafka._partitions import PartitionControl
from stream.kafka._rebalance import Committer, RebalanceListener
from stream.kafka._undecodable import (
    dead_letter_of_undecodable,
    find_undecodable,
    is_undecodable,
    positions,
)

__all__ = ("ConsumeLoop", "messages_of")

logger = logging.getLogger("stream.kafka")


def messages_of(records: list[Any]) -> list[Record]:
    """aiokafka's ``ConsumerRecord``s as the core's records: the very objects, not copies.

    A ``ConsumerRecord`` has every field of :class:`~stream.core.transport.Record` (its
    headers a tuple: aiokafka's fetcher makes one per record), so the core reads it as it
    is, and a second object per record, built only to be read once, is saved.
    """
    return records


class ConsumeLoop(ABC):
    """One subscription's consumer and the state every loop keeps around it.

    Args:
        subscription: What to consume and how.
        handler: The core's handler for it.
        rebalance_timeout: The longest a rebalance waits for work on revoked partitions.
        outage_timeout: The longest a transient broker outage is ridden out.
        observers: Told of the records handed to the handler and of each commit.

    Attributes:
        failure: Why the subscription stopped on its own, or ``None``.
        interruption: The transient error that wound the loop down, until it recovers.
    """

    def __init__(
        self,
        subscription: Subscription,
        handler: RecordHandler,
        *,
        rebalance_timeout: float,
        outage_timeout: float = 300.0,
        observers: tuple[TransportObserver, ...] = (),
    ) -> None:
        self.subscription = subscription
        self.failure: SubscriptionFailedError | None = None
        self.interruption: Exception | None = None
        self._outage = Outage(subscription.name, outage_timeout)
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
        self._committer.observers = observers
        self._observers = observers
        self._listener = RebalanceListener(
            subscription.name,
            self._tracker,
            self._committer,
            rebalance_timeout,
            after_assign=self._assigned,
            before_revoke=self._partitions_revoking,
            after_revoke=self._revoked,
            give_up=lambda: self._ended or self._broken,
        )
        self.partitions = PartitionControl(handler)
        self._consumer: Any = None
        self._stopping = False  # the loop winds down: asked to, failed or interrupted
        self._stop_requested = False
        self._recovery_scope: anyio.CancelScope | None = None
        # The first offset fetched of each partition: where a rewind goes when the group
        # never committed one.
        self._first_fetched: dict[Any, int] = {}
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

    def status(self) -> SubscriptionStatus:
        """Its group membership, partitions, offsets and work in flight, as known now."""
        consumer = self._consumer
        partitions: tuple[PartitionStatus, ...] = ()
        joined = False
        if consumer is not None:
            joined = has_joined(consumer, self.subscription)
            committed = self._committer.committed
            partitions = tuple(
                PartitionStatus(
                    topic=tp.topic,
                    partition=tp.partition,
                    committed=committed.get(tp, start_offset(consumer, tp)),
                    end=end_offset(consumer, tp),
                )
                for tp in sorted(consumer.assignment())
            )
        return SubscriptionStatus(
            name=self.subscription.name,
            group_id=self.subscription.group_id,
            joined=joined and self.failure is None,
            partitions=partitions,
            in_flight=self._tracker.in_flight(),
            failure=None if self.failure is None else str(self.failure),
        )

    def request_stop(self) -> None:
        """Stops fetching; work already in a handler finishes and is committed."""
        self._stop_requested = True
        self._wind_down()
        if self._recovery_scope is not None:
            self._recovery_scope.cancel()

    async def recover(self) -> bool:
        """After :meth:`run` returned: whether to run it again.

        ``True`` after a transient interruption, once the finished work is committed and
        every assigned partition is rewound to its committed offset (retried with backoff
        while the outage lasts); ``False`` after a stop or a failure, or once the outage
        outlasted its bound (then :attr:`failure` says why).
        """
        if self.interruption is None or self._stop_requested or self.failure is not None:
            return False
        try:
            with anyio.CancelScope() as self._recovery_scope:
                while True:
                    await anyio.sleep(self._outage.backoff())
                    try:
                        with anyio.fail_after(self._outage.attempt_timeout()):
                            await self._rewind()
                        break
                    except Exception as error:
                        if not (is_transient(error) and self._bear(error)):
                            self._fail(error)
                            return False
        finally:
            self._recovery_scope = None
        if self._stop_requested:
            return False
        self._outage.resumed()
        self.interruption = None
        self._stopping = False
        return True

    async def _rewind(self) -> None:
        """Commits the finished prefix, drops the rest and seeks every assigned partition
        to its committed offset (or, with none, to the first offset fetched)."""
        await self._committer.commit()
        self._tracker.forget(self._tracker.partitions())
        consumer = self._consumer
        for tp in consumer.assignment():
            offset = await consumer.committed(tp)
            if offset is None:
                offset = self._first_fetched.get(tp)
            if offset is not None:
                consumer.seek(tp, offset)

    def _interrupt(self, error: Exception) -> None:
        """A send, ack, commit or fetch failed: ride a transient outage out, else fail."""
        if self.failure is not None:
            return
        if not (is_transient(error) and self._bear(error)):
            self._fail(error)
            return
        if self.interruption is None:
            self.interruption = error
        self._wind_down()

    def _bear(self, error: BaseException) -> bool:
        return self._outage.bear(error, self._progress())

    def _progress(self) -> int:
        """Counts successful commits (an outage ends at the next one)."""
        return self._committer.commits

    @property
    def _broken(self) -> bool:
        """Whether work in flight can no longer commit (a failure or an interruption)."""
        return self.failure is not None or self.interruption is not None

    def _wind_down(self) -> None:
        self._stopping = True
        if self._fetch_scope is not None:
            self._fetch_scope.cancel()
        # A revocation waiting for work that will not finish gives up now.
        self._tracker.wake()

    async def _fetch(self) -> dict[Any, list[Any]] | None:
        """The next records by partition (maybe none), or ``None`` once stopped or failed."""
        try:
            with anyio.CancelScope() as self._fetch_scope:
                await self._before_fetch()
                before = positions(self._consumer)
                try:
                    batches: dict[Any, list[Any]] = await self._consumer.getmany(
                        timeout_ms=self._fetch_timeout_ms,
                        max_records=self.subscription.options.max_records,
                    )
                except UnicodeDecodeError:
                    batches = await self._find_undecodable(before)
                first_fetched = self._first_fetched
                for tp, records in batches.items():
                    if tp not in first_fetched:
                        first_fetched[tp] = records[0].offset
                return batches
        except Exception as error:
            self._interrupt(error)
            return None
        finally:
            self._fetch_scope = None
        return None  # stopped: the fetch was cancelled

    async def _find_undecodable(self, before: dict[Any, int]) -> dict[Any, list[Any]]:
        # A record's header name is not UTF-8: see stream.kafka._undecodable.
        epoch = self._listener.epoch
        found = await find_undecodable(
            self._consumer,
            before,
            name=self.subscription.name,
            reset_to=self.subscription.options.auto_offset_reset,
            timeout_ms=self._fetch_timeout_ms,
            max_records=self.subscription.options.max_records,
        )
        # Found over several fetches: a rebalance meanwhile makes them stale.
        return found if epoch == self._listener.epoch else {}

    async def _outputs(self, messages: Sequence[Record]) -> list[OutgoingMessage]:
        """What handling ``messages`` sends: the handler's outputs, or for the stand-in of
        an undecodable record its dead letter (raises without a dead-letter topic)."""
        if is_undecodable(messages):
            return [dead_letter_of_undecodable(messages[0], self.subscription)]
        return await self._handler(messages)

    async def _before_fetch(self) -> None:  # noqa: B027 (a hook; loops may add to it)
        """Runs before each fetch, where a request to stop can still cancel it."""

    async def _assigned(self, assigned: Collection[Any]) -> None:
        await self._partitions_assigned(assigned)
        await self._tell_service(self.partitions.assigned, assigned)

    async def _revoked(self, revoked: Collection[Any]) -> None:
        # What this member knew of their committed offsets is another member's now.
        self._committer.forget(revoked)
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

    def _partitions_revoking(self, revoked: Collection[Any]) -> None:  # noqa: B027
        """Runs as a rebalance begins to take ``revoked`` away, before their work is
        waited for."""

    async def _partitions_revoked(self, revoked: Collection[Any]) -> None:  # noqa: B027
        """Runs at a rebalance after the revoked partitions' work was waited for and
        committed."""

    def _first_fetch(self, tp: Any, records: list[Any]) -> None:
        # The first records of a partition start at the group's committed offset (or its
        # reset point): the lag's base until this member commits. One lookup per chunk.
        committed = self._committer.committed
        if tp not in committed:
            committed[tp] = records[0].offset

    def _received(self, tp: Any, count: int) -> None:
        # Once per partition chunk handed over, and only when someone listens.
        for observer in self._observers:
            observer.received(self.subscription.name, tp.topic, tp.partition, count)

    def _fail(self, error: Exception) -> None:
        if self.failure is None:
            name = self.subscription.name
            logger.error("%s: stopping the subscription: %r", name, error, exc_info=error)
            self.failure = SubscriptionFailedError(name, error)
            self.failure.__cause__ = error
        self.request_stop()
