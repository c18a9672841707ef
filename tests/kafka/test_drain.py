"""A draining member stops holding partitions as soon as its own work is done (issue 11, #2).

A service drains all its subscriptions together, and the drain lasts as long as the
slowest handler. A subscription whose own work is finished consumes nothing more, so it
leaves its group at once: partitions the group gives it meanwhile (a new instance joining
in a rolling deploy) go to the members that will consume them, not to a member that
holds them until the whole service has stopped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
import pytest

from stream.core import Service, consume
from stream.kafka import KafkaBroker

if TYPE_CHECKING:
    from tests.kafka.conftest import Kafka

pytestmark = [pytest.mark.anyio, pytest.mark.kafka]


@pytest.mark.timeout(120)
async def test_a_member_joining_during_a_drain_gets_every_partition_promptly(
    kafka: Kafka,
) -> None:
    slow_topic = await kafka.create_topic("slow")
    topic = await kafka.create_topic("in", partitions=2)
    group = kafka.unique("group")
    entered, release = anyio.Event(), anyio.Event()
    seen = kafka.seen()

    class Old(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @consume(slow_topic, group_id=kafka.unique("slow"))
        async def on_slow(self, value: str) -> None:
            entered.set()
            await release.wait()  # keeps the whole service draining

        @consume(topic, group_id=group)
        async def on_in(self, value: str) -> None:
            seen.add(("old", value))

    class New(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @consume(topic, group_id=group)
        async def on_in(self, value: str) -> None:
            seen.add(("new", value))

    old, new = Old(), New()
    await old.start()
    try:
        await kafka.produce(slow_topic, (None, b"hold"))
        with anyio.fail_after(kafka.wait):
            await entered.wait()
        async with anyio.create_task_group() as group_tasks:
            group_tasks.start_soon(old.stop)  # drains: on_slow is still running
            await new.start()  # joins on_in's group while the old member drains
            await kafka.produce_to(topic, (None, b"p0", 0), (None, b"p1", 1))
            # Both partitions' records, by the new member, while the old one still drains.
            items = await seen.wait_for(2, timeout=20)
            assert sorted(items) == [("new", "p0"), ("new", "p1")]
            release.set()
    finally:
        release.set()
        await new.stop()
