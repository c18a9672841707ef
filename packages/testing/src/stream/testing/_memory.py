"""An in-memory broker that keeps the Kafka semantics a test can observe.

Topics have partitions; a key picks its partition with Kafka's murmur2 partitioner;
each partition is an append-only log with offsets; a consumer group sees each message
once and every group sees all; a group's committed offsets survive a service restart
on the same broker. Delivery happens inside ``publish``: when ``publish`` returns, every
handler the message reaches (and everything those handlers sent on) has run.
"""

from __future__ import annotations

import itertools
import logging
import re
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field

import anyio
import anyio.lowlevel

from stream.core import BindError
from stream.core.transport import (
    DeadLetterMessage,
    Message,
    OutgoingMessage,
    PartitionStatus,
    RecordHandler,
    Subscription,
    SubscriptionStatus,
    Topic,
    TopicPartition,
    Transport,
    TransportDescription,
    TransportStatus,
)
from stream.testing._partitioner import partition_for_key

__all__ = ("MemoryBroker",)

logger = logging.getLogger("stream.testing")

_YIELD_EVERY = 500
"""Messages delivered from one publish between two yields to the event loop."""

# Set while this task is delivering, so a handler's own publish appends without recursing.
_delivering: ContextVar[bool] = ContextVar("stream_memory_delivering", default=False)


@dataclass(slots=True)
class _Topic:
    partitions: list[list[Message]]
    in_order: list[Message] = field(default_factory=list)
    keyless: itertools.count[int] = field(default_factory=itertools.count)


@dataclass(slots=True)
class _Member:
    subscription: Subscription
    handler: RecordHandler
    pattern: re.Pattern[str] | None
    in_flight: int = 0
    # What the partition hooks were last told it owns; None before its first assignment.
    owned: frozenset[TopicPartition] | None = None
    paused: set[TopicPartition] = field(default_factory=set)
    paused_all: bool = False

    @property
    def group(self) -> object:
        """Who rebalances together: a group's members, or a manual assignment alone."""
        if self.subscription.options.partitions is not None:
            return self
        return self.subscription.group_id

    def is_paused(self, topic: str, partition: int) -> bool:
        return self.paused_all or (
            bool(self.paused) and TopicPartition(topic, partition) in self.paused
        )


class MemoryBroker(Transport):
    """A ``Transport`` that keeps everything in memory, for fast tests.

    Args:
        partitions: Partitions of a topic created on first use: one number for all,
            or a mapping of topic name to partitions (others get 1).
        raise_handler_errors: Re-raise, from the ``publish`` that caused it, the error
            of a handler whose message was dead-lettered, so a test sees it. The
            dead-letter message is published first either way.
        max_message_bytes: The largest handler output, as Kafka's default 1 MiB limit,
            so an output too large for Kafka is dead-lettered here too.
        wait_retry_backoff: Wait each retry's backoff as on Kafka. Off by default: the
            attempts and the dead letter are the same, only the waiting is skipped.
        max_deliveries: The most messages one ``publish`` may hand to handlers, counting
            what they send on; past it ``publish`` raises, so a cycle of handlers stops
            with a clear error instead of hanging the test.
    """

    def __init__(
        self,
        *,
        partitions: int | Mapping[str, int] = 1,
        raise_handler_errors: bool = True,
        max_message_bytes: int = 1024 * 1024,
        wait_retry_backoff: bool = False,
        max_deliveries: int = 10_000,
    ) -> None:
        self._default_partitions = partitions
        self.wait_retry_backoff = wait_retry_backoff
        self.max_message_bytes = max_message_bytes
        self.raise_handler_errors = raise_handler_errors
        self._topics: dict[str, _Topic] = {}
        self._committed: dict[tuple[str, str, int], int] = {}
        self._members: list[_Member] = []
        self._reply_topics: dict[str, Callable[[Message], None]] = {}
        # Who owns which partitions changes only when a member comes or goes or a topic
        # is created; worked out on every delivery it was the broker's largest cost.
        self._plan: list[tuple[_Member, list[tuple[str, int]]]] | None = None
        # Uncontended, taking the lock need not yield: delivery yields once per chunk anyway.
        self._lock = anyio.Lock(fast_acquire=True)
        self._failures: list[DeadLetterMessage] = []
        self._started = False
        # Set when an assignment may have changed (a start, a new topic for a pattern) or
        # a partition resumed: the next delivery pass rebalances (telling the partition
        # hooks) and looks at every partition again.
        self.max_deliveries = max_deliveries
        self._delivered = 0
        self._next_yield = _YIELD_EVERY

    # The Transport interface.

    def declare_topics(self, topics: Sequence[Topic]) -> None:
        """Creates each missing topic with its declared partitions, as Kafka does at
        start; one that exists keeps its partitions (a WARNING names a difference)."""
        for declared in topics:
            found = self._topics.get(declared.name)
            if found is None:
                self.create_topic(declared.name, declared.partitions)
            elif len(found.partitions) != declared.partitions:
                logger.warning(
                    "topic %r has %d partitions, not the %d declared; it is left as it is",
                    declared.name,
                    len(found.partitions),
                    declared.partitions,
                )

    def subscribe(self, subscription: Subscription, handler: RecordHandler) -> None:
        """Registers a handler before ``start``."""
        options = subscription.options
        pattern = re.compile(options.pattern) if options.pattern is not None else None
        if options.partitions is not None:
            for topic in options.topics:
                have = len(self._topic(topic).partitions)
                bad = [p for p in options.partitions if not 0 <= p < have]
                if bad:
                    raise BindError(
                        f"{subscription.name}: partitions {bad} do not exist; {topic!r} has {have}"
                    )
        if not self.wait_retry_backoff:
            handler.use_retry_sleep(_no_wait)
        self._members.append(_Member(subscription, handler, pattern))
        self._plan = None

    async def start(self) -> None:
        """Positions new groups (``latest`` skips what is there) and delivers what waits."""
        self._started = True
        self._plan = None  # the first delivery tells the partition hooks
        for member in self._members:
            self._create_dead_letter_topics(member.subscription)
            assigned = self._assigned(member)
            if member.subscription.options.auto_offset_reset == "latest":
                for topic, partition in assigned:
                    log = self._topics[topic].partitions[partition]
                    self._committed.setdefault(
                        (member.subscription.group_id, topic, partition), len(log)
                    )
        await self._deliver()

    async def stop(self) -> None:
        """Revokes every partition (delivery is done, so all is committed), forgets the
        subscriptions; logs and committed offsets stay for the next start."""
        self._started = False
        members, self._members = self._members, []
        for member in members:
            if member.owned:
                await member.handler.partitions_revoked(member.owned)
        self._plan = None
        for topic in self._reply_topics:
            self._topics.pop(topic, None)
        self._reply_topics.clear()

    async def pause(
        self, subscription: Subscription, partitions: Collection[TopicPartition] | None
    ) -> None:
        """Delivers nothing more of ``partitions`` (``None``: all) until resumed."""
        member = self._member(subscription)
        if partitions is None:
            member.paused_all = True
        else:
            member.paused.update(frozenset(partitions) & (member.owned or frozenset()))

    async def resume(
        self, subscription: Subscription, partitions: Collection[TopicPartition] | None
    ) -> None:
        """Delivers ``partitions`` (``None``: all) again, starting with what waited."""
        member = self._member(subscription)
        if partitions is None:
            member.paused_all = False
            member.paused.clear()
        elif member.paused_all:
            # Resuming some of a wholly paused subscription keeps the others paused.
            member.paused_all = False
            member.paused = set((member.owned or frozenset()) - frozenset(partitions))
        else:
            member.paused.difference_update(partitions)
        # A handler's resume lands inside a delivery, which must take another pass.
        self._plan = None
        await self._deliver()

    async def publish(self, message: OutgoingMessage) -> None:
        """Appends ``message`` to its partition and delivers it to every group."""
        await self.publish_many((message,))

    async def publish_many(self, messages: Sequence[OutgoingMessage]) -> None:
        """Appends every message, then delivers them."""
        for message in messages:
            self._append(message)
        await self._deliver()

    async def open_replies(self, topic: str, deliver: Callable[[Message], None]) -> None:
        """Creates the reply topic; each message appended to it reaches ``deliver`` at once
        (no group, nothing committed). :meth:`stop` deletes it, as on Kafka."""
        self._topics.setdefault(topic, _Topic([[]]))
        self._reply_topics[topic] = deliver

    def refusal(self, message: OutgoingMessage) -> str | None:
        """Refuses a message larger than ``max_message_bytes`` (key, value and headers)."""
        size = len(message.value or b"") + len(message.key or b"")
        size += sum(len(name) + len(value) for name, value in message.headers)
        if size <= self.max_message_bytes:
            return None
        return (
            f"{size} bytes is over the {self.max_message_bytes} bytes the broker takes in one "
            "message; send less per message or raise the limit"
        )

    async def ping(self, timeout: float) -> bool:
        """Always answers."""
        return True

    def describe(self) -> TransportDescription:
        """An in-memory transport has no servers."""
        return TransportDescription(protocol="memory")

    def status(self) -> TransportStatus:
        """Every subscription joined, with its partitions' committed and end offsets."""
        return TransportStatus(
            running=self._started,
            subscriptions=tuple(
                SubscriptionStatus(
                    name=member.subscription.name,
                    group_id=member.subscription.group_id,
                    joined=True,
                    partitions=tuple(
                        PartitionStatus(
                            topic=topic,
                            partition=partition,
                            committed=self.committed(
                                member.subscription.group_id, topic, partition
                            ),
                            end=len(self._topics[topic].partitions[partition]),
                        )
                        for topic, partition in self._assigned(member)
                    ),
                    in_flight=member.in_flight,
                )
                for member in self._members
            ),
        )

    # What tests read.

    def messages(self, topic: str) -> list[Message]:
        """Every message on ``topic``, in the order they were published."""
        found = self._topics.get(topic)
        return list(found.in_order) if found is not None else []

    def topics(self) -> list[str]:
        """The names of the topics that exist, in the order they were created."""
        return list(self._topics)

    def partition_count(self, topic: str) -> int:
        """How many partitions ``topic`` has (creating it on first use, as Kafka does)."""
        return len(self._topic(topic).partitions)

    def create_topic(self, topic: str, partitions: int) -> None:
        """Creates ``topic`` with ``partitions`` partitions; it must not exist yet."""
        if topic in self._topics:
            raise ValueError(f"topic {topic!r} already exists")
        self._topics[topic] = _Topic([[] for _ in range(partitions)])
        self._plan = None

    def committed(self, group_id: str, topic: str, partition: int = 0) -> int:
        """The next offset ``group_id`` will read from ``topic``'s ``partition``."""
        return self._committed.get((group_id, topic, partition), 0)

    # Internals.

    def _member(self, subscription: Subscription) -> _Member:
        for member in self._members:
            if member.subscription is subscription:
                return member
        raise ValueError(f"{subscription.name} is not subscribed on this broker (stopped?)")

    def _topic(self, name: str) -> _Topic:
        topic = self._topics.get(name)
        if topic is None:
            self._plan = None
            wanted = self._default_partitions
            count = wanted.get(name, 1) if isinstance(wanted, Mapping) else wanted
            topic = self._topics[name] = _Topic([[] for _ in range(count)])
            self._plan = None
        return topic

    def _create_dead_letter_topics(self, subscription: Subscription) -> None:
        """Creates each missing dead-letter topic with its source's partitions, as
        ``KafkaBroker`` does at start (rather than the default of a topic made on use)."""
        dead_letter = subscription.options.delivery.dead_letter
        if dead_letter is None:
            return
        for source in subscription.options.topics:
            name = dead_letter.topic_for(source)
            if name not in self._topics:
                self.create_topic(name, len(self._topic(source).partitions))

    def _append(self, outgoing: OutgoingMessage) -> None:
        topic = self._topic(outgoing.topic)
        count = len(topic.partitions)
        if outgoing.partition is not None:
            if not 0 <= outgoing.partition < count:
                raise ValueError(
                    f"partition {outgoing.partition} does not exist; {outgoing.topic!r} has {count}"
                )
            partition = outgoing.partition
        elif outgoing.key is not None:
            partition = partition_for_key(outgoing.key, count)
        else:
            partition = next(topic.keyless) % count
        log = topic.partitions[partition]
        timestamp = (
            outgoing.timestamp if outgoing.timestamp is not None else time.time_ns() // 1_000_000
        )
        message = Message(
            outgoing.topic,
            partition,
            len(log),
            outgoing.key,
            outgoing.value,
            outgoing.headers,
            timestamp,
        )
        log.append(message)
        topic.in_order.append(message)
        if self._reply_topics:
            deliver = self._reply_topics.get(outgoing.topic)
            if deliver is not None:
                deliver(message)

    def _assignments(self) -> list[tuple[_Member, list[tuple[str, int]]]]:
        """Each member with the partitions it owns, worked out again after a change (a
        member came or went, a topic was created, a consumer resumed)."""
        plan = self._plan
        if plan is None:
            plan = [(member, self._assigned(member)) for member in self._members]
            # Working it out may create the topics members name; that change is in it.
            self._plan = plan
        return plan

    def _assigned(self, member: _Member) -> list[tuple[str, int]]:
        """The partitions ``member`` owns: a range assignment within its group, as Kafka's."""
        subscription = member.subscription
        topics = (
            [name for name in self._topics if member.pattern.fullmatch(name)]
            if member.pattern is not None
            else list(subscription.options.topics)
        )
        owned: list[tuple[str, int]] = []
        for topic in topics:
            count = len(self._topic(topic).partitions)
            if subscription.options.partitions is not None:
                owned.extend((topic, p) for p in subscription.options.partitions)
                continue
            peers = [
                m
                for m in self._members
                if m.subscription.group_id == subscription.group_id
                and m.subscription.options.partitions is None
                and (
                    topic in m.subscription.options.topics
                    or (m.pattern is not None and m.pattern.fullmatch(topic))
                )
            ]
            index = peers.index(member)
            share, extra = divmod(count, len(peers))
            first = index * share + min(index, extra)
            owned.extend((topic, p) for p in range(first, first + share + (index < extra)))
        return owned

    async def _deliver(self) -> None:
        if not self._started or _delivering.get():
            return  # the delivery already running in this task will reach these messages
        async with self._lock:
            token = _delivering.set(True)
            try:
                await self._deliver_until_idle()
            finally:
                _delivering.reset(token)
            failures, self._failures = self._failures, []
        if failures and self.raise_handler_errors and failures[0].error is not None:
            raise failures[0].error

    async def _rebalance(self) -> None:
        """Tells the partition hooks of every group whose assignment changed, as Kafka's
        eager protocol does: each member of it loses all its partitions, then gets its
        new share."""
        plan = self._assignments()
        now = {id(m): frozenset(TopicPartition(*tp) for tp in assigned) for m, assigned in plan}
        changed = {m.group for m in self._members if m.owned != now[id(m)]}
        moving = [m for m in self._members if m.group in changed]
        for member in moving:
            if member.owned:
                await member.handler.partitions_revoked(member.owned)
            # Kafka forgets the pauses of revoked partitions; a whole-subscription pause
            # is the service's own and stays.
            member.paused.clear()
        for member in moving:
            member.owned = now[id(member)]
            await member.handler.partitions_assigned(member.owned)

    async def _deliver_until_idle(self) -> None:
        self._delivered = 0
        self._next_yield = _YIELD_EVERY
        progressed = True
        while progressed:
            progressed = False
            if self._plan is None:
                await self._rebalance()
            for member, assigned in self._assignments():
                for topic, partition in assigned:
                    progressed |= await self._deliver_partition(member, topic, partition)
            progressed |= self._plan is None

    async def _deliver_partition(self, member: _Member, topic: str, partition: int) -> bool:
        subscription = member.subscription
        log = self._topics[topic].partitions[partition]
        position_key = (subscription.group_id, topic, partition)
        start = self._committed.get(position_key, 0)
        if start >= len(log) or member.is_paused(topic, partition):
            return False
        observers = self.observers
        while start < len(log):
            if member.is_paused(topic, partition):
                break  # paused by the handler of the chunk just handled
            chunk = log[start : start + subscription.options.max_records]
            self._count_deliveries(len(chunk), subscription.name)
            for observer in observers:
                observer.received(subscription.name, topic, partition, len(chunk))
            member.in_flight += 1
            try:
                outputs = await member.handler(chunk)
            finally:
                member.in_flight -= 1
            for output in outputs:
                if isinstance(output, DeadLetterMessage):
                    self._failures.append(output)
                self._append(output)
            start = chunk[-1].offset + 1
            began = time.perf_counter()
            self._committed[position_key] = start
            for observer in observers:
                observer.committed(subscription.name, time.perf_counter() - began)
            # A long chain (a handler producing to its own topic) must still let a test's
            # timeout in. Not after every chunk: the publish already yielded once (taking
            # the lock), and a yield per hop was a third of a short chain's time.
            if self._delivered >= self._next_yield:
                self._next_yield = self._delivered + _YIELD_EVERY
                await anyio.lowlevel.checkpoint()
        return True

    def _count_deliveries(self, count: int, name: str) -> None:
        self._delivered += count
        if self._delivered > self.max_deliveries:
            raise RuntimeError(
                f"{name}: more than {self.max_deliveries} deliveries from one publish; a "
                "handler probably produces to a topic that leads back to itself. Break the "
                "cycle, or raise MemoryBroker(max_deliveries=...) if the chain is meant"
            )


async def _no_wait(_seconds: float) -> None:
    # Retries skip their backoff, but still let other tasks (and a test's timeout) run.
    await anyio.lowlevel.checkpoint()
