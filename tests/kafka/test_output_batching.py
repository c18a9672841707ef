"""Outputs batch across units: lanes never wait on the network inside the ack window.

Issue 13: each lane's share of a chunk went out as record batches of its own, one per
output partition, and aiokafka takes one unsent batch per partition at a time, so a lane
waited a round trip at a time inside ``send_all`` (18.6k msg/s at ``concurrency=8`` against
101k at 1, 13 records per batch against 71). Now every unit's outputs join the open batch
of their partition, and a handler waits only when ``max_unacked_batches`` chunks are
unacknowledged.

The real ``Subscriber`` and ``Sender`` run against ``bench.lanes``' fake aiokafka, which
follows aiokafka's sender rules (see there).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import anyio
import pytest
from aiokafka.errors import KafkaError, KafkaTimeoutError
from bench.lanes import INPUT_PARTITIONS, MAX_UNACKED_BATCHES, OUTPUT_PARTITIONS, LaneRun

pytestmark = pytest.mark.anyio

CHUNK = 500
"""Records per fetch (the subscription's default ``max_records``)."""
RTT = 0.002


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    # The fakes count, they do not signal: poll what they counted.
    with anyio.fail_after(timeout):
        while not condition():  # noqa: ASYNC110
            await anyio.sleep(0.005)


@pytest.mark.parametrize("concurrency", [1, 8])
async def test_handlers_run_ahead_of_unanswered_sends_by_the_ack_window(
    concurrency: int,
) -> None:
    # The broker takes requests and never answers: the ack window fills, and only it
    # stops the handlers. On main a lane's send waited once its partitions each had a
    # batch in the air and one queued: about one chunk at concurrency 8, three at 1.
    lane = LaneRun(RTT, 0.0, concurrency)
    lane.producer.answering.clear()
    async with lane.running():
        await _until(lambda: lane.handler.handled >= MAX_UNACKED_BATCHES * CHUNK)
        lane.producer.answering.set()  # let the stop finish what was handled


async def test_units_share_open_batches_in_order_per_key_and_every_input_commits() -> None:
    # Two chunks per input partition (8,000 records, 64 keys) handled by 8 lanes while the
    # broker holds its answers (the ack window holds all 16 chunks): every unit's outputs
    # join the open batch of each output partition, so each partition sends the first
    # unit's batch, one queued in aiokafka and one that collected all the rest. On
    # main: a batch per lane per chunk per partition, and the lanes stuck after two.
    limit = 2 * CHUNK
    lane = LaneRun(RTT, 0.0, 8, limit=limit, max_unacked_batches=16)
    lane.producer.answering.clear()
    async with lane.running() as subscriber:
        await _until(lambda: lane.handler.handled == limit * len(INPUT_PARTITIONS))
        lane.producer.answering.set()
        await _until(lambda: lane.producer.records == limit * len(INPUT_PARTITIONS))
    assert subscriber.failure is None
    assert lane.consumer.committed == dict.fromkeys(INPUT_PARTITIONS, limit)
    assert lane.producer.batches <= 3 * OUTPUT_PARTITIONS
    # Per key and input partition, the outputs are stored in their inputs' order (a
    # value is "<input partition>:<offset>"); every input offset went out once.
    stored: dict[tuple[bytes | None, bytes], list[int]] = defaultdict(list)
    for records in lane.producer.sent.values():
        for key, value in records:
            assert value is not None
            partition, offset = value.split(b":")
            stored[key, partition].append(int(offset))
    assert len(stored) == 64 * len(INPUT_PARTITIONS)
    for offsets in stored.values():
        assert offsets == sorted(offsets)
    assert sum(len(offsets) for offsets in stored.values()) == limit * len(INPUT_PARTITIONS)


async def test_a_failed_batch_fails_every_unit_with_a_record_in_it() -> None:
    # Every batch fails (a non-retriable broker error): every unit had outputs in one,
    # so the subscription stops and no input offset is committed.
    lane = LaneRun(RTT, 0.0, 8)
    lane.producer.fail = KafkaError("the broker refused the batch")
    async with lane.running() as subscriber:
        await _until(lambda: subscriber.failure is not None)
    assert lane.consumer.committed == {}
    assert isinstance(subscriber.failure.__cause__, KafkaError)


async def test_a_batch_without_a_turn_within_the_request_timeout_starts_the_outage_path() -> None:
    # The broker stops answering. aiokafka retries the batches it holds for as long as
    # it takes (idempotence), so the acker waits; the next batch, given no turn within
    # the producer's request timeout, fails as send_batch would have failed it, and the
    # subscription winds down to ride the outage out (not: every handler held silently).
    lane = LaneRun(RTT, 0.0, 8, request_timeout=0.2)
    lane.producer.answering.clear()
    async with lane.running() as subscriber:
        await _until(lambda: subscriber.interruption is not None)
        lane.producer.answering.set()
    assert isinstance(subscriber.interruption, KafkaTimeoutError)
    assert subscriber.failure is None
