"""The three-node cluster the ``cluster`` tests share, and what they ask of it.

One :class:`~stream.kafka_local.LocalKafka` of three nodes behind a fault proxy serves
every ``cluster`` test of a session (starting one costs tens of seconds on two cores);
the ``kafka_cluster`` fixture (tests/conftest.py) hands it out and, after each test,
starts any node the test left down, heals the proxy and waits until every replica is
back in sync, so each test begins on a whole cluster.

The questions are asked over Kafka's protocol (aiokafka's admin client), straight to the
nodes, never through the proxy.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator

import anyio
from aiokafka.admin import AIOKafkaAdminClient

from stream.kafka_local import KafkaNode, LocalKafka, LocalKafkaConfig

__all__ = (
    "INTERNAL_TOPICS",
    "Admin",
    "healed",
    "start_cluster",
)

INTERNAL_TOPICS = ("__consumer_offsets", "__transaction_state")
IN_SYNC_TIMEOUT = 90.0


def start_cluster() -> LocalKafka:
    """Three nodes, 3 partitions per auto-created topic, a fault proxy in front."""
    kafka = LocalKafka(LocalKafkaConfig(nodes=3, partitions=3, proxied=True))
    kafka.start()
    return kafka


def healed(kafka: LocalKafka) -> Iterator[LocalKafka]:
    """Yields ``kafka``; afterwards every node runs, the proxy is healed, replicas in sync."""
    try:
        yield kafka
    finally:
        kafka.proxy.heal()
        for node in kafka.nodes:
            node.start()
        anyio.run(_wait_in_sync, kafka)


async def _wait_in_sync(kafka: LocalKafka) -> None:
    async with Admin(kafka) as admin:
        await admin.wait_in_sync()


class Admin:
    """Who leads what in the cluster, and waiting for replicas to catch up.

    Args:
        kafka: The cluster.
    """

    def __init__(self, kafka: LocalKafka) -> None:
        self.kafka = kafka
        self._client = AIOKafkaAdminClient(
            bootstrap_servers=kafka.bootstrap_servers, request_timeout_ms=10_000
        )

    async def __aenter__(self) -> Admin:
        await self._client.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._client.close()

    def node(self, node_id: int) -> KafkaNode:
        """The node of ``node.id`` ``node_id``."""
        return self.kafka.nodes[node_id - 1]

    async def leaders(self, topic: str) -> dict[int, int]:
        """``{partition: leader's node id}`` of ``topic``."""
        return {p: leader for p, leader, _ in await self._partitions(topic)}

    async def leader(self, topic: str, partition: int = 0) -> KafkaNode:
        """The node leading ``topic``'s ``partition``."""
        leaders = await self.leaders(topic)
        return self.node(leaders[partition])

    async def group_coordinator(self, group: str) -> KafkaNode:
        """The node coordinating consumer group ``group``."""
        return self.node(await self._client.find_coordinator(group, 0))

    async def transaction_coordinator(self) -> KafkaNode:
        """The node coordinating every transaction of the cluster.

        The cluster has one ``__transaction_state`` partition, so one coordinator for
        every transactional id: its leader.
        """
        return await self.leader("__transaction_state")

    async def wait_in_sync(
        self, topics: Collection[str] = (), timeout: float = IN_SYNC_TIMEOUT
    ) -> None:
        """Waits until every partition of ``topics`` and of the internal topics (those that
        exist yet) has all its replicas in sync, as a rolling restart waits before the
        next node."""
        deadline = time.monotonic() + timeout
        while True:
            lagging = await self._lagging([*INTERNAL_TOPICS, *topics])
            if not lagging:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"replicas still out of sync after {timeout:.0f}s: {lagging}")
            # Polling the cluster's own state: there is no event to wait on.
            await anyio.sleep(0.5)

    async def _lagging(self, topics: list[str]) -> list[str]:
        lagging = []
        for topic in topics:
            try:
                partitions = await self._partitions(topic)
            except KeyError:
                continue  # an internal topic not created yet
            lagging += [
                f"{topic}/{p} isr={sorted(isr)}"
                for p, leader, isr in partitions
                if leader < 0 or len(isr) < 3
            ]
        return lagging

    async def _partitions(self, topic: str) -> list[tuple[int, int, list[int]]]:
        (found,) = await self._client.describe_topics([topic])
        if found["error_code"] == 3:  # UNKNOWN_TOPIC_OR_PARTITION
            raise KeyError(topic)
        if found["error_code"]:  # e.g. no leader yet: nothing in sync to show
            return [(-1, -1, [])]
        return [
            (p["partition"], p["leader"], list(p["isr"]))
            for p in found["partitions"]
            if p["error_code"] in (0, 5, 9)  # fine, leader not available, replica not available
        ]
