"""Latency: messages sent at a fixed rate; how long until each one's output is read?

The harness sends ``{"data": t}`` where ``t`` is its monotonic clock just before the send;
the variant adds one, so the output carries ``t + 1`` and no correlation table is needed.
A consumer of the output topic in the harness takes the clock again when it receives the
output. Both clocks are the same system-wide CLOCK_MONOTONIC.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.broker import PARTITIONS, BenchKafka, fresh_name
from bench.launch import command_for
from bench.proc import VariantProcess
from bench.variants.common import VariantSettings

__all__ = ("LatencyRun", "percentile", "run_latency")

_WARMUP_SECONDS = 1.0
_READY_TIMEOUT = 90.0
_DRAIN_SECONDS = 15.0


@dataclass(frozen=True, kw_only=True)
class LatencyRun:
    """One variant at one fixed rate.

    Attributes:
        sent: Messages sent in the measured window (after the warm-up).
        received: Their outputs read back.
        p50_ms, p99_ms, max_ms: Send-to-read latency of those outputs.
        startup_seconds: Spawn to the variant's start line.
        rtt_ms: The round trip between the clients and the broker.
    """

    variant: str
    rate: int
    seconds: float
    sent: int
    received: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    peak_rss_bytes: int
    startup_seconds: float | None
    error: str | None = None
    round: int = 0
    rtt_ms: float = 0.0


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (``fraction`` in 0..1)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


class _Outputs:
    """Reads the output topic and keeps ``(sent, received)`` pairs."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.pairs: list[tuple[float, float]] = []
        self.arrived = asyncio.Event()
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self._topic = topic

    async def run(self) -> None:
        consumer = self._consumer
        await consumer.start()
        try:
            tps = [TopicPartition(self._topic, p) for p in range(PARTITIONS)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            while True:
                batch = await consumer.getmany(timeout_ms=100)
                received = time.monotonic()
                for records in batch.values():
                    for record in records:
                        assert record.value is not None
                        self.pairs.append((json.loads(record.value)["data"] - 1.0, received))
                if batch:
                    self.arrived.set()
        finally:
            await consumer.stop()


def _payload() -> bytes:
    return f'{{"data": {time.monotonic()!r}}}'.encode()


async def _send_at_rate(
    producer: AIOKafkaProducer, topic: str, rate: int, seconds: float
) -> tuple[float, int]:
    """Sends ``rate`` messages a second for ``seconds``; returns when it began and how many.

    Behind schedule, it catches up in a burst, so the rate holds on average.
    """
    interval = 1.0 / rate
    start = next_at = time.monotonic()
    end = start + seconds
    futures = []
    while next_at < end:
        while next_at <= time.monotonic() and next_at < end:
            futures.append(await producer.send(topic, _payload()))
            next_at += interval
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    await asyncio.gather(*futures)
    return start, len(futures)


async def run_latency(
    kafka: BenchKafka, variant: str, *, rate: int, seconds: float, workdir: Path, round_no: int = 0
) -> LatencyRun:
    """Runs ``variant`` under a fixed rate and measures each output's latency."""
    in_topic, out_topic = fresh_name("bench-lat-in"), fresh_name(f"bench-lat-out-{variant}")
    await kafka.create_topics(in_topic, out_topic)
    settings = VariantSettings(
        bootstrap=kafka.bootstrap,
        in_topic=in_topic,
        out_topic=out_topic,
        group=fresh_name(f"bench-lat-{variant}"),
    )
    command = command_for(variant, kafka.bootstrap)
    log = workdir / f"{variant}-latency-{rate}-r{round_no}.log"
    outputs = _Outputs(kafka.bootstrap, out_topic)
    # linger_ms=0: the harness's own batching must not add to the latency it measures.
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, linger_ms=0)
    await producer.start()
    reader = asyncio.create_task(outputs.run())
    sent, start, error, peak_rss = 0, 0.0, None, 0
    try:
        async with VariantProcess(command.argv, settings.to_env(), log, command.ready) as child:
            try:
                await child.wait_ready(_READY_TIMEOUT)
                await _until_first_output(producer, in_topic, outputs, child)
                await _send_at_rate(producer, in_topic, rate, _WARMUP_SECONDS)
                start, sent = await _send_at_rate(producer, in_topic, rate, seconds)
                await _drain(outputs, start, sent)
            except RuntimeError as failure:
                error = str(failure)
            peak_rss = child.peak_rss()
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await producer.stop()
    latencies = [(got - put) * 1000 for put, got in outputs.pairs if put >= start]
    return LatencyRun(
        variant=variant,
        rate=rate,
        seconds=seconds,
        sent=sent,
        received=len(latencies),
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
        max_ms=max(latencies, default=float("nan")),
        peak_rss_bytes=peak_rss,
        startup_seconds=child.startup_seconds,
        error=error,
        round=round_no,
    )


async def _until_first_output(
    producer: AIOKafkaProducer, topic: str, outputs: _Outputs, child: VariantProcess
) -> None:
    """Sends a probe every 200 ms until one comes out: the group is joined and assigned."""
    deadline = time.monotonic() + _READY_TIMEOUT
    while not outputs.arrived.is_set():
        if not child.running or time.monotonic() > deadline:
            raise RuntimeError(f"no output from {child.name}:\n{child.log_tail()}")
        await producer.send_and_wait(topic, _payload())
        try:
            async with asyncio.timeout(0.2):
                await outputs.arrived.wait()
        except TimeoutError:
            continue


async def _drain(outputs: _Outputs, start: float, sent: int) -> None:
    """Waits until every measured message's output is in, or the drain time is over."""
    deadline = time.monotonic() + _DRAIN_SECONDS
    while time.monotonic() < deadline:
        if sum(1 for put, _ in outputs.pairs if put >= start) >= sent:
            return
        await asyncio.sleep(0.05)
