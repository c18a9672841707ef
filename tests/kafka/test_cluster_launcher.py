"""LocalKafka with three nodes, and with a fault proxy in the clients' path.

The cluster is the session's (``kafka_cluster``, see tests/cluster.py): whatever a test
takes down is started again, and in sync, before the next test.
"""

from __future__ import annotations

import time
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from tests.cluster import Admin

from stream.kafka_local import LocalKafka, LocalKafkaConfig

# The first cluster test of a session also starts the cluster (45-120 s on two busy cores).
pytestmark = [pytest.mark.anyio, pytest.mark.timeout(300)]


def _topic() -> str:
    return f"cluster-{uuid.uuid4().hex[:10]}"


async def _create(bootstrap: str, topic: str, partitions: int = 1) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 3)])
    finally:
        await admin.close()


async def _send(bootstrap: str, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, request_timeout_ms=30_000
    )
    await producer.start()
    try:
        await producer.send_and_wait(topic, value)
    finally:
        await producer.stop()


async def _read(bootstrap: str, topic: str, count: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=_topic()
    )
    await consumer.start()
    try:
        values: list[bytes] = []
        deadline = time.monotonic() + 60
        while len(values) < count and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            values += [r.value for records in batches.values() for r in records]
        return values
    finally:
        await consumer.stop()


@pytest.mark.kafka
@pytest.mark.cluster
async def test_cluster_replicates_internal_topics_three_times_with_two_in_sync(
    kafka_cluster: LocalKafka,
) -> None:
    bootstrap = kafka_cluster.bootstrap_servers
    assert len(bootstrap.split(",")) == 3
    topic = _topic()
    await _create(bootstrap, topic)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=_topic())
    await producer.start()  # creates __transaction_state
    try:
        async with producer.transaction():
            await producer.send(topic, b"x")
    finally:
        await producer.stop()
    assert await _read(bootstrap, topic, 1) == [b"x"]  # a group: creates __consumer_offsets

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(["__consumer_offsets", "__transaction_state"])
        configs = await admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "1")])
    finally:
        await admin.close()
    for found in described:
        assert [len(p["replicas"]) for p in found["partitions"]] == [3], found["topic"]
    broker = {name: value for name, value, *_ in configs[0].resources[0][4]}
    assert broker["min.insync.replicas"] == "2"
    assert broker["transaction.state.log.min.isr"] == "2"
    assert broker["default.replication.factor"] == "3"


@pytest.mark.kafka
@pytest.mark.extended  # the chaos rows' node crashes cover it by default
async def test_each_node_goes_down_and_comes_back_on_its_own(kafka_cluster: LocalKafka) -> None:
    bootstrap = kafka_cluster.bootstrap_servers
    topic = _topic()
    await _create(bootstrap, topic)
    async with Admin(kafka_cluster) as admin:
        leader = await admin.leader(topic)
        old_pid = leader.pid
        leader.kill()  # a crash: a follower takes over; two replicas still take acks=all
        assert leader.pid is None
        assert all(n.pid is not None for n in kafka_cluster.nodes if n is not leader)
        await _send(bootstrap, topic, b"after kill")
        assert (await admin.leader(topic)).node_id != leader.node_id

        leader.start()  # same ports, same data: it catches up and joins the ISR again
        assert leader.pid not in (None, old_pid)
        await admin.wait_in_sync([topic])

        other = await admin.leader(topic)
        other.terminate()  # a clean shutdown hands leadership over first
        await _send(bootstrap, topic, b"after SIGTERM")
        other.start()
        await admin.wait_in_sync([topic])
    assert await _read(bootstrap, topic, 2) == [b"after kill", b"after SIGTERM"]


@pytest.mark.kafka
@pytest.mark.cluster
async def test_clients_behind_the_proxy_see_its_ports_and_its_latency(
    kafka_cluster: LocalKafka,
) -> None:
    # The same listener set-up serves one node (the bench's --rtt-ms) and three.
    proxy = kafka_cluster.proxy
    topic = _topic()
    await _create(kafka_cluster.bootstrap_servers, topic)
    producer = AIOKafkaProducer(bootstrap_servers=proxy.bootstrap_servers, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"warm-up")
        # Metadata through the proxy names the proxy: the client stays behind it.
        ports = {b.port for b in producer.client.cluster.brokers()}
        assert ports == {proxy.port(node.node_id) for node in kafka_cluster.nodes}
        began = time.monotonic()
        await producer.send_and_wait(topic, b"fast")
        fast = time.monotonic() - began
        proxy.set_latency(0.1)
        began = time.monotonic()
        await producer.send_and_wait(topic, b"slow")
        slow = time.monotonic() - began
    finally:
        await producer.stop()
    assert slow >= 0.2 > fast  # one round trip: 0.1 s each way


def test_config_refuses_what_cannot_work() -> None:
    with pytest.raises(ValueError, match="give 1 or more nodes"):
        LocalKafkaConfig(nodes=0)
    with pytest.raises(ValueError, match="leave port=None with nodes=3"):
        LocalKafkaConfig(nodes=3, port=9092)
