"""Runs every behaviour test twice: on the in-memory broker and on a real Kafka broker."""

import pytest

from tests.behaviour.backends import Backend, KafkaBackend, MemoryBackend


@pytest.fixture(params=["memory", pytest.param("kafka", marks=pytest.mark.kafka)])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "memory":
        return MemoryBackend()
    return KafkaBackend(request.getfixturevalue("kafka_bootstrap"))
