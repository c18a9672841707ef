"""What keeps the in-memory broker fast for a user's suite, without changing what a test sees.

A handler's ``.mock`` is built when a test first reads it, from the inputs kept until
then; who owns which partition is worked out once per change of the group or the topics.
"""

from __future__ import annotations

import subprocess
import sys

import anyio
import anyio.lowlevel
import pytest
from pydantic import BaseModel

from stream.core import Message, Service, consume, produce
from stream.testing import MemoryBroker, TestBroker

pytestmark = pytest.mark.anyio


class Reading(BaseModel):
    data: float


class Chain(Service):
    @produce("mid")
    @consume("in")
    async def first(self, msg: Reading) -> Reading:
        return Reading(data=msg.data + 1)

    @consume("mid")
    async def second(self, msg: Reading) -> None: ...


def test_importing_stream_testing_does_not_import_unittest_mock() -> None:
    # `stream run` of a service on the in-memory broker imports stream.testing; the mock
    # machinery is only for tests that read a handler's `.mock`.
    code = "import sys, stream.testing; print('unittest.mock' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


async def test_mock_read_after_the_chain_ran_has_every_input_in_order() -> None:
    async with TestBroker(Chain()) as service:
        for value in (1.0, 2.0, 3.0):
            await service.publish(Reading(data=value), "in")
        mock = service.first.mock  # type: ignore[attr-defined]
        assert [c.args for c in mock.call_args_list] == [({"data": v},) for v in (1.0, 2.0, 3.0)]
        assert service.first.mock is mock  # type: ignore[attr-defined]
        await service.publish(Reading(data=4.0), "in")
        mock.assert_called_with({"data": 4.0})
        assert mock.call_count == 4
        service.second.mock.assert_called_with({"data": 5.0})  # type: ignore[attr-defined]


async def test_a_side_effect_set_on_the_mock_acts_on_the_next_input() -> None:
    broker = MemoryBroker(raise_handler_errors=True)
    async with TestBroker(Chain(), broker=broker) as service:
        await service.publish(Reading(data=1.0), "in")
        service.second.mock.side_effect = RuntimeError("refused")  # type: ignore[attr-defined]
        with pytest.raises(RuntimeError, match="refused"):
            await service.publish(Reading(data=2.0), "in")
        assert service.second.mock.call_count == 1 + 3  # type: ignore[attr-defined]


async def test_a_member_joining_later_takes_its_share_of_the_partitions() -> None:
    broker = MemoryBroker(partitions={"in": 2})
    got: list[tuple[str, int]] = []

    class Worker(Service):
        def __init__(self, tag: str) -> None:
            super().__init__()
            self.tag = tag

        @consume("in", group_id="workers")
        async def handle(self, msg: Reading, message: Message) -> None:
            got.append((self.tag, message.partition))

    first, second = Worker("first"), Worker("second")
    await first.start(broker)
    try:
        await first.publish(Reading(data=1), "in", partition=1)
        await second.start(broker)  # now "first" owns partition 0, "second" partition 1
        await first.publish(Reading(data=2), "in", partition=1)
        await first.publish(Reading(data=3), "in", partition=0)
    finally:
        await first.stop()
        await second.stop()
    assert got == [("first", 1), ("second", 1), ("first", 0)]


async def test_a_topic_created_after_start_reaches_a_pattern_subscription() -> None:
    seen: list[str] = []

    class Watcher(Service):
        @consume(pattern=r"events\..*")
        async def handle(self, msg: Reading, message: Message) -> None:
            seen.append(message.topic)

    async with TestBroker(Watcher()) as service:
        await service.publish(Reading(data=1), "events.a")
        await service.publish(Reading(data=1), "other")
        await service.publish(Reading(data=1), "events.b")
    assert seen == ["events.a", "events.b"]


async def test_a_short_chain_yields_to_the_event_loop_once_per_publish_not_per_hop() -> None:
    # Each yield is a turn of the event loop (a select call and the scheduling around it):
    # yielding after every chunk delivered cost a third of a two-hop chain's time. The
    # publish yields once (taking the broker's lock); a long chain still yields every few
    # hundred messages (tests/core/test_hostile_input.py's runaway chain is interrupted).
    turns = 0
    running = True

    async def count_turns() -> None:
        nonlocal turns
        while running:
            turns += 1
            await anyio.lowlevel.checkpoint()

    async with TestBroker(Chain()) as service, anyio.create_task_group() as group:
        group.start_soon(count_turns)
        await anyio.lowlevel.checkpoint()
        before = turns
        for value in range(100):
            await service.publish(Reading(data=value), "in")
        publishes_turns = turns - before
        running = False
    assert publishes_turns <= 110, publishes_turns
