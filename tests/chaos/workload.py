"""The two ends of a chaos run: a producer of numbered items, and a reader of what came out.

The producer writes ``messages`` records at a steady rate, so that faults injected at
random moments land in the middle of the stream: good items numbered per key, a few
poison items (same keys, same numbering) and a few malformed records (keys of their
own). The reader tails the output and dead-letter topics with ``read_committed`` from
the start, noting when each record arrived, and wakes waiters as records come in.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from tests.chaos.checker import Letter, Output, Sent, letter_name

__all__ = ("Reader", "Workload", "produce")

_MALFORMED = (b"", b"not json at all", b'{"key": "k00"}', b"[1, 2, 3]", b'{"seq": "x"}')


@dataclass(frozen=True, kw_only=True)
class Workload:
    """What the producer sends.

    Attributes:
        messages: Records in all (good, poison and malformed).
        keys: Distinct keys of the numbered items.
        poison: Poison items among them.
        malformed: Malformed records among them.
        rate: Records per second.
    """

    messages: int = 10_000
    keys: int = 20
    poison: int = 5
    malformed: int = 5
    rate: float = 1500.0

    @property
    def duration(self) -> float:
        """Seconds the producer takes."""
        return self.messages / self.rate


async def produce(
    bootstrap: str, topic: str, workload: Workload, rng: random.Random, sent: Sent
) -> None:
    """Sends ``workload`` to ``topic`` at its rate, recording every record in ``sent``."""
    slots = list(range(workload.messages))
    special = rng.sample(slots, workload.poison + workload.malformed)
    poison_at = set(special[: workload.poison])
    malformed_at = {slot: n for n, slot in enumerate(special[workload.poison :])}
    next_seq: dict[str, int] = {}
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        # Keeps writing through a broker outage ("broker down 90 s"), as a real source does.
        request_timeout_ms=300_000,
    )
    await producer.start()
    try:
        futures = []
        start = time.monotonic()
        for slot in slots:
            # Pacing the stream, not waiting for a message: this sleep is the send rate.
            delay = start + slot / workload.rate - time.monotonic()
            if delay > 0.005:
                await anyio.sleep(delay)
            if slot in malformed_at:
                n = malformed_at[slot]
                key = f"bad-{n}"
                value = _MALFORMED[n % len(_MALFORMED)]
                sent.malformed.add(key)
            else:
                key = f"k{rng.randrange(workload.keys):02d}"
                seq = next_seq[key] = next_seq.get(key, -1) + 1
                now = time.time()
                poison = slot in poison_at
                value = json.dumps({"key": key, "seq": seq, "t": now, "poison": poison}).encode()
                (sent.poison if poison else sent.good).add((key, seq))
                sent.times[key, seq] = now
            futures.append(await producer.send(topic, value, key=key.encode()))
        for future in futures:
            await future
    finally:
        await producer.stop()


class Reader:
    """Tails the output and dead-letter topics (``read_committed``) from their start.

    Args:
        bootstrap: The broker.
        target: The output topic.
        dead_letters: The dead-letter topic.
        partitions: Partitions of each.
    """

    def __init__(self, bootstrap: str, target: str, dead_letters: str, partitions: int) -> None:
        self.outputs: list[Output] = []
        self.letters: list[Letter] = []
        self.output_ids: set[tuple[str, int]] = set()
        self.letter_names: set[str] = set()
        self._target = target
        self._partitions = [
            TopicPartition(topic, p) for topic in (target, dead_letters) for p in range(partitions)
        ]
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            fetch_max_wait_ms=50,
        )
        self._changed = anyio.Event()

    async def run(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        """Reads until cancelled."""
        consumer = self._consumer
        await consumer.start()
        try:
            consumer.assign(self._partitions)
            await consumer.seek_to_beginning(*self._partitions)
            task_status.started()
            while True:
                self._take(await consumer.getmany(timeout_ms=200))
        finally:
            with anyio.CancelScope(shield=True):
                await consumer.stop()

    async def wait_until(self, done: Callable[[], bool], timeout: float) -> bool:
        """Waits until ``done()`` holds (checked as records arrive); ``False`` at the deadline."""
        with anyio.move_on_after(timeout):
            while not done():
                await self._changed.wait()
            return True
        return False

    async def read_to_end(self, timeout: float) -> None:
        """Reads until the position of every partition reached its last stable offset."""
        consumer = self._consumer
        with anyio.fail_after(timeout):
            ends = await consumer.end_offsets(self._partitions)
            for tp, end in ends.items():
                while await consumer.position(tp) < end:
                    await self._changed.wait()

    def _take(self, batches: dict[Any, list[Any]]) -> None:
        # Waiters are woken after every poll, also an empty one: the position may have
        # moved past transaction markers without a record to show for it.
        arrived = time.time()
        for tp, records in batches.items():
            for record in records:
                if tp.topic == self._target:
                    body = json.loads(record.value)
                    self.outputs.append(
                        Output(
                            body["key"],
                            body["seq"],
                            body["t"],
                            tp.partition,
                            record.offset,
                            arrived,
                            body["worker"],
                        )
                    )
                    self.output_ids.add((body["key"], body["seq"]))
                else:
                    letter = Letter(
                        record.key.decode() if record.key else "",
                        record.value,
                        dict(record.headers),
                        record.timestamp / 1000,
                    )
                    self.letters.append(letter)
                    self.letter_names.add(letter_name(letter))
        self._changed.set()
        self._changed = anyio.Event()
