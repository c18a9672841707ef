"""Filters, partition hooks, pause and resume on the in-memory broker: the cases the
behaviour suite leaves out (errors, logs, whole-subscription pauses)."""

import logging

import pytest
from pydantic import BaseModel

from stream.core import (
    HookError,
    Message,
    OutgoingMessage,
    Service,
    TopicPartition,
    consume,
    produce,
)
from stream.testing import MemoryBroker, TestBroker, sent

pytestmark = pytest.mark.anyio


class Event(BaseModel):
    seq: int


def typed(kind: str) -> dict[str, str]:
    return {"type": kind}


class Split(Service):
    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []

    @consume("events", group_id="split", filter=lambda m: m.header("type") == b"a")
    async def first(self, msg: Event) -> None:
        self.seen.append(("first", msg.seq))

    @consume("events", group_id="split", filter=lambda m: m.header("type") == b"b")
    async def second(self, msg: Event) -> None:
        self.seen.append(("second", msg.seq))


async def test_a_filter_that_raises_dead_letters_its_message_and_the_partition_goes_on() -> None:
    def broken(message: Message) -> bool:
        if message.key == b"bad":
            raise KeyError("no such header")
        return False

    class S(Service):
        def __init__(self) -> None:
            self.seen: list[int] = []

        @consume("events", group_id="g", filter=broken)
        async def picky(self, msg: Event) -> None: ...

        @consume("events", group_id="g")
        async def rest(self, msg: Event) -> None:
            self.seen.append(msg.seq)

    broker = MemoryBroker(raise_handler_errors=False)
    async with TestBroker(S(), broker=broker) as service:
        await service.publish(Event(seq=1), "events", key="bad")
        await service.publish(Event(seq=2), "events", key="good")
        [letter] = broker.messages("events.dlq")
        assert letter.header("stream.error.type") == b"builtins.KeyError"
        assert letter.header("stream.handler") == b"S.picky"
        assert service.seen == [2]
    assert broker.committed("g", "events") == 2


async def test_messages_no_filter_takes_are_counted_and_reported_at_most_once_a_while(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="stream.Split")
    async with TestBroker(Split()) as service:
        for seq, kind in enumerate(["a", "c", "c", "b", "c"]):
            await service.publish(Event(seq=seq), "events", headers=typed(kind))
        assert service.seen == [("first", 0), ("second", 3)]
        assert service.unmatched("first") == 3
    reports = [r.getMessage() for r in caplog.records if "matched no handler" in r.message]
    assert reports == [
        "Split.first: events[0]@1 matched no handler's filter; skipped and committed "
        "(1 skipped since start, reported at most every 10s)"
    ]


async def test_outputs_keep_the_order_of_their_inputs_across_handlers() -> None:
    class S(Service):
        @produce("out")
        @consume("in", group_id="g", filter=lambda m: m.key == b"x")
        async def xs(self, msg: Event) -> Event:
            return msg

        @produce("out")
        @consume("in", group_id="g")
        async def others(self, msg: Event) -> Event:
            return msg

    broker = MemoryBroker()
    # Waiting before the start, so the handlers get them as one fetch.
    await broker.publish_many(
        [
            OutgoingMessage("in", Event(seq=seq).model_dump_json().encode(), key.encode())
            for seq, key in enumerate(["x", "y", "y", "x"])
        ]
    )
    async with TestBroker(S(), broker=broker) as service:
        assert sent(service, "out") == [{"seq": n} for n in range(4)]


async def test_a_failing_assignment_hook_fails_the_start_with_nothing_handled() -> None:
    class S(Service):
        handled = 0

        async def on_partitions_assigned(self, partitions: frozenset[TopicPartition]) -> None:
            raise OSError("state store unreachable")

        @consume("events")
        async def handle(self, msg: Event) -> None:
            S.handled += 1

    broker = MemoryBroker()
    with pytest.raises(HookError, match=r"S\.on_partitions_assigned raised OSError: state store"):
        await S().start(broker)
    assert S.handled == 0
    assert broker.committed("S.handle", "events") == 0


async def test_a_whole_subscription_pause_holds_every_partition_until_resumed() -> None:
    broker = MemoryBroker(partitions=2)
    async with TestBroker(Split(), broker=broker) as service:
        await service.pause("second")  # the subscription both handlers share
        await service.publish(Event(seq=0), "events", headers=typed("a"), partition=0)
        await service.publish(Event(seq=1), "events", headers=typed("b"), partition=1)
        assert service.seen == []
        await service.resume("first", partitions=[TopicPartition("events", 1)])
        assert service.seen == [("second", 1)]
        await service.resume("first")
        assert service.seen == [("second", 1), ("first", 0)]
    assert broker.committed("split", "events", 0) == broker.committed("split", "events", 1) == 1


async def test_pause_names_a_consume_method_and_takes_topic_partitions() -> None:
    async with TestBroker(Split()) as service:
        with pytest.raises(ValueError, match="Split has no @consume method 'third'; its "):
            await service.pause("third")
        with pytest.raises(TypeError, match=r"partitions take TopicPartition values"):
            await service.pause("first", partitions=[("events", 0)])  # type: ignore[list-item]
