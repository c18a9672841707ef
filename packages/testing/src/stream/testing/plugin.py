"""The pytest plugin stream-testing registers (entry point ``pytest11``).

Fixtures:
    memory_broker: a fresh :class:`MemoryBroker` per test.
    kafka_bootstrap: the address of a real Apache Kafka broker for the whole session:
        ``STREAM_KAFKA_BOOTSTRAP`` when set, else one started with ``stream.kafka_local``
        (needs ``stream-testing[kafka]``, which brings stream-kafka-local, Java 17+ and Maven).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from stream.testing._memory import MemoryBroker

__all__ = ("kafka_bootstrap", "memory_broker", "pytest_configure")

BOOTSTRAP_VARIABLE = "STREAM_KAFKA_BOOTSTRAP"


def pytest_configure(config: pytest.Config) -> None:
    """Registers the ``kafka`` marker for tests that need a real broker."""
    config.addinivalue_line(
        "markers", "kafka: needs a real Apache Kafka broker (see the kafka_bootstrap fixture)"
    )


@pytest.fixture
def memory_broker() -> MemoryBroker:
    """A fresh in-memory broker."""
    return MemoryBroker()


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """A real Kafka broker's address for the session; started here unless one is given."""
    given = os.environ.get(BOOTSTRAP_VARIABLE)
    if given:
        yield given
        return
    try:
        from stream.kafka_local import LocalKafka, LocalKafkaConfig
    except ImportError as error:
        raise RuntimeError(
            f"no Kafka broker: set {BOOTSTRAP_VARIABLE}, or install stream-testing[kafka] so "
            "the local broker can start"
        ) from error
    broker = LocalKafka(LocalKafkaConfig(partitions=1))
    broker.start()
    try:
        yield broker.bootstrap_servers
    finally:
        broker.stop()
