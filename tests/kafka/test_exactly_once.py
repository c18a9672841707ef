"""``Guarantee.EXACTLY_ONCE`` on a real broker: outputs and offsets in one transaction,
read_committed inputs, fencing of a stale instance, failed transactions handled again."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import anyio
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError, ProducerFenced
from pydantic import BaseModel

from stream.core import (
    BindError,
    DeliveryPolicy,
    Guarantee,
    Message,
    OutgoingMessage,
    Retry,
    Service,
    consume,
    produce,
)
from stream.core.transport import ConsumeOptions, Subscription
from stream.kafka import ConsumerOptions, KafkaBroker, ProducerOptions, SubscriptionFailedError
from stream.kafka._options import consumer_kwargs, producer_kwargs
from stream.kafka._sender import Sender
from stream.kafka._transactions import TransactionalSender, transactional_id

if TYPE_CHECKING:
    from .conftest import Kafka

EXACTLY_ONCE = DeliveryPolicy(
    guarantee=Guarantee.EXACTLY_ONCE, retry=Retry(attempts=2, backoff=0.01)
)


class Reading(BaseModel):
    data: float


class Handled(BaseModel):
    data: float
    by: str


async def read_committed(bootstrap: str, topic: str) -> list[Any]:
    """Every record of ``topic`` a ``read_committed`` reader sees, up to its stable end."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        isolation_level="read_committed",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[Any] = []
    try:
        tps = [TopicPartition(topic, p) for p in await _partitions(bootstrap, topic)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        with anyio.fail_after(30):
            for tp, end in ends.items():
                while await consumer.position(tp) < end:
                    for batch in (await consumer.getmany(tp, timeout_ms=200)).values():
                        records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def _partitions(bootstrap: str, topic: str) -> list[int]:
    # Dead-letter topics are created by the broker, with its default partition count.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        return sorted(await producer.partitions_for(topic))
    finally:
        await producer.stop()


def data_of(records: list[Any]) -> list[float]:
    return sorted(json.loads(r.value)["data"] for r in records)


# Options, no broker needed.


def _subscription(**overrides: Any) -> Subscription:
    options = ConsumeOptions(**{"topics": ("in",), "delivery": EXACTLY_ONCE, **overrides})
    return Subscription(name="Svc.on_reading", group_id="g", options=options)


@pytest.fixture
async def fencing_leaves_aiokafka_futures_unread() -> AsyncIterator[None]:
    """Tolerates one known aiokafka behaviour, and only it.

    When the broker fences a transactional producer, aiokafka sets ProducerFenced on
    internal futures nobody can await (a record batch's drain waiter, the transaction
    waiter), and asyncio reports them as "Future exception was never retrieved" when they
    are collected. The fence itself reaches stream through the call that failed; these
    reports are noise, so a test that fences on purpose ignores exactly them.
    """
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        unread = context.get("message") == "Future exception was never retrieved"
        if unread and isinstance(context.get("exception"), ProducerFenced):
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
    try:
        yield
    finally:
        gc.collect()  # report the fenced futures now, while they are recognised
        loop.set_exception_handler(previous)


def test_exactly_once_reads_committed_records_unless_told_otherwise() -> None:
    assert consumer_kwargs(ConsumerOptions(), _subscription())["isolation_level"] == (
        "read_committed"
    )
    told = _subscription(transport_options={"isolation_level": "read_uncommitted"})
    assert consumer_kwargs(ConsumerOptions(), told)["isolation_level"] == "read_uncommitted"
    at_least_once = _subscription(delivery=DeliveryPolicy())
    assert "isolation_level" not in consumer_kwargs(ConsumerOptions(), at_least_once)


def test_transactional_ids_name_the_input_partition_and_not_the_instance() -> None:
    assert transactional_id("stream", "Svc.on_x", "orders", 3) == "stream-Svc.on_x-orders-3"
    # The prefix is stream's option, not aiokafka's: it never reaches the producer.
    assert "transactional_id_prefix" not in producer_kwargs(
        ProducerOptions(transactional_id_prefix="shop")
    )


# On the broker.


@pytest.mark.anyio
@pytest.mark.kafka
async def test_outputs_dead_letters_and_offsets_commit_together(kafka: Kafka) -> None:
    source = await kafka.create_topic("in", partitions=3)
    target = await kafka.create_topic("out", partitions=3)
    group = kafka.unique("group")
    seen = kafka.seen()

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @produce(target, headers={"origin": "svc"})
        @consume(source, group_id=group, delivery=EXACTLY_ONCE, concurrency=2)
        async def on_reading(self, msg: Reading) -> Reading:
            seen.add(msg.data)
            if msg.data == 13:
                raise ValueError("unlucky")
            return Reading(data=msg.data + 1)

    records = [(f"k{i}".encode(), f'{{"data": {i}}}'.encode()) for i in range(30)]
    async with Svc():
        await kafka.produce(source, *records, (b"k0", b"not json"))
        await kafka.wait_committed(group, source, await _ends(kafka, source, 3))
    outputs = await read_committed(kafka.bootstrap, target)
    letters = await read_committed(kafka.bootstrap, source + ".dlq")
    assert data_of(outputs) == [i + 1.0 for i in range(30) if i != 13]
    assert {r.key for r in outputs} == {f"k{i}".encode() for i in range(30) if i != 13}
    assert all(dict(r.headers)["origin"] == b"svc" for r in outputs)
    assert sorted(r.value for r in letters) == [b"not json", b'{"data": 13}']


async def _ends(kafka: Kafka, topic: str, partitions: int) -> list[int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    return [ends[tp] for tp in tps]


@pytest.mark.anyio
@pytest.mark.kafka
async def test_records_of_aborted_upstream_transactions_are_never_handled(kafka: Kafka) -> None:
    source = await kafka.create_topic("in")
    handled = kafka.seen()

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @consume(source, group_id=kafka.unique("group"), delivery=EXACTLY_ONCE)
        async def on_reading(self, msg: Reading) -> None:
            handled.add(msg.data)

    upstream = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap, transactional_id=kafka.unique("upstream")
    )
    await upstream.start()
    try:
        async with upstream.transaction():
            await upstream.send_and_wait(source, b'{"data": 1}')
        await upstream.begin_transaction()
        await upstream.send_and_wait(source, b'{"data": 2}')
        await upstream.abort_transaction()
        async with upstream.transaction():
            await upstream.send_and_wait(source, b'{"data": 3}')
    finally:
        await upstream.stop()
    async with Svc():
        await handled.wait_for(2)
    assert handled.items == [1.0, 3.0]


@pytest.mark.anyio
@pytest.mark.kafka
@pytest.mark.usefixtures("fencing_leaves_aiokafka_futures_unread")
async def test_a_fenced_producer_cannot_commit(kafka: Kafka) -> None:
    # The premise of fencing by one transactional id per input partition.
    source = await kafka.create_topic("in")
    target = await kafka.create_topic("out")
    group = kafka.unique("group")
    txn_id = transactional_id("stream", group, source, 0)
    settings = Sender({"bootstrap_servers": kafka.bootstrap}, producer_kwargs(ProducerOptions()))
    zombie = TransactionalSender(settings.client_kwargs, settings.producer_kwargs, txn_id)
    await zombie.start()
    try:
        await zombie.begin()
        await zombie.send_all([OutgoingMessage(target, b'{"data": 1}')])
        successor = TransactionalSender(settings.client_kwargs, settings.producer_kwargs, txn_id)
        await successor.start()  # registers the id again: the zombie is fenced
        await successor.stop()

        async def finish() -> None:
            await zombie.send_offsets({TopicPartition(source, 0): 1}, group)
            await zombie.commit()

        with pytest.raises(ProducerFenced):
            await finish()
    finally:
        await zombie.discard()
    assert await read_committed(kafka.bootstrap, target) == []
    assert await kafka.committed(group, source) == [None]


@pytest.mark.anyio
@pytest.mark.kafka
@pytest.mark.usefixtures("fencing_leaves_aiokafka_futures_unread")
async def test_a_stale_instance_never_commits_what_its_successor_did(kafka: Kafka) -> None:
    # Two instances own partition 0 at once (manual assignment: no group to tell the
    # first it lost it). The second registers the partition's transactional id, so the
    # first one's work in flight can never commit.
    source = await kafka.create_topic("in")
    target = await kafka.create_topic("out")
    group = kafka.unique("group")
    entered, release = anyio.Event(), anyio.Event()
    handled: list[tuple[str, float]] = []

    def service(name: str) -> Service:
        class Svc(Service):
            broker = KafkaBroker(kafka.bootstrap)

            @produce(target)
            @consume(source, group_id=group, partitions=(0,), delivery=EXACTLY_ONCE)
            async def on_reading(self, msg: Reading) -> Handled:
                handled.append((name, msg.data))
                if name == "stale" and msg.data == 1:
                    entered.set()
                    await release.wait()
                return Handled(data=msg.data, by=name)

        return Svc()

    async with service("stale"):
        await kafka.produce(source, (None, b'{"data": 1}'))
        with anyio.fail_after(kafka.wait):
            await entered.wait()
        async with service("successor"):
            await kafka.wait_committed(group, source, [1])
            release.set()  # the stale instance's handler returns now: its commit must fail
            await kafka.produce(source, (None, b'{"data": 2}'))
            await kafka.wait_committed(group, source, [2])
            outputs = await read_committed(kafka.bootstrap, target)
    assert ("stale", 1.0) in handled
    assert ("successor", 1.0) in handled
    bodies = [json.loads(r.value) for r in outputs]
    assert sorted(b["data"] for b in bodies) == [1.0, 2.0]  # each once, whoever won
    assert {"data": 1.0, "by": "successor"} in bodies  # the stale one's 1 never committed


@pytest.mark.anyio
@pytest.mark.kafka
@pytest.mark.usefixtures("fencing_leaves_aiokafka_futures_unread")
async def test_a_failed_transaction_is_handled_again_and_committed_once(
    kafka: Kafka, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = await kafka.create_topic("in")
    target = await kafka.create_topic("out")
    group = kafka.unique("group")
    handled = kafka.seen()
    commit = TransactionalSender.commit
    failures = [KafkaError("the coordinator went away")]

    async def flaky_commit(self: TransactionalSender) -> None:
        if failures:
            raise failures.pop()
        await commit(self)

    monkeypatch.setattr(TransactionalSender, "commit", flaky_commit)

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @produce(target)
        @consume(source, group_id=group, delivery=EXACTLY_ONCE)
        async def on_reading(self, msg: Reading, message: Message) -> Reading:
            handled.add(message.offset)
            return msg

    async with Svc():
        await kafka.produce(source, (None, b'{"data": 1}'))
        await handled.wait_for(2)
        await kafka.wait_committed(group, source, [1])
    assert handled.items == [0, 0]  # handled again after the failed transaction
    assert data_of(await read_committed(kafka.bootstrap, target)) == [1.0]


@pytest.mark.anyio
@pytest.mark.kafka
async def test_output_refused_by_the_broker_stops_and_commits_nothing(kafka: Kafka) -> None:
    source = await kafka.create_topic("in")
    target = await kafka.create_topic("small", configs={"max.message.bytes": "200"})
    group = kafka.unique("group")

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @produce(target)
        @consume(source, group_id=group, delivery=EXACTLY_ONCE)
        async def on_text(self, msg: str) -> str:
            return msg * 100

    await kafka.produce(source, (None, b"0123456789"))
    service = Svc()
    await service.start()
    broker = service.transport
    assert isinstance(broker, KafkaBroker)
    with anyio.fail_after(kafka.wait):
        await broker.wait_failed()
    with pytest.raises(SubscriptionFailedError, match="MessageTooLargeError"):
        await service.stop()
    assert await kafka.committed(group, source) == [None]
    assert await read_committed(kafka.bootstrap, target) == []


@pytest.mark.anyio
@pytest.mark.kafka
async def test_stop_finishes_the_transaction_in_flight(kafka: Kafka) -> None:
    source = await kafka.create_topic("in")
    target = await kafka.create_topic("out")
    group = kafka.unique("group")
    entered, release = anyio.Event(), anyio.Event()

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @produce(target)
        @consume(source, group_id=group, delivery=EXACTLY_ONCE)
        async def on_reading(self, msg: Reading) -> Reading:
            entered.set()
            await release.wait()
            return msg

    service = Svc()
    await service.start()
    try:
        await kafka.produce(source, (None, b'{"data": 7}'))
        with anyio.fail_after(kafka.wait):
            await entered.wait()
        async with anyio.create_task_group() as group_:
            group_.start_soon(service.stop)
            release.set()
    finally:
        await service.stop()
    assert await kafka.committed(group, source) == [1]
    assert data_of(await read_committed(kafka.bootstrap, target)) == [7.0]


# One transaction per interval, spanning several fetches of a partition.


def test_the_transaction_interval_is_an_option_and_a_negative_one_is_refused() -> None:
    assert ProducerOptions().transaction_interval_ms == 100  # Kafka Streams' EOS default
    assert "transaction_interval_ms" not in producer_kwargs(ProducerOptions())
    with pytest.raises(BindError, match="transaction_interval_ms"):
        producer_kwargs(ProducerOptions(transaction_interval_ms=-1))


@pytest.fixture
def transactions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts committed transactions (one entry each)."""
    committed: list[int] = []
    commit = TransactionalSender.commit

    async def counted(self: TransactionalSender) -> None:
        await commit(self)
        committed.append(1)

    monkeypatch.setattr(TransactionalSender, "commit", counted)
    return committed


@pytest.mark.anyio
@pytest.mark.kafka
async def test_chunks_of_one_partition_share_a_transaction_within_the_interval(
    kafka: Kafka, transactions: list[int]
) -> None:
    source = await kafka.create_topic("in")
    target = await kafka.create_topic("out")
    group = kafka.unique("group")
    chunks: list[int] = []

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)  # the default interval, 100 ms

        @produce(target)
        @consume(source, group_id=group, delivery=EXACTLY_ONCE, max_records=10, batch=True)
        async def on_readings(self, msgs: list[Reading]) -> list[Reading]:
            chunks.append(len(msgs))
            return msgs

    await kafka.produce(source, *[(None, f'{{"data": {i}}}'.encode()) for i in range(300)])
    async with Svc():
        await kafka.wait_committed(group, source, [300])
    assert len(chunks) >= 30  # max_records=10: many fetches, handled in far less than 3 s
    assert len(transactions) <= len(chunks) // 2  # one transaction per chunk on main
    assert data_of(await read_committed(kafka.bootstrap, target)) == [float(i) for i in range(300)]


@pytest.mark.anyio
@pytest.mark.kafka
async def test_nothing_of_an_open_transaction_is_visible_before_it_commits(
    kafka: Kafka, transactions: list[int]
) -> None:
    source = await kafka.create_topic("in")
    target = await kafka.create_topic("out")
    group = kafka.unique("group")
    handled = kafka.seen()
    chunks: list[int] = []

    class Svc(Service):
        # An interval longer than the test: every chunk goes into one transaction,
        # committed when the service stops.
        broker = KafkaBroker(
            kafka.bootstrap, producer=ProducerOptions(transaction_interval_ms=60_000)
        )

        @produce(target)
        @consume(source, group_id=group, delivery=EXACTLY_ONCE, max_records=10, batch=True)
        async def on_readings(self, msgs: list[Reading]) -> list[Reading]:
            chunks.append(len(msgs))
            for msg in msgs:
                handled.add(msg.data)
            return msgs

    await kafka.produce(source, *[(None, f'{{"data": {i}}}'.encode()) for i in range(100)])
    async with Svc():
        await handled.wait_for(100)
        # Handled, not committed: the interval has not passed.
        assert await read_committed(kafka.bootstrap, target) == []
        assert await kafka.committed(group, source) == [None]
    assert len(chunks) >= 10  # several fetches (max_records=10)...
    assert len(transactions) == 1  # ...in one transaction, committed at the stop
    assert await kafka.committed(group, source) == [100]
    assert data_of(await read_committed(kafka.bootstrap, target)) == [float(i) for i in range(100)]


@pytest.mark.anyio
@pytest.mark.kafka
async def test_a_transaction_commits_once_its_interval_has_passed(
    kafka: Kafka, transactions: list[int]
) -> None:
    source = await kafka.create_topic("in")
    target = await kafka.create_topic("out")
    group = kafka.unique("group")

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap, producer=ProducerOptions(transaction_interval_ms=200))

        @produce(target)
        @consume(source, group_id=group, delivery=EXACTLY_ONCE)
        async def on_reading(self, msg: Reading) -> Reading:
            return msg

    async with Svc():
        await kafka.produce(source, (None, b'{"data": 1}'))
        # Nothing else arrives: the interval alone ends the transaction, not a stop.
        await kafka.wait_committed(group, source, [1])
        assert data_of(await read_committed(kafka.bootstrap, target)) == [1.0]
        assert len(transactions) == 1


@pytest.mark.anyio
@pytest.mark.kafka
@pytest.mark.usefixtures("fencing_leaves_aiokafka_futures_unread")
async def test_an_interval_aborted_midway_is_invisible_and_handled_again(kafka: Kafka) -> None:
    # The first instance handles every record into a transaction left open (a long
    # interval); a successor takes the partition over (it registers the partition's
    # transactional id, as after a crash): the open transaction is aborted, nothing of it
    # was ever visible, and the successor handles it all again, committing each once.
    source = await kafka.create_topic("in")
    target = await kafka.create_topic("out")
    group = kafka.unique("group")
    handled = {"first": kafka.seen(), "successor": kafka.seen()}

    def service(name: str) -> Service:
        class Svc(Service):
            broker = KafkaBroker(
                kafka.bootstrap, producer=ProducerOptions(transaction_interval_ms=60_000)
            )

            @produce(target)
            @consume(source, group_id=group, partitions=(0,), delivery=EXACTLY_ONCE, max_records=10)
            async def on_reading(self, msg: Reading) -> Handled:
                handled[name].add(msg.data)
                return Handled(data=msg.data, by=name)

        return Svc()

    await kafka.produce(source, *[(None, f'{{"data": {i}}}'.encode()) for i in range(30)])
    async with service("first"):
        await handled["first"].wait_for(30)
        async with service("successor"):
            await handled["successor"].wait_for(30)
            assert await read_committed(kafka.bootstrap, target) == []  # the aborted interval
            assert await kafka.committed(group, source) == [None]
        assert await kafka.committed(group, source) == [30]
    bodies = [json.loads(r.value) for r in await read_committed(kafka.bootstrap, target)]
    assert sorted(b["data"] for b in bodies) == [float(i) for i in range(30)]
    assert {b["by"] for b in bodies} == {"successor"}


@pytest.mark.anyio
@pytest.mark.kafka
async def test_a_rebalance_commits_the_open_transactions_of_revoked_partitions_at_once(
    kafka: Kafka,
) -> None:
    # The interval is longer than the test: only the revocation can commit the first
    # member's work. Committed then, the new owner has nothing to handle again.
    source = await kafka.create_topic("in", partitions=2)
    target = await kafka.create_topic("out", partitions=2)
    group = kafka.unique("group")
    handled = kafka.seen()

    def member() -> Service:
        class Svc(Service):
            broker = KafkaBroker(
                kafka.bootstrap, producer=ProducerOptions(transaction_interval_ms=600_000)
            )

            @produce(target)
            @consume(source, group_id=group, delivery=EXACTLY_ONCE)
            async def on_reading(self, msg: Reading) -> Reading:
                handled.add(msg.data)
                return msg

        return Svc()

    records = [(f"k{i}".encode(), f'{{"data": {i}}}'.encode()) for i in range(20)]
    await kafka.produce(source, *records)
    ends = await _ends(kafka, source, 2)
    async with member():
        await handled.wait_for(20)
        assert await kafka.committed(group, source, 2) == [None, None]
        async with member():  # joins: the group takes partitions from the first member
            await kafka.wait_committed(group, source, ends)
            assert len(handled.items) == 20  # committed before they moved: none again
    assert data_of(await read_committed(kafka.bootstrap, target)) == [float(i) for i in range(20)]
