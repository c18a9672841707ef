"""The broker the benchmark runs on, and the harness's own clients to it.

The harness watches the variants from outside: it reads the group's committed offsets and
the output topic's end offsets from the broker, so the clock stops on what Kafka holds,
not on what a variant says it did.

With a round trip (``--rtt-ms``), the local broker is started behind
``stream.kafka_local``'s ``FaultProxy`` in latency mode, and every client (the variants'
and the harness's own) bootstraps through it: the brokers advertise the proxy's ports, so
no client reaches them around it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

if TYPE_CHECKING:
    from stream.kafka_local import FaultProxy

__all__ = (
    "BOOTSTRAP_VARIABLE",
    "PARTITIONS",
    "BenchKafka",
    "BenchNetwork",
    "fresh_name",
    "local_broker",
)

BOOTSTRAP_VARIABLE = "STREAM_KAFKA_BOOTSTRAP"
PARTITIONS = 4
# Keys of the preloaded messages: many more than any variant's concurrency.
_KEYS = tuple(f"sensor-{n}".encode() for n in range(64))


def fresh_name(prefix: str) -> str:
    """A topic or group name no earlier run used."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class BenchNetwork:
    """Where the clients connect for each round trip of a run.

    One broker serves every pass: RTT 0 connects to it directly, a round trip goes through
    the delaying proxy, whose delay is set when the pass starts (:meth:`bootstrap_at`).
    """

    def __init__(self, direct: str, proxy: FaultProxy | None = None) -> None:
        self._direct = direct
        self._proxy = proxy

    def bootstrap_at(self, rtt_ms: float) -> str:
        """The bootstrap address whose clients pay ``rtt_ms`` per round trip."""
        if rtt_ms <= 0:
            return self._direct
        if self._proxy is None:
            raise SystemExit(
                f"--rtt-ms {rtt_ms:g} needs the harness's own broker (it advertises the "
                "delaying proxy); drop --bootstrap-servers / "
                f"{BOOTSTRAP_VARIABLE} or use --rtt-ms 0"
            )
        # Half of the round trip each way.
        self._proxy.set_latency(rtt_ms / 2 / 1000)
        return self._proxy.bootstrap_servers


@contextmanager
def local_broker(
    bootstrap: str | None, rtts_ms: Sequence[float] = (0.0,)
) -> Iterator[BenchNetwork]:
    """Yields the network to ``bootstrap``, ``STREAM_KAFKA_BOOTSTRAP``, or a local broker
    started here (and stopped on exit).

    Args:
        bootstrap: A broker to use as it is.
        rtts_ms: The round trips the run will ask for, in milliseconds; any above 0 puts
            the local broker behind a delaying proxy (RTT 0 still connects directly).

    Raises:
        SystemExit: a round trip was asked for on a broker the harness did not start.
    """
    given = bootstrap or os.environ.get(BOOTSTRAP_VARIABLE)
    delayed = any(rtt > 0 for rtt in rtts_ms)
    if given and delayed:
        raise SystemExit(
            f"--rtt-ms needs the harness's own broker (it advertises the delaying proxy); "
            f"drop --bootstrap-servers / {BOOTSTRAP_VARIABLE} ({given}) or --rtt-ms"
        )
    if given:
        yield BenchNetwork(given)
        return
    from stream.kafka_local import LocalKafka, LocalKafkaConfig

    kafka = LocalKafka(LocalKafkaConfig(partitions=PARTITIONS, proxied=delayed))
    print("starting a local Kafka broker...", flush=True)
    kafka.start()
    try:
        yield BenchNetwork(kafka.bootstrap_servers, kafka.proxy if delayed else None)
    finally:
        kafka.stop()


class BenchKafka:
    """Admin, producer and offset-reading clients of the harness (``async with``)."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        # Never joins a group: it only asks for end offsets. read_committed, so an
        # exactly-once variant's outputs count once their transaction commits (its end
        # offsets then also count one transaction marker per partition and transaction).
        self._offsets = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level="read_committed"
        )
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=512 * 1024
        )

    async def __aenter__(self) -> BenchKafka:
        await self._admin.start()
        await self._offsets.start()
        await self._producer.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._producer.stop()
        await self._offsets.stop()
        await self._admin.close()

    async def create_topics(self, *names: str, partitions: int = PARTITIONS) -> None:
        """Creates topics and waits until their partitions have leaders."""
        await self._admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1) for name in names]
        )
        for name in names:
            await self.end_offsets(name, partitions)

    async def preload(
        self, topic: str, count: int, payload: bytes, partitions: int = PARTITIONS
    ) -> dict[int, int]:
        """Writes ``count`` copies of ``payload`` spread evenly over the partitions; returns
        the end offsets read back from the broker.

        Whole record batches go at once (``send_batch``), several times faster than a
        ``send`` per message, so a burst written while a service runs is over quickly.
        Each message has one of ``KEYS`` keys, as events of many entities do: with
        ``concurrency`` above 1, stream splits a partition's messages by key.
        """
        producer = self._producer
        futures = []
        for partition in range(partitions):
            left = count // partitions + (1 if partition < count % partitions else 0)
            batch = producer.create_batch()
            while left:
                key = _KEYS[left % len(_KEYS)]
                if batch.append(key=key, value=payload, timestamp=None) is not None:
                    left -= 1
                    continue
                futures.append(await producer.send_batch(batch, topic, partition=partition))
                batch = producer.create_batch()
            if batch.record_count():
                futures.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*futures)
        ends = await self.end_offsets(topic, partitions)
        assert sum(ends.values()) == count, f"preloaded {ends}, expected {count} in all"
        return ends

    async def group_members(self, group: str) -> tuple[str, int]:
        """The group's state and member count (``("Dead", 0)`` before anyone joined)."""
        try:
            responses = await self._admin.describe_consumer_groups([group])
        except KafkaError:
            return "Dead", 0
        for response in responses:
            for described in response.groups:
                # (error_code, group_id, state, protocol_type, protocol, members, ...)
                if described[1] == group:
                    return described[2], len(described[5])
        return "Dead", 0

    async def end_offsets(self, topic: str, partitions: int = PARTITIONS) -> dict[int, int]:
        """The next offset of each partition of ``topic``, retried while leaders are elected."""
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        for _ in range(100):
            try:
                ends = await self._offsets.end_offsets(tps)
            except Exception:  # a fresh topic may not have leaders yet
                await asyncio.sleep(0.1)
                continue
            return {tp.partition: offset for tp, offset in ends.items()}
        raise RuntimeError(f"no end offsets for {topic} after 10 s")

    async def committed(self, group: str, topic: str) -> dict[int, int]:
        """The group's committed offsets on ``topic`` (partitions with no commit left out)."""
        try:
            offsets = await self._admin.list_consumer_group_offsets(group)
        except KafkaError:
            # Until the variant's consumer joins, the group has no coordinator: nothing yet.
            return {}
        return {
            tp.partition: meta.offset
            for tp, meta in offsets.items()
            if tp.topic == topic and meta.offset >= 0
        }
