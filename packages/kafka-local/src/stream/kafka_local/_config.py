"""How to run the local broker: :class:`LocalKafkaConfig`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ("LocalKafkaConfig",)


@dataclass(frozen=True, kw_only=True)
class LocalKafkaConfig:
    """How to run the local broker.

    Attributes:
        kafka_version: Apache Kafka 4.x version to run (``org.apache.kafka:kafka_2.13``).
        cache_dir: Root of the jar cache; defaults to the user cache folder (see
            ``ensure_kafka_jars`` in ``stream.kafka_local._jars``).
        nodes: Combined broker/controller nodes. One by default; three make a KRaft
            quorum that survives the loss of one node, where every topic (the internal
            ones too) has three replicas and needs two in sync (``min.insync.replicas=2``).
        proxied: Put a :class:`~stream.kafka_local.FaultProxy` in front of every node
            (``LocalKafka.proxy``): clients that bootstrap through it reach the nodes
            only through it, while the nodes replicate directly.
        port: Client (PLAINTEXT) port of a single node; ``None`` picks a free one.
        partitions: ``num.partitions`` for auto-created topics.
        heap: JVM heap size (``-Xms``/``-Xmx``) of each node.
        startup_timeout: Seconds to wait for the broker to answer clients.
        extra_properties: Broker properties that override the defaults.
        java: The java executable (name on PATH or a path).
        keep_data: Keep the temporary folder (data and logs) after :meth:`LocalKafka.stop`.
    """

    kafka_version: str = "4.1.2"
    cache_dir: Path | None = None
    nodes: int = 1
    proxied: bool = False
    port: int | None = None
    partitions: int = 1
    heap: str = "512m"
    startup_timeout: float = 90.0
    extra_properties: Mapping[str, str] = field(default_factory=dict)
    java: str = "java"
    keep_data: bool = False

    def __post_init__(self) -> None:
        """Refuse a node count or port that cannot work, naming what to change."""
        if self.nodes < 1:
            raise ValueError(f"LocalKafkaConfig(nodes={self.nodes}): give 1 or more nodes")
        if self.port is not None and self.nodes > 1:
            raise ValueError(
                f"LocalKafkaConfig(port={self.port}) fixes the port of a single node; "
                f"leave port=None with nodes={self.nodes} (each node gets free ports)"
            )
