"""Filters, partition hooks, pause and resume: the same on both brokers (issue 17)."""

from __future__ import annotations

import anyio
import pytest
from pydantic import BaseModel

from stream.core import Message, Service, TopicPartition, consume
from tests.behaviour.backends import Backend, running, unique

pytestmark = pytest.mark.anyio


class Event(BaseModel):
    seq: int


async def is_refund(message: Message) -> bool:
    # An async predicate, to show both kinds work.
    return message.header("type") == b"refund"


async def test_filters_split_one_topic_and_skip_what_no_handler_takes(backend: Backend) -> None:
    topic = unique("split")
    group = unique("payments")
    seen: dict[str, list[int]] = {"orders": [], "refunds": []}
    last_seen = anyio.Event()

    class Payments(Service):
        @consume(topic, group_id=group, filter=lambda m: m.header("type") == b"order")
        async def orders(self, msg: Event) -> None:
            seen["orders"].append(msg.seq)

        @consume(topic, group_id=group, filter=is_refund)
        async def refunds(self, msg: Event) -> None:
            seen["refunds"].append(msg.seq)
            if msg.seq == 4:
                last_seen.set()

    kinds = ["order", "refund", "audit", "order", "refund"]
    async with running(Payments(), backend) as service:
        for seq, kind in enumerate(kinds):
            await service.publish(Event(seq=seq), topic, headers={"type": kind})
        with anyio.fail_after(30):
            await last_seen.wait()
        assert service.unmatched("orders") == service.unmatched("refunds") == 1
    assert seen == {"orders": [0, 3], "refunds": [1, 4]}
    # The skipped message was committed in order with the others.
    assert await backend.committed(group, topic, 0) == len(kinds)


async def test_a_handler_without_filter_takes_what_the_filtered_ones_leave(
    backend: Backend,
) -> None:
    topic = unique("split")
    group = unique("default")
    seen: dict[str, list[int]] = {"urgent": [], "rest": []}
    done = anyio.Event()

    class Triage(Service):
        @consume(topic, group_id=group, filter=lambda m: m.key == b"urgent")
        async def urgent(self, msg: Event) -> None:
            seen["urgent"].append(msg.seq)

        @consume(topic, group_id=group)
        async def rest(self, msg: Event) -> None:
            seen["rest"].append(msg.seq)
            if msg.seq == 3:
                done.set()

    async with running(Triage(), backend) as service:
        for seq, key in enumerate(["urgent", "later", "urgent", "later"]):
            await service.publish(Event(seq=seq), topic, key=key)
        with anyio.fail_after(30):
            await done.wait()
        assert service.unmatched("rest") == 0
    assert seen == {"urgent": [0, 2], "rest": [1, 3]}


async def test_partition_hooks_frame_the_handling_of_their_partitions(backend: Backend) -> None:
    topic = unique("hooks")
    await backend.create_topic(topic, 2)
    events: list[tuple[str, object]] = []
    both = anyio.Event()

    class Hooked(Service):
        async def on_partitions_assigned(self, partitions: frozenset[TopicPartition]) -> None:
            events.append(("assigned", partitions))

        async def on_partitions_revoked(self, partitions: frozenset[TopicPartition]) -> None:
            events.append(("revoked", partitions))

        @consume(topic)
        async def handle(self, msg: Event, message: Message) -> None:
            events.append(("handled", message.partition))
            if sum(kind == "handled" for kind, _ in events) == 2:
                both.set()

    everything = frozenset({TopicPartition(topic, 0), TopicPartition(topic, 1)})
    async with running(Hooked(), backend) as service:
        await service.publish(Event(seq=0), topic, partition=0)
        await service.publish(Event(seq=1), topic, partition=1)
        with anyio.fail_after(30):
            await both.wait()
    assert events[0] == ("assigned", everything)
    assert sorted(p for kind, p in events if kind == "handled") == [0, 1]
    # At the stop, after the last handling (and its commit).
    assert events[-1] == ("revoked", everything)


async def test_a_joining_member_revokes_partitions_only_after_their_commit(
    backend: Backend,
) -> None:
    topic = unique("rebalance")
    await backend.create_topic(topic, 2)
    group = unique("members")
    handled = anyio.Event()
    rebalanced = anyio.Event()
    committed_at_revoke: list[tuple[int, int]] = []
    assigned: list[frozenset[TopicPartition]] = []

    class Member(Service):
        async def on_partitions_assigned(self, partitions: frozenset[TopicPartition]) -> None:
            assigned.append(partitions)
            if len(assigned) == 3:  # the first member's start, then both after the join
                rebalanced.set()

        async def on_partitions_revoked(self, partitions: frozenset[TopicPartition]) -> None:
            if not committed_at_revoke:
                committed_at_revoke.extend(
                    [
                        (tp.partition, await backend.committed(group, topic, tp.partition))
                        for tp in sorted(partitions, key=lambda tp: tp.partition)
                    ]
                )

        @consume(topic, group_id=group)
        async def handle(self, msg: Event) -> None:
            if msg.seq == 2:
                handled.set()

    async with running(Member(), backend) as first:
        for seq, partition in enumerate([0, 1, 1]):
            await first.publish(Event(seq=seq), topic, partition=partition)
        with anyio.fail_after(30):
            await handled.wait()
        async with running(Member(), backend):
            with anyio.fail_after(60):
                await rebalanced.wait()
    # The first member gave both partitions up only once their work was committed.
    assert committed_at_revoke == [(0, 1), (1, 2)]
    # ...and the group shared them out afterwards, one each.
    assert sorted(len(p) for p in assigned[1:]) == [1, 1]
    assert assigned[1] | assigned[2] == {TopicPartition(topic, 0), TopicPartition(topic, 1)}


async def test_a_paused_partition_waits_until_resumed_and_nothing_is_lost(
    backend: Backend,
) -> None:
    topic = unique("pause")
    await backend.create_topic(topic, 2)
    group = unique("pausing")
    seen: list[int] = []
    paused = anyio.Event()
    other_partition = anyio.Event()
    resumed = anyio.Event()

    class Pausing(Service):
        @consume(topic, group_id=group)
        async def handle(self, msg: Event, message: Message) -> None:
            seen.append(msg.seq)
            if msg.seq == 0:
                # From the handler itself: this message still finishes and is committed.
                await self.pause("handle", partitions=[TopicPartition(topic, 0)])
                paused.set()
            if msg.seq == 2:
                other_partition.set()
            if msg.seq == 1:
                resumed.set()

    async with running(Pausing(), backend) as service:
        await service.publish(Event(seq=0), topic, partition=0)
        # (Messages fetched with the pausing one are handed over with it, and finish.)
        with anyio.fail_after(30):
            await paused.wait()
        await service.publish(Event(seq=1), topic, partition=0)
        await service.publish(Event(seq=2), topic, partition=1)
        with anyio.fail_after(30):
            await other_partition.wait()
        # seq 1 was on partition 0 before seq 2 reached partition 1: only the pause held it.
        assert seen == [0, 2]
        await service.resume("handle")
        with anyio.fail_after(30):
            await resumed.wait()
    assert seen == [0, 2, 1]
    assert await backend.committed(group, topic, 0) == 2
