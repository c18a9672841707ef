"""A consumer group's offsets: how far it is (committed, end, lag), and moving them.

What Kafka's ``kafka-consumer-groups.sh --describe`` and ``--reset-offsets`` do, for
``stream offsets``: a reset is planned first (nothing changes), and committed only while
the group has no members, since a running member would overwrite it with its own
position at its next commit.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, TypeAlias, TypeVar

import anyio
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from stream.kafka._errors import KafkaTransportError

if TYPE_CHECKING:
    from stream.kafka._broker import KafkaBroker

__all__ = (
    "ConsumerGroups",
    "GroupNotEmptyError",
    "PartitionLag",
    "PlannedReset",
    "ResetTo",
    "UnknownTopicError",
)

T = TypeVar("T")

ResetTo: TypeAlias = Literal["earliest", "latest"] | int | datetime
"""Where a reset moves a group: the first or the end offset of each partition, an offset
(kept within each partition's first and end offset), or the first message at or after
a time (the end offset where there is none)."""


class GroupNotEmptyError(KafkaTransportError):
    """The group has members, so its offsets cannot be reset (they would overwrite it)."""


class UnknownTopicError(KafkaTransportError):
    """A topic whose offsets were asked for does not exist."""


@dataclass(frozen=True, slots=True)
class PartitionLag:
    """Where a group is in one partition.

    Attributes:
        topic: The topic.
        partition: The partition.
        committed: The group's committed offset (the next it reads), ``None`` if none.
        end: The partition's end offset (the next written).
    """

    topic: str
    partition: int
    committed: int | None
    end: int

    @property
    def lag(self) -> int | None:
        """How many messages the group has still to read; ``None`` without a commit."""
        return None if self.committed is None else max(self.end - self.committed, 0)


@dataclass(frozen=True, slots=True)
class PlannedReset:
    """One partition's move in a reset: from ``current`` (``None``: no commit) to ``new``."""

    topic: str
    partition: int
    current: int | None
    new: int


class ConsumerGroups:
    """Reads and resets consumer groups' offsets on the cluster ``broker`` connects to.

    Use it as ``async with ConsumerGroups(broker) as groups:``; it opens an admin client
    and a consumer of no group (for the partitions' first, end and by-time offsets).
    """

    def __init__(self, broker: KafkaBroker) -> None:
        self._client_kwargs = broker._client_kwargs()
        self._admin: Any = None
        self._consumer: Any = None

    async def __aenter__(self) -> Self:
        self._admin = AIOKafkaAdminClient(**self._client_kwargs)
        await self._admin.start()
        self._consumer = AIOKafkaConsumer(**self._client_kwargs, enable_auto_commit=False)
        try:
            await self._consumer.start()
        except BaseException:
            await self._admin.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._consumer.stop()
        finally:
            await self._admin.close()

    async def members(self, group_id: str) -> tuple[str, ...]:
        """The group's members, as ``client_id@host``; empty when none runs."""
        [response] = await _retrying(lambda: self._admin.describe_consumer_groups([group_id]))
        found: list[str] = []
        for group in response.groups:
            members = group[5]
            found.extend(f"{member[1]}@{member[2].lstrip('/')}" for member in members)
        return tuple(found)

    async def lag(self, group_id: str, topics: Iterable[str] = ()) -> list[PartitionLag]:
        """Committed, end offset and lag of every partition of ``topics`` and of every
        topic the group has committed offsets on, sorted by topic and partition.

        Raises:
            UnknownTopicError: one of ``topics`` does not exist.
        """
        committed = await self._committed(group_id)
        partitions = await self._partitions({*topics, *(tp.topic for tp in committed)})
        ends = await self._consumer.end_offsets(partitions)
        return [
            PartitionLag(tp.topic, tp.partition, committed.get(tp), ends[tp]) for tp in partitions
        ]

    async def plan_reset(
        self, group_id: str, topics: Iterable[str], to: ResetTo
    ) -> list[PlannedReset]:
        """Where a reset of ``group_id`` on ``topics`` (and on the topics it has committed
        offsets on) to ``to`` moves each partition; nothing is changed.

        Raises:
            UnknownTopicError: one of ``topics`` does not exist.
        """
        committed = await self._committed(group_id)
        partitions = await self._partitions({*topics, *(tp.topic for tp in committed)})
        targets = await self._targets(partitions, to)
        return [
            PlannedReset(tp.topic, tp.partition, committed.get(tp), targets[tp])
            for tp in partitions
        ]

    async def reset(self, group_id: str, plan: Sequence[PlannedReset]) -> None:
        """Commits ``plan``'s offsets for ``group_id``.

        Raises:
            GroupNotEmptyError: the group has members; stop them first.
        """
        members = await self.members(group_id)
        if members:
            raise GroupNotEmptyError(
                f"consumer group {group_id} has {len(members)} member(s) "
                f"({', '.join(members)}); stop every instance of the service first, as a "
                "running member would overwrite the reset with its own position"
            )
        offsets = {TopicPartition(r.topic, r.partition): r.new for r in plan}
        # A consumer in the group, assigned (not subscribed): it commits as a client
        # outside any generation, which the broker accepts while the group is empty.
        consumer = AIOKafkaConsumer(
            **self._client_kwargs, group_id=group_id, enable_auto_commit=False
        )
        consumer.assign(list(offsets))
        await consumer.start()
        try:
            await consumer.commit(offsets)
        finally:
            await consumer.stop()

    async def _committed(self, group_id: str) -> dict[TopicPartition, int]:
        offsets = await _retrying(lambda: self._admin.list_consumer_group_offsets(group_id))
        return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}

    async def _partitions(self, topics: Iterable[str]) -> list[TopicPartition]:
        wanted = sorted(topics)
        # Listed first: asking a broker that auto-creates topics about one would create it.
        missing = sorted(set(wanted) - set(await self._admin.list_topics()))
        if missing:
            raise UnknownTopicError(f"topic {missing[0]!r} does not exist on the cluster")
        partitions: list[TopicPartition] = []
        for described in await self._admin.describe_topics(wanted) if wanted else ():
            numbers = sorted(p["partition"] for p in described["partitions"])
            partitions.extend(TopicPartition(described["topic"], n) for n in numbers)
        partitions.sort()
        return partitions

    async def _targets(
        self, partitions: list[TopicPartition], to: ResetTo
    ) -> dict[TopicPartition, int]:
        firsts = await self._consumer.beginning_offsets(partitions)
        ends = await self._consumer.end_offsets(partitions)
        if to == "earliest":
            return dict(firsts)
        if to == "latest":
            return dict(ends)
        if isinstance(to, int):
            return {tp: min(max(to, firsts[tp]), ends[tp]) for tp in partitions}
        assert isinstance(to, datetime)
        if to.tzinfo is None:
            raise ValueError(f"{to.isoformat()} has no time zone; add one, e.g. Z or +01:00")
        millis = int(to.timestamp() * 1000)
        found = await self._consumer.offsets_for_times(dict.fromkeys(partitions, millis))
        # No message at or after the time: the end, as Kafka's own tool does.
        return {tp: found[tp].offset if found.get(tp) else ends[tp] for tp in partitions}


_RETRY_FOR = 10.0
"""Seconds a retriable error (e.g. a group coordinator still loading) is tried again."""


async def _retrying(call: Callable[[], Awaitable[T]]) -> T:
    # A young cluster has no group coordinator yet (its offsets topic is being created),
    # and a moving one answers "not the coordinator" for a moment: both pass.
    deadline = time.monotonic() + _RETRY_FOR
    while True:
        try:
            return await call()
        except KafkaError as error:
            if not error.retriable or time.monotonic() > deadline:
                raise
        await anyio.sleep(0.2)
