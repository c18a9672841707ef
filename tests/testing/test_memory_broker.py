"""The in-memory broker's own promises: Kafka's partitioner, groups, visible errors."""

import os

import pytest
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from pydantic import BaseModel

from stream.core import DecodeError, Message, NotRunningError, Service, consume
from stream.testing import MemoryBroker, TestBroker, murmur2, records, sent

pytestmark = pytest.mark.anyio


class Reading(BaseModel):
    data: float


def test_murmur2_matches_kafkas_for_many_keys() -> None:
    keys = [os.urandom(n) for n in range(64) for _ in range(20)] + [b"", b"21", "ключ".encode()]
    assert [murmur2(k) & 0x7FFFFFFF for k in keys] == [
        aiokafka_murmur2(k) & 0x7FFFFFFF for k in keys
    ]


async def test_handler_error_reaches_the_test_after_dead_lettering() -> None:
    class S(Service):
        @consume("in")
        async def handle(self, msg: Reading) -> None:
            raise RuntimeError("boom")

    async with TestBroker(S()) as service:
        with pytest.raises(RuntimeError, match="boom"):
            await service.publish(Reading(data=1), "in")
        assert sent(service, "in.dlq") == [{"data": 1.0}]
        assert service.handle.mock.call_count == 3  # type: ignore[attr-defined]


async def test_decode_failure_is_visible_as_such() -> None:
    class S(Service):
        @consume("in")
        async def handle(self, msg: Reading) -> None: ...

    async with TestBroker(S()) as service:
        with pytest.raises(
            DecodeError, match=r"S\.handle: cannot decode in\[0\]@0 as Reading"
        ) as caught:
            await service.publish({"data": "many"}, "in")
        assert type(caught.value.__cause__).__name__ == "ValidationError"
        service.handle.mock.assert_not_called()  # type: ignore[attr-defined]


async def test_one_group_splits_partitions_like_kafkas_range_assignor() -> None:
    broker = MemoryBroker(partitions={"in": 4})
    got: dict[str, set[int]] = {"a": set(), "b": set()}

    class Worker(Service):
        name = ""

        @consume("in", group_id="workers")
        async def handle(self, msg: Reading, message: Message) -> None:
            got[self.name].add(message.partition)

    first, second = Worker(), Worker()
    first.name, second.name = "a", "b"
    await first.start(broker)
    await second.start(broker)
    try:
        for partition in range(4):
            await first.publish(Reading(data=1), "in", partition=partition)
    finally:
        await first.stop()
        await second.stop()
    assert got == {"a": {0, 1}, "b": {2, 3}}


async def test_latest_skips_what_was_there_before_the_group_existed() -> None:
    broker = MemoryBroker()
    seen: list[float] = []

    class S(Service):
        @consume("in", auto_offset_reset="latest")
        async def handle(self, msg: Reading) -> None:
            seen.append(msg.data)

    class Sender(Service):
        pass

    async with TestBroker(Sender(), broker=broker) as sender:
        await sender.publish(Reading(data=1), "in")
    async with TestBroker(S(), broker=broker) as service:
        await service.publish(Reading(data=2), "in")
    assert seen == [2.0]
    assert broker.committed("S.handle", "in") == 2


async def test_records_outside_the_test_broker_say_what_to_do() -> None:
    class S(Service):
        pass

    with pytest.raises(NotRunningError, match="inside `async with TestBroker"):
        records(S(), "t")


async def test_publishing_to_a_missing_partition_is_an_error() -> None:
    class S(Service):
        pass

    async with TestBroker(S()) as service:
        with pytest.raises(ValueError, match="partition 3 does not exist; 't' has 1"):
            await service.publish(b"x", "t", partition=3)


def test_plugin_fixture_gives_a_fresh_broker(memory_broker: MemoryBroker) -> None:
    assert memory_broker.messages("anything") == []


async def test_retries_keep_their_count_but_skip_the_backoff_unless_asked() -> None:
    import time

    from stream.core import DeliveryPolicy, Retry

    slow_policy = DeliveryPolicy(retry=Retry(attempts=3, backoff=1.0))

    class S(Service):
        @consume("in", delivery=slow_policy)
        async def handle(self, msg: Reading) -> None:
            raise RuntimeError("always")

    started = time.monotonic()
    async with TestBroker(S(), broker=MemoryBroker(raise_handler_errors=False)) as service:
        await service.publish(Reading(data=1), "in")
        assert records(service, "in.dlq")[0].header("stream.attempts") == b"3"
    assert time.monotonic() - started < 1.0  # the 1 s + 2 s of backoff were not waited

    waiting = MemoryBroker(raise_handler_errors=False, wait_retry_backoff=True)
    assert waiting.wait_retry_backoff is True
