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
        port: Client (PLAINTEXT) port; ``None`` picks a free one.
        partitions: ``num.partitions`` for auto-created topics.
        heap: JVM heap size (``-Xms``/``-Xmx``).
        startup_timeout: Seconds to wait for the broker to answer clients.
        extra_properties: Broker properties that override the defaults.
        java: The java executable (name on PATH or a path).
        keep_data: Keep the temporary folder (data and logs) after :meth:`LocalKafka.stop`.
    """

    kafka_version: str = "4.1.2"
    cache_dir: Path | None = None
    port: int | None = None
    partitions: int = 1
    heap: str = "512m"
    startup_timeout: float = 90.0
    extra_properties: Mapping[str, str] = field(default_factory=dict)
    java: str = "java"
    keep_data: bool = False
