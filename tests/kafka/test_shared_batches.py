"""Outputs of many units share record batches on a real broker: order and commits hold.

Issue 13: with ``concurrency=8`` the outputs of every lane join one open batch per output
partition. Per key the outputs keep their inputs' order, none is lost, and an input is
committed only once the batch holding its outputs was acknowledged, also when a batch
fails.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
import pytest
from pydantic import BaseModel

from stream.core import Service, consume, produce
from stream.kafka import KafkaBroker, MessageTooLargeError, SubscriptionFailedError

if TYPE_CHECKING:
    from .conftest import Kafka

pytestmark = [pytest.mark.anyio, pytest.mark.kafka]

KEYS = 64


class Keyed(BaseModel):
    key: str
    seq: int
    pad: str = ""


def _inputs(per_key: int, pad: str = "") -> list[tuple[bytes, bytes]]:
    return [
        (f"key-{k}".encode(), Keyed(key=f"key-{k}", seq=seq, pad=pad).model_dump_json().encode())
        for seq in range(per_key)
        for k in range(KEYS)
    ]


async def test_concurrent_lanes_keep_key_order_and_lose_nothing(kafka: Kafka) -> None:
    source = await kafka.create_topic("in", partitions=4)
    target = await kafka.create_topic("out", partitions=8)
    group = kafka.unique("group")
    seen = kafka.seen()

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @produce(target)
        @consume(source, group_id=group, concurrency=8)
        async def on_keyed(self, msg: Keyed) -> Keyed:
            seen.add(msg.key)
            return msg

    records = _inputs(40)
    await kafka.produce(source, *records)
    async with Svc():
        await seen.wait_for(len(records))
    outputs = await kafka.read(target, len(records))
    assert len(outputs) == len(records)
    by_key: dict[str, list[int]] = {}
    for record in outputs:
        output = Keyed.model_validate_json(record.value)
        assert record.key == output.key.encode()
        by_key.setdefault(output.key, []).append(output.seq)
    assert by_key == {f"key-{k}": list(range(40)) for k in range(KEYS)}
    ends = [0, 0, 0, 0]
    for record in await kafka.read(source, len(records)):
        ends[record.partition] = max(ends[record.partition], record.offset + 1)
    assert await kafka.committed(group, source, 4) == ends


async def test_a_refused_batch_commits_no_input_with_an_output_in_it(kafka: Kafka) -> None:
    # The output topic takes batches of at most 4 KiB: each output fits alone, but the
    # batches that many units fill together (up to ``max_batch_size``, 256 KiB) are refused. The subscription
    # stops; whatever it committed had every output stored, and what a refused batch
    # held was not committed.
    source = await kafka.create_topic("in", partitions=4)
    target = await kafka.create_topic("out", partitions=8, configs={"max.message.bytes": "4096"})
    group = kafka.unique("group")

    class Svc(Service):
        broker = KafkaBroker(kafka.bootstrap)

        @produce(target)
        @consume(source, group_id=group, concurrency=8)
        async def on_keyed(self, msg: Keyed) -> Keyed:
            return msg

    records = _inputs(20, pad="x" * 200)
    await kafka.produce(source, *records)
    service = Svc()
    await service.start()
    broker = service.transport
    assert isinstance(broker, KafkaBroker)
    with anyio.fail_after(kafka.wait):
        failure = await broker.wait_failed()
    assert isinstance(failure.__cause__, MessageTooLargeError)
    with pytest.raises(SubscriptionFailedError):
        await service.stop()
    committed = [offset or 0 for offset in await kafka.committed(group, source, 4)]
    assert sum(committed) < len(records)  # the refused batches' inputs were not
    stored = {
        (output.key, output.seq)
        for output in map(
            Keyed.model_validate_json, (r.value for r in await kafka.read_all(target, 8))
        )
    }
    for record in await kafka.read(source, len(records)):
        if record.offset < committed[record.partition]:
            message = Keyed.model_validate_json(record.value)
            assert (message.key, message.seq) in stored
