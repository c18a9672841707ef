"""How long a rebalance under load stalls a subscription (issue 11, #4).

One member consumes a 4-partition topic that a producer feeds at a steady rate, its
handler busy (a few ms per message, ``concurrency=4``); then a second member joins the
group. Printed: from the join to the new member's first message, and the longest pause
in handling across both members around the join (the eager protocol stops everyone
while the first member finishes and commits its in-flight work).

    uv run python -m bench.rebalance [--bootstrap-servers HOST:PORT] [--rate 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
import uuid

import anyio
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.broker import local_broker
from stream.core import Service, consume
from stream.kafka import KafkaBroker

PARTITIONS = 4
WARM_UP = 5.0
"""Seconds the first member consumes alone before the second joins."""
AFTER = 20.0
"""Seconds measured after the join began."""


def member(
    bootstrap: str, topic: str, group: str, handled: list[tuple[float, str]], name: str
) -> Service:
    class Member(Service):
        broker = KafkaBroker(bootstrap, shutdown_timeout=10.0)

        @consume(topic, group_id=group, concurrency=4)
        async def on_in(self, value: bytes) -> None:
            await anyio.sleep(0.002)  # a handler's I/O
            handled.append((time.monotonic(), name))

    return Member()


async def feed(bootstrap: str, topic: str, rate: float, until: float) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        sent = 0
        start = time.monotonic()
        while time.monotonic() < until:
            # Pacing the stream: this sleep is the send rate.
            await anyio.sleep(max(0.0, start + sent / rate - time.monotonic()))
            await producer.send(topic, b"{}", key=str(sent % 64).encode())
            sent += 1
        await producer.flush()
    finally:
        await producer.stop()


async def measure(bootstrap: str, rate: float) -> None:
    topic, group = f"rebalance-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        await admin.close()
    handled: list[tuple[float, str]] = []
    first = member(bootstrap, topic, group, handled, "first")
    second = member(bootstrap, topic, group, handled, "second")
    await first.start()
    end = time.monotonic() + WARM_UP + AFTER
    async with anyio.create_task_group() as group_tasks:
        group_tasks.start_soon(feed, bootstrap, topic, rate, end)
        await anyio.sleep(WARM_UP)  # the first member alone, under load
        joined = time.monotonic()
        await second.start()
        started = time.monotonic() - joined
        await anyio.sleep(max(0.0, end - time.monotonic()))  # the measured window
    await second.stop()
    await first.stop()
    times = sorted(t for t, _ in handled if t >= joined - 1.0)
    pause = max((b - a for a, b in itertools.pairwise(times)), default=0.0)
    second_first = min((t for t, name in handled if name == "second"), default=None)
    print(f"rate {rate:.0f} msg/s on {PARTITIONS} partitions, handler 2 ms, concurrency 4")
    print(f"second member's start() (connect, join, first assignment): {started:.2f} s")
    print(f"longest pause in handling around the join: {pause:.2f} s")
    if second_first is not None:
        print(f"join to the new member's first message: {second_first - joined:.2f} s")
    else:
        print("the new member handled nothing")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-servers")
    parser.add_argument("--rate", type=float, default=2000.0)
    args = parser.parse_args()
    with local_broker(args.bootstrap_servers) as network:
        bootstrap = network.bootstrap_at(0)
        asyncio.run(measure(bootstrap, args.rate))


if __name__ == "__main__":
    main()
