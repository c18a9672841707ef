"""Variant (c): the job as a hand-written aiokafka loop, the baseline of what is possible.

Per batch: ``getmany``, validate each record with ``model_validate_json``, add one, ``send``
without awaiting each, await the batch's futures together, then commit the explicit next
offsets of the partitions the batch came from. At-least-once, like stream: a batch's offsets
are committed only after every output of that batch is acknowledged.

With ``--batched`` (the extra ``raw_batch`` variant) the outputs of each input partition go
as one record batch (``create_batch``/``send_batch``) to the same output partition instead of
one ``send`` per record: aiokafka's cheapest way to produce, as stream's sender does.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.models import DataBasic, bump, bump_padded
from bench.variants.common import MAX_RECORDS, FirstRecord, VariantSettings
from bench.variants.profiling import ProcessingProfile

__all__ = ("main", "run")

Transform = Callable[[bytes], bytes]


async def run(settings: VariantSettings, *, batched: bool = False) -> None:
    """Runs the loop until SIGTERM or SIGINT, then commits what is done and leaves."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    profile = ProcessingProfile(settings.profile)
    first = FirstRecord(settings.mark_dir, profile.start)
    model = settings.model
    bump_model: Callable[[Any], DataBasic] = bump_padded if settings.padded else bump

    def transform(raw: bytes) -> bytes:
        return bump_model(model.model_validate_json(raw)).model_dump_json().encode()

    consumer = AIOKafkaConsumer(
        settings.in_topic,
        bootstrap_servers=settings.bootstrap,
        group_id=settings.group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    # The durability stream's producer always has, so both pay for the same promise.
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap, acks="all", enable_idempotence=True
    )
    handle = _send_batches if batched else _send_each
    await producer.start()
    await consumer.start()
    print(f"raw loop{' (batched)' if batched else ''} started", flush=True)
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=100, max_records=MAX_RECORDS)
            if not batch:
                continue
            first.hit()
            sends = await handle(producer, settings.out_topic, batch, transform)
            await asyncio.gather(*sends)
            await consumer.commit({tp: records[-1].offset + 1 for tp, records in batch.items()})
    finally:
        profile.finish()
        await consumer.stop()
        await producer.stop()


async def _send_each(
    producer: AIOKafkaProducer, topic: str, batch: dict[TopicPartition, list[Any]], job: Transform
) -> list[asyncio.Future[Any]]:
    return [
        await producer.send(topic, job(record.value), key=record.key)
        for records in batch.values()
        for record in records
    ]


async def _send_batches(
    producer: AIOKafkaProducer, topic: str, batch: dict[TopicPartition, list[Any]], job: Transform
) -> list[asyncio.Future[Any]]:
    sends = []
    for tp, records in batch.items():
        builder = producer.create_batch()
        for record in records:
            value = job(record.value)
            if builder.append(key=record.key, value=value, timestamp=None) is None:
                # Full: send it and start the next one with this record.
                builder.close()
                sends.append(await producer.send_batch(builder, topic, partition=tp.partition))
                builder = producer.create_batch()
                builder.append(key=record.key, value=value, timestamp=None)
        builder.close()  # complete: sent with the next request, no linger
        sends.append(await producer.send_batch(builder, topic, partition=tp.partition))
    return sends


def main() -> None:
    """Entry point of ``python -m bench.variants.raw_loop [--batched]``."""
    asyncio.run(run(VariantSettings.from_env(), batched="--batched" in sys.argv[1:]))


if __name__ == "__main__":
    main()
