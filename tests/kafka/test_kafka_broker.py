"""KafkaBroker on a real broker: round trips, delivery promises, dead letters, shutdown."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import anyio
import pytest
from aiokafka.partitioner import murmur2
from pydantic import BaseModel

from stream.core import (
    BindError,
    DeliveryPolicy,
    Guarantee,
    Message,
    NotRunningError,
    OutgoingMessage,
    Publisher,
    Retry,
    Service,
    consume,
    produce,
)
from stream.kafka import KafkaBroker, MessageTooLargeError, SubscriptionFailedError

if TYPE_CHECKING:
    from .conftest import Kafka

pytestmark = [pytest.mark.anyio, pytest.mark.kafka]

QUICK_RETRY = Retry(attempts=2, backoff=0.01)


class Reading(BaseModel):
    data: float


class Keyed(BaseModel):
    key: str
    seq: int


def body(record: Any) -> Any:
    return json.loads(record.value)


async def test_round_trip_keeps_keys_headers_and_partitions(kafka: Kafka) -> None:
    source = await kafka.create_topic("in", partitions=3)
    target = await kafka.create_topic("out", partitions=3)
    seen = kafka.seen()

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @produce(target, headers={"origin": "svc"})
        @consume(source, group_id=kafka.unique("group"))
        async def on_reading(self, msg: Reading, message: Message) -> Reading:
            seen.add(message)
            return Reading(data=msg.data + 1)

    async with Svc():
        # Written by aiokafka's own producer and partitioner, read back by stream.
        await kafka.produce_headers(
            source,
            *(
                (f"k{i}".encode(), f'{{"data": {i}}}'.encode(), [("trace", f"t{i}".encode())])
                for i in range(6)
            ),
        )
        received = await seen.wait_for(6)

    by_key = {m.key: m for m in received}
    assert set(by_key) == {f"k{i}".encode() for i in range(6)}
    assert by_key[b"k3"].header("trace") == b"t3"
    assert by_key[b"k3"].topic == source
    assert json.loads(by_key[b"k3"].value or b"") == {"data": 3.0}
    outputs = {r.key: r for r in await kafka.read(target, 6)}
    assert body(outputs[b"k3"]) == {"data": 4.0}
    assert dict(outputs[b"k3"].headers) == {"content-type": b"application/json", "origin": b"svc"}
    # Kafka's default partitioner: a key lands on the same partition of equal topics.
    assert {k: r.partition for k, r in outputs.items()} == {
        k: m.partition for k, m in by_key.items()
    }


async def test_commits_after_outputs_and_a_restart_does_not_reprocess(kafka: Kafka) -> None:
    source = await kafka.create_topic("in")
    target = await kafka.create_topic("out")
    group = kafka.unique("group")
    seen = kafka.seen()

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @produce(target)
        @consume(source, group_id=group)
        async def on_reading(self, msg: Reading) -> Reading:
            seen.add(msg.data)
            return Reading(data=msg.data * 10)

    await kafka.produce(source, *((None, f'{{"data": {i}}}'.encode()) for i in range(5)))
    async with Svc():
        await seen.wait_for(5)
        await kafka.wait_committed(group, source, [5])
        # Committed means acknowledged: every output is already on the topic.
        assert [body(r) for r in await kafka.read(target, 5)] == [
            {"data": i * 10.0} for i in range(5)
        ]
    # The same broker object starts again for a new run of the service.
    async with Svc():
        await kafka.produce(source, (None, b'{"data": 99}'))
        await seen.wait_for(6)
    assert seen.items == [0.0, 1.0, 2.0, 3.0, 4.0, 99.0]
    assert await kafka.committed(group, source) == [6]


async def test_output_refused_by_the_broker_is_never_committed(kafka: Kafka) -> None:
    source = await kafka.create_topic("in")
    target = await kafka.create_topic("small", configs={"max.message.bytes": "200"})
    group = kafka.unique("group")

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @produce(target)
        @consume(source, group_id=group)
        async def on_text(self, msg: str) -> str:
            return msg * 100

    await kafka.produce(source, (None, b"0123456789"))
    service = Svc()
    await service.start()
    broker = service.transport
    assert isinstance(broker, KafkaBroker)
    with anyio.fail_after(kafka.wait):
        failure = await broker.wait_failed()
    assert isinstance(failure.__cause__, MessageTooLargeError)
    assert target in str(failure.__cause__)
    with pytest.raises(SubscriptionFailedError, match=r"Svc\.on_text stopped"):
        await service.stop()
    assert await kafka.committed(group, source) == [None]


async def test_stop_lets_a_handler_in_flight_finish_and_commits_it(kafka: Kafka) -> None:
    source = await kafka.create_topic("in")
    target = await kafka.create_topic("out")
    group = kafka.unique("group")
    entered = anyio.Event()
    finished = kafka.seen()

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @produce(target)
        @consume(source, group_id=group)
        async def on_reading(self, msg: Reading) -> Reading:
            entered.set()
            await anyio.sleep(1.0)  # a slow handler, still running when stop() is called
            finished.add(msg.data)
            return msg

    service = Svc()
    await service.start()
    await kafka.produce(source, (None, b'{"data": 7}'))
    with anyio.fail_after(kafka.wait):
        await entered.wait()
    assert finished.items == []
    await service.stop()
    assert finished.items == [7.0]
    assert await kafka.committed(group, source) == [1]
    assert [body(r) for r in await kafka.read(target, 1)] == [{"data": 7.0}]


async def test_failing_handler_goes_to_the_dead_letter_topic_after_retries(kafka: Kafka) -> None:
    source = await kafka.create_topic("in")
    target = await kafka.create_topic("out")
    group = kafka.unique("group")
    attempts = kafka.seen()

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @produce(target)
        @consume(source, group_id=group, delivery=DeliveryPolicy(retry=QUICK_RETRY))
        async def on_reading(self, msg: Reading) -> Reading:
            attempts.add(msg.data)
            if msg.data == 13:
                raise ValueError("unlucky number")
            return msg

    await kafka.produce(source, (b"a", b'{"data": 13}'), (b"b", b'{"data": 14}'))
    async with Svc():
        (letter,) = await kafka.read(f"{source}.dlq", 1)
        assert [body(r) for r in await kafka.read(target, 1)] == [{"data": 14.0}]
        await kafka.wait_committed(group, source, [2])
    assert attempts.items == [13.0, 13.0, 14.0]
    assert (letter.key, letter.value) == (b"a", b'{"data": 13}')
    headers = dict(letter.headers)
    assert headers["stream.error.type"] == b"builtins.ValueError"
    assert headers["stream.error.message"] == b"unlucky number"
    assert headers["stream.attempts"] == b"2"
    assert headers["stream.source.topic"] == source.encode()
    assert (headers["stream.source.partition"], headers["stream.source.offset"]) == (b"0", b"0")
    assert headers["stream.handler"] == b"Svc.on_reading"


async def test_undecodable_messages_go_to_the_dead_letter_topic_at_once(kafka: Kafka) -> None:
    source = await kafka.create_topic("in")
    group = kafka.unique("group")
    handled = kafka.seen()

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @consume(source, group_id=group, delivery=DeliveryPolicy(retry=QUICK_RETRY))
        async def on_reading(self, msg: Reading) -> None:
            handled.add(msg.data)

    bad = [
        (b"not-json", b"{not json"),
        (b"wrong-shape", b'{"other": 1}'),
        (b"empty", b""),
        (b"tombstone", None),
    ]
    await kafka.produce(source, *bad)
    async with Svc() as service:
        # Kafka also carries records with neither key nor value; aiokafka's own send()
        # refuses to write one, the broker does not.
        await service.transport.publish(OutgoingMessage(source, None))
        await kafka.produce(source, (b"good", b'{"data": 1}'))
        await handled.wait_for(1)
        letters = await kafka.read(f"{source}.dlq", 5)
        await kafka.wait_committed(group, source, [6])
    assert handled.items == [1.0]
    assert [(r.key, r.value) for r in letters] == [*bad, (None, None)]
    for letter in letters:
        headers = dict(letter.headers)
        assert headers["stream.error.type"] == b"pydantic_core._pydantic_core.ValidationError"
        assert headers["stream.attempts"] == b"1"
    assert b"empty (tombstone) value" in dict(letters[3].headers)["stream.error.message"]


async def test_too_large_publish_is_a_clear_error_and_consuming_goes_on(kafka: Kafka) -> None:
    source = await kafka.create_topic("in")
    group = kafka.unique("group")
    handled = kafka.seen()

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @consume(source, group_id=group, delivery=DeliveryPolicy(retry=Retry(attempts=1)))
        async def on_reading(self, msg: Reading, publisher: Publisher) -> None:
            if msg.data == 1:
                await publisher.publish(b"x" * 2_000_000, source + ".big")
            handled.add(msg.data)

    async with Svc() as service:
        with pytest.raises(MessageTooLargeError) as raised:
            await service.publish(b"x" * 2_000_000, source)
        text = str(raised.value)
        assert f"topic {source!r}" in text
        assert "1048576 bytes" in text
        assert raised.value.size > 2_000_000
        await kafka.produce(source, (None, b'{"data": 1}'), (None, b'{"data": 2}'))
        await handled.wait_for(1)
        (letter,) = await kafka.read(f"{source}.dlq", 1)
    assert handled.items == [2.0]
    assert dict(letter.headers)["stream.error.type"] == (b"stream.kafka.MessageTooLargeError")


async def test_concurrency_runs_partitions_and_keys_in_parallel_in_key_order(
    kafka: Kafka,
) -> None:
    source = await kafka.create_topic("in", partitions=4)
    group = kafka.unique("group")
    seen = kafka.seen()
    running = 0
    most = 0

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @consume(source, group_id=group, concurrency=4, max_records=20)
        async def on_keyed(self, msg: Keyed) -> None:
            nonlocal running, most
            running += 1
            most = max(most, running)
            await anyio.sleep(0.002)
            running -= 1
            seen.add((msg.key, msg.seq))

    keys = [f"key-{k}" for k in range(12)]
    records = [
        (key.encode(), Keyed(key=key, seq=seq).model_dump_json().encode())
        for seq in range(20)
        for key in keys
    ]
    await kafka.produce(source, *records)
    async with Svc():
        await seen.wait_for(len(records))
    for key in keys:
        assert [seq for k, seq in seen.items if k == key] == list(range(20)), key
    assert most > 1
    ends = [0, 0, 0, 0]
    for record in await kafka.read(source, len(records)):
        ends[record.partition] = max(ends[record.partition], record.offset + 1)
    assert await kafka.committed(group, source, 4) == ends


async def test_manual_partition_assignment_reads_only_those_partitions(kafka: Kafka) -> None:
    source = await kafka.create_topic("in", partitions=3)
    group = kafka.unique("group")
    seen = kafka.seen()

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @consume(source, group_id=group, partitions=[1])
        async def on_reading(self, msg: Reading, message: Message) -> None:
            seen.add((message.partition, msg.data))

    await kafka.produce_to(source, *((None, f'{{"data": {p}}}'.encode(), p) for p in range(3)))
    async with Svc():
        await seen.wait_for(1)
        await kafka.produce_to(source, (None, b'{"data": 11}', 1), (None, b'{"data": 12}', 2))
        await seen.wait_for(2)
    assert seen.items == [(1, 1.0), (1, 11.0)]
    assert await kafka.committed(group, source, 3) == [None, 2, None]


async def test_assigning_a_missing_partition_is_a_bind_error(kafka: Kafka) -> None:
    source = await kafka.create_topic("in", partitions=2)

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @consume(source, group_id=kafka.unique("group"), partitions=[1, 5])
        async def on_reading(self, msg: Reading) -> None: ...

    with pytest.raises(BindError, match=r"Svc.on_reading: partitions \[5\] .* has 2 partition"):
        await Svc().start()


async def test_pattern_subscription_reads_every_matching_topic(kafka: Kafka) -> None:
    prefix = kafka.unique("pattern")
    first = await kafka.create_topic(f"{prefix}-a")
    second = await kafka.create_topic(f"{prefix}-b")
    other = await kafka.create_topic("other")
    seen = kafka.seen()

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @consume(pattern=f"{prefix}-.*", group_id=kafka.unique("group"))
        async def on_reading(self, msg: Reading, message: Message) -> None:
            seen.add(message.topic)

    await kafka.produce(other, (None, b'{"data": 0}'))
    await kafka.produce(first, (None, b'{"data": 1}'))
    await kafka.produce(second, (None, b'{"data": 2}'))
    async with Svc():
        await seen.wait_for(2)
    assert sorted(seen.items) == sorted([first, second])


async def test_a_pattern_is_never_assigned_its_own_dead_letter_topics(
    kafka: Kafka, caplog: pytest.LogCaptureFixture
) -> None:
    source = await kafka.create_topic(kafka.unique("orders"))
    prefix = source.rsplit("-", 1)[0]  # orders-<this test's id>
    letters = f"{source}.dlq"  # auto-created by the first record sent to it
    seen = kafka.seen()

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @consume(pattern=f"{prefix}-.*", group_id=kafka.unique("group"))
        async def on_reading(self, msg: Reading, message: Message) -> None:
            seen.add(message.topic)

    await kafka.produce(letters, (None, b'{"data": 1}'))  # a valid body, were it read
    await kafka.produce(source, (None, b'{"data": 2}'))
    caplog.set_level(logging.INFO, "stream.kafka")
    async with Svc():
        await seen.wait_for(1)
    assigned = [r.getMessage() for r in caplog.records if "partitions assigned" in r.getMessage()]
    assert assigned == [f"Svc.on_reading: partitions assigned: {source}[0]"]
    assert seen.items == [source]


async def test_batch_handler_gets_the_partitions_records_in_one_call(kafka: Kafka) -> None:
    source = await kafka.create_topic("in")
    target = await kafka.create_topic("out")
    group = kafka.unique("group")
    calls = kafka.seen()
    total = kafka.seen()

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @produce(target)
        @consume(source, group_id=group, batch=True, max_records=50)
        async def on_batch(self, msgs: list[Reading]) -> list[Reading]:
            calls.add(len(msgs))
            for msg in msgs:
                total.add(msg.data)
            return [Reading(data=m.data + 1) for m in msgs]

    await kafka.produce(source, *((None, f'{{"data": {i}}}'.encode()) for i in range(30)))
    async with Svc():
        await total.wait_for(30)
        outputs = await kafka.read(target, 30)
        await kafka.wait_committed(group, source, [30])
    assert max(calls.items) > 1
    assert total.items == [float(i) for i in range(30)]
    assert [body(r) for r in outputs] == [{"data": i + 1.0} for i in range(30)]


async def test_handler_failure_without_dead_letter_stops_the_subscription(kafka: Kafka) -> None:
    source = await kafka.create_topic("in")
    group = kafka.unique("group")
    seen = kafka.seen()
    halt = DeliveryPolicy(retry=Retry(attempts=1), dead_letter=None)

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @consume(source, group_id=group, delivery=halt)
        async def on_reading(self, msg: Reading) -> None:
            if msg.data == 2:
                raise RuntimeError("cannot go on")
            seen.add(msg.data)

    service = Svc()
    await service.start()
    broker = service.transport
    assert isinstance(broker, KafkaBroker)
    await kafka.produce(source, (None, b'{"data": 1}'))
    await seen.wait_for(1)
    await kafka.wait_committed(group, source, [1])
    await kafka.produce(source, (None, b'{"data": 2}'), (None, b'{"data": 3}'))
    with anyio.fail_after(kafka.wait):
        failure = await broker.wait_failed()
    assert broker.failure is failure
    with pytest.raises(SubscriptionFailedError, match=r"Svc\.on_reading stopped") as raised:
        await service.stop()
    assert isinstance(raised.value.__cause__, RuntimeError)
    with pytest.raises(NotRunningError):
        _ = service.transport  # stopped for good, and can start again
    assert seen.items == [1.0]
    assert await kafka.committed(group, source) == [1]


async def test_at_most_once_commits_before_the_handler_runs(kafka: Kafka) -> None:
    source = await kafka.create_topic("in")
    group = kafka.unique("group")
    entered = anyio.Event()
    release = anyio.Event()

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @consume(source, group_id=group, delivery=DeliveryPolicy(guarantee=Guarantee.AT_MOST_ONCE))
        async def on_reading(self, msg: Reading) -> None:
            entered.set()
            await release.wait()

    await kafka.produce(source, (None, b'{"data": 1}'))
    async with Svc():
        with anyio.fail_after(kafka.wait):
            await entered.wait()
        assert await kafka.committed(group, source) == [1]
        release.set()


async def test_rebalance_commits_revoked_work_so_nothing_repeats(kafka: Kafka) -> None:
    source = await kafka.create_topic("in", partitions=4)
    group = kafka.unique("group")
    seen = kafka.seen()

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @consume(source, group_id=group, max_records=5)
        async def on_keyed(self, msg: Keyed) -> None:
            await anyio.sleep(0.02)  # slow enough that the rebalance finds work in flight
            seen.add(msg.seq)

    def batch(start: int) -> list[tuple[bytes, bytes]]:
        return [
            (f"k{i}".encode(), Keyed(key=f"k{i}", seq=i).model_dump_json().encode())
            for i in range(start, start + 40)
        ]

    first, second = Svc(), Svc()
    await first.start()
    try:
        await kafka.produce(source, *batch(0))
        await seen.wait_for(5)
        # A second member joins the group mid-work: the first finishes and commits what it
        # has in flight before giving partitions up, and hands over nothing it fetched.
        await second.start(KafkaBroker(kafka.bootstrap))
        try:
            await kafka.produce(source, *batch(40))
            await seen.wait_for(80)
        finally:
            await second.stop()
    finally:
        await first.stop()
    assert sorted(seen.items) == list(range(80))
    committed = await kafka.committed(group, source, 4)
    assert sum(c or 0 for c in committed) == 80


async def test_a_member_joining_while_another_drains_does_not_repeat_its_work(
    kafka: Kafka, caplog: pytest.LogCaptureFixture
) -> None:
    # A rolling deploy: the old instance drains on SIGTERM while the new one joins. The
    # old one's revocation comes while its handler is still running; what that handler
    # finishes must be committed, or the new instance does it again.
    source = await kafka.create_topic("in")
    group = kafka.unique("group")
    seen = kafka.seen()
    entered, release = anyio.Event(), anyio.Event()

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @consume(source, group_id=group)
        async def on_keyed(self, msg: Keyed) -> None:
            if msg.seq == 0:
                entered.set()
                await release.wait()
            seen.add(msg.seq)

    revoked = anyio.Event()

    class OnRevoked(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "partitions revoked" in record.getMessage():
                revoked.set()

    caplog.set_level(logging.INFO, "stream.kafka")
    watcher = OnRevoked()
    logging.getLogger("stream.kafka").addHandler(watcher)
    old, new = Svc(), Svc()
    try:
        await old.start()
        await kafka.produce(source, (b"k", Keyed(key="k", seq=0).model_dump_json().encode()))
        with anyio.fail_after(30):
            await entered.wait()
            async with anyio.create_task_group() as group_tasks:
                group_tasks.start_soon(old.stop)  # draining: seq 0 is still in its handler
                # Joins: the group rebalances (start returns once it has joined).
                group_tasks.start_soon(new.start, KafkaBroker(kafka.bootstrap))
                await revoked.wait()  # the revocation reached the draining member
                release.set()
    finally:
        logging.getLogger("stream.kafka").removeHandler(watcher)
    try:
        await kafka.produce(source, (b"k", Keyed(key="k", seq=1).model_dump_json().encode()))
        await seen.wait_for(2)
    finally:
        await new.stop()
    assert seen.items == [0, 1]  # the new member started after seq 0: done once


async def test_ping_and_publish_many(kafka: Kafka) -> None:
    topic = await kafka.create_topic("out", partitions=3)
    broker = KafkaBroker(kafka.bootstrap)
    assert await broker.ping(10.0)
    await broker.start()
    try:
        assert await broker.ping(10.0)
        keys = [f"key-{i % 4}".encode() for i in range(20)]
        await broker.publish_many(
            [
                OutgoingMessage(topic, f"{i}".encode(), key=key, timestamp=1_700_000_000_000 + i)
                for i, key in enumerate(keys)
            ]
        )
        await broker.publish(OutgoingMessage(topic, b"fixed", partition=2, headers=(("h", b"1"),)))
        with pytest.raises(ValueError, match=r"partition 7 does not exist; .* has 3"):
            await broker.publish(OutgoingMessage(topic, b"nowhere", partition=7))
    finally:
        await broker.stop()
    records = await kafka.read(topic, 21)
    by_value = {r.value: r for r in records}
    for i, key in enumerate(keys):
        record = by_value[f"{i}".encode()]
        # Where Kafka's own partitioner (murmur2 of the key) puts it.
        assert record.partition == (murmur2(key) & 0x7FFFFFFF) % 3
        assert record.timestamp == 1_700_000_000_000 + i
        assert record.key == key
    per_key = [[r.value for r in records if r.key == key] for key in sorted(set(keys))]
    assert all(values == sorted(values, key=int) for values in per_key)
    assert (by_value[b"fixed"].partition, by_value[b"fixed"].headers) == (2, (("h", b"1"),))


async def test_stop_cancels_handlers_that_outlast_the_shutdown_timeout(kafka: Kafka) -> None:
    source = await kafka.create_topic("in")
    group = kafka.unique("group")
    entered = anyio.Event()
    cancelled = anyio.Event()

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap, shutdown_timeout=0.5)

        @consume(source, group_id=group)
        async def on_reading(self, msg: Reading) -> None:
            entered.set()
            try:
                await anyio.sleep_forever()
            finally:
                cancelled.set()

    service = Svc()
    await service.start()
    await kafka.produce(source, (None, b'{"data": 1}'))
    with anyio.fail_after(kafka.wait):
        await entered.wait()
    with anyio.fail_after(10):
        await service.stop()
    assert cancelled.is_set()
    assert await kafka.committed(group, source) == [None]
