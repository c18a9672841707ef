import pytest
from pydantic import BaseModel
from stream import core
from stream.core import Message, consume
from stream.testing import MemoryBroker, TestBroker, partition_for_key, records


class Event(BaseModel):
    n: int


class Audit(core.Service):
    async def on_startup(self) -> None:
        self.seen: list[tuple[int, int]] = []

    @consume("events")
    async def on_event(self, event: Event, message: Message) -> None:
        self.seen.append((message.partition, event.n))


pytestmark = pytest.mark.anyio


async def test_keys_pick_partitions_as_kafka_does(
    memory_broker: MemoryBroker,
) -> None:
    memory_broker.create_topic("events", partitions=3)
    async with TestBroker(Audit(), broker=memory_broker) as service:
        await service.publish(Event(n=1), "events", key="sensor-7")
        await service.publish(
            Event(n=2), "events", key="sensor-7", headers={"trace": "abc"}
        )

        first, second = records(service, "events")
        assert (
            first.partition
            == second.partition
            == partition_for_key(b"sensor-7", 3)
        )
        assert (first.offset, second.offset) == (0, 1)
        assert second.header("trace") == b"abc"


async def test_a_restarted_service_goes_on_from_its_committed_offset() -> None:
    broker = MemoryBroker()
    async with TestBroker(Audit(), broker=broker) as service:
        await service.publish(Event(n=1), "events")
    await broker.publish_many([])  # nothing is listening now...
    async with TestBroker(Audit(), broker=broker) as service:
        await service.publish(Event(n=2), "events")

        assert service.seen == [
            (0, 2)
        ]  # ...and the new run does not see n=1 again
        assert broker.committed("Audit.on_event", "events") == 2
