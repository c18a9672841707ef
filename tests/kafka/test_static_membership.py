"""Static membership: ``ConsumerOptions(group_instance_id=...)``.

A member that comes back under its instance name within the session timeout gets its
partitions back, and the group does not rebalance: the other member keeps its partitions
throughout, with no revocation.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import anyio
import pytest
from pydantic import BaseModel

from stream.core import Service, consume
from stream.kafka import ConsumerOptions, KafkaBroker

if TYPE_CHECKING:
    from .conftest import Kafka

pytestmark = [pytest.mark.anyio, pytest.mark.kafka]


class Reading(BaseModel):
    seq: int


class Rebalances(logging.Handler):
    """The stream.kafka lines that say a member's partitions changed, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.changed = anyio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if "partitions assigned" in text or "partitions revoked" in text:
            self.lines.append(text)
            self.changed.set()

    async def wait_for(self, text: str, count: int = 1) -> None:
        with anyio.fail_after(60):
            while sum(text in line for line in self.lines) < count:
                self.changed = anyio.Event()
                await self.changed.wait()


async def test_a_restarted_static_member_gets_its_partitions_back_without_a_rebalance(
    kafka: Kafka, caplog: pytest.LogCaptureFixture
) -> None:
    source = await kafka.create_topic("in", partitions=4)
    group = kafka.unique("group")
    seen = kafka.seen()

    class First(Service):
        @consume(source, group_id=group)
        async def on_in(self, msg: Reading) -> None:
            seen.add(msg.seq)

    class Second(First):
        pass

    def broker(instance: str) -> KafkaBroker:
        # The session timeout is how long a gone member keeps its partitions.
        options = ConsumerOptions(group_instance_id=instance, session_timeout_ms=45_000)
        return KafkaBroker(kafka.bootstrap, consumer=options)

    caplog.set_level(logging.INFO, "stream.kafka")
    rebalances = Rebalances()
    logging.getLogger("stream.kafka").addHandler(rebalances)
    first, second = First(), Second()
    try:
        await first.start(broker("host-a"))
        await rebalances.wait_for("First.on_in: partitions assigned")
        await second.start(broker("host-b"))
        await rebalances.wait_for("Second.on_in: partitions assigned")
        await rebalances.wait_for("First.on_in: partitions assigned", count=2)
        before = {line.split(":")[0]: line for line in rebalances.lines}
        # A static member leaves no group at stop: to the group this is a crash.
        await first.stop()
        rebalances.lines.clear()
        restarted = First()
        await restarted.start(broker("host-a"))
        try:
            await rebalances.wait_for("First.on_in: partitions assigned")
            await kafka.produce(
                source,
                *((f"k{i}".encode(), Reading(seq=i).model_dump_json().encode()) for i in range(40)),
            )
            await seen.wait_for(40)
        finally:
            await restarted.stop()
    finally:
        await second.stop()
        logging.getLogger("stream.kafka").removeHandler(rebalances)
    assert rebalances.lines == [before["First.on_in"]]  # same partitions; Second untouched
    assert sorted(seen.items) == list(range(40))
