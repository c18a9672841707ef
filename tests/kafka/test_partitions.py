"""Partition hooks and pauses on Kafka: what the behaviour suite cannot show the same way."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
import pytest
from aiokafka.structs import TopicPartition as KafkaPartition
from pydantic import BaseModel

from stream.core import Service, TopicPartition, consume
from stream.kafka import KafkaBroker, SubscriptionFailedError
from stream.kafka._partitions import PartitionControl

if TYPE_CHECKING:
    from collections.abc import Collection

    from .conftest import Kafka

pytestmark = pytest.mark.anyio


class Reading(BaseModel):
    data: float


class FakeConsumer:
    """The part of ``AIOKafkaConsumer`` a PartitionControl uses."""

    def __init__(self, *assigned: KafkaPartition) -> None:
        self.assigned = set(assigned)
        self.paused: set[KafkaPartition] = set()
        self.seeks: list[tuple[KafkaPartition, int]] = []

    def assignment(self) -> set[KafkaPartition]:
        return set(self.assigned)

    def pause(self, *partitions: KafkaPartition) -> None:
        self.paused.update(partitions)

    def resume(self, *partitions: KafkaPartition) -> None:
        self.paused.difference_update(partitions)

    def seek(self, tp: KafkaPartition, offset: int) -> None:
        self.seeks.append((tp, offset))


class Told:
    def __init__(self) -> None:
        self.events: list[tuple[str, frozenset[TopicPartition]]] = []

    async def partitions_assigned(self, partitions: Collection[TopicPartition]) -> None:
        self.events.append(("assigned", frozenset(partitions)))

    async def partitions_revoked(self, partitions: Collection[TopicPartition]) -> None:
        self.events.append(("revoked", frozenset(partitions)))


class Record:
    def __init__(self, offset: int) -> None:
        self.offset = offset


P0, P1 = KafkaPartition("t", 0), KafkaPartition("t", 1)


def control(*assigned: KafkaPartition) -> tuple[PartitionControl, FakeConsumer, Told]:
    told = Told()
    partitions = PartitionControl(told)  # type: ignore[arg-type]
    partitions.consumer = FakeConsumer(*assigned)
    return partitions, partitions.consumer, told


async def test_records_fetched_for_a_paused_partition_are_put_back() -> None:
    partitions, consumer, _ = control(P0, P1)
    partitions.pause([TopicPartition("t", 1)])
    assert consumer.paused == {P1}
    assert not partitions.hold(P0, [Record(5)])
    assert partitions.hold(P1, [Record(7), Record(8)])
    assert consumer.seeks == [(P1, 7)]  # fetched again from 7 once resumed
    partitions.resume(None)
    assert consumer.paused == set()
    assert not partitions.hold(P1, [Record(7)])


async def test_a_whole_pause_covers_partitions_assigned_later_a_partition_pause_does_not() -> None:
    partitions, consumer, told = control(P0)
    partitions.pause([TopicPartition("t", 0)])
    await partitions.revoked([P0])
    consumer.assigned = {P0, P1}
    await partitions.assigned([P0, P1])
    assert partitions.paused == set()  # Kafka forgot the revoked partition's pause
    partitions.pause(None)
    await partitions.revoked([P0, P1])
    consumer.assigned = {P1}
    await partitions.assigned([P1])
    assert consumer.paused >= {P1}
    assert partitions.paused == {P1}
    await partitions.close()
    assert told.events[-1] == ("revoked", frozenset({TopicPartition("t", 1)}))


@pytest.mark.kafka
async def test_a_failing_assignment_hook_stops_the_subscription_with_nothing_committed(
    kafka: Kafka,
) -> None:
    source = await kafka.create_topic("in")
    group = kafka.unique("group")
    handled: list[float] = []

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        async def on_partitions_assigned(self, partitions: frozenset[TopicPartition]) -> None:
            raise OSError("state store unreachable")

        @consume(source, group_id=group)
        async def on_reading(self, msg: Reading) -> None:
            handled.append(msg.data)

    await kafka.produce(source, (None, b'{"data": 1.0}'))
    service = Svc()
    await service.start()
    broker = service.transport
    assert isinstance(broker, KafkaBroker)
    with anyio.fail_after(kafka.wait):
        failure = await broker.wait_failed()
    assert "Svc.on_partitions_assigned raised OSError: state store unreachable" in str(
        failure.__cause__
    )
    with pytest.raises(SubscriptionFailedError, match=r"Svc\.on_reading stopped"):
        await service.stop()
    assert handled == []
    assert await kafka.committed(group, source) == [None]
