"""Declaring topics: what a mistaken declaration says, and that none is ignored (issue 11, #11)."""

from __future__ import annotations

import logging

import pytest
from tests.fakes import CapturingTransport

from stream.core import BindError, Service, Topic, consume
from stream.testing import MemoryBroker

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Topic(""), "give the topic a name"),
        (lambda: Topic("t", partitions=0), r"Topic\('t', partitions=0\): use 1 or more"),
        (lambda: Topic("t", replication_factor=0), "or None for the broker's default"),
    ],
)
def test_a_topic_that_cannot_exist_is_refused_when_declared(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]


def service_declaring(*declared: object) -> Service:
    class Declaring(Service):
        topics = declared  # type: ignore[assignment]

        @consume("in")
        async def on_in(self, value: int) -> None:
            pass

    return Declaring()


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ((Topic("a"), Topic("a", 2)), r"Declaring.topics declares 'a' twice; keep one"),
        (("a",), r"Declaring.topics holds 'a'; declare each topic as Topic\('name', ...\)"),
    ],
)
async def test_a_mistaken_declaration_is_a_bind_error(
    declared: tuple[object], message: str
) -> None:
    with pytest.raises(BindError, match=message):
        await service_declaring(*declared).start(MemoryBroker())


async def test_a_transport_that_cannot_create_topics_refuses_a_declaration() -> None:
    with pytest.raises(
        NotImplementedError, match="CapturingTransport cannot create the declared topics 'a'"
    ):
        await service_declaring(Topic("a")).start(CapturingTransport())
    undeclared = service_declaring()
    await undeclared.start(CapturingTransport())  # nothing declared, nothing refused
    await undeclared.stop()


async def test_the_memory_broker_keeps_an_existing_topic_and_says_its_partitions_differ(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = MemoryBroker()
    broker.create_topic("in", 2)
    service = service_declaring(Topic("in", partitions=4))
    with caplog.at_level(logging.WARNING, "stream.testing"):
        await service.start(broker)
    await service.stop()
    assert "topic 'in' has 2 partitions, not the 4 declared" in caplog.text
    assert broker.partition_count("in") == 2
