"""Throughput: N messages waiting on a topic, one variant consumes them all; how fast?

The clock starts at the variant's first record (the time it writes to its mark file) and
stops when the harness reads, from the broker, that the group's committed offsets equal
the input topic's end offsets. Each run uses a fresh consumer group and a fresh output
topic on the same preloaded input topic, so every variant consumes the same N messages.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.broker import BenchKafka, fresh_name
from bench.launch import command_for
from bench.models import padded_payload
from bench.proc import VariantProcess
from bench.variants.common import VariantSettings
from bench.watch import Watched, watch

__all__ = ("BASIC_PAYLOAD", "Burst", "Preloaded", "ThroughputRun", "preload", "run_throughput")

BASIC_PAYLOAD = b'{"data": 0.5}'
_STARTUP_ALLOWANCE = 90.0


@dataclass(frozen=True, slots=True)
class Preloaded:
    """An input topic holding the messages every run of a series consumes."""

    topic: str
    ends: dict[int, int]
    payload_bytes: int
    padded: bool

    @property
    def messages(self) -> int:
        """How many messages the topic holds."""
        return sum(self.ends.values())


@dataclass(frozen=True, slots=True)
class Burst:
    """Messages written only once every worker has joined the group, for ``--workers`` runs.

    Preloaded messages would all be read by the first worker before the second one
    joined; a burst (record batches, several times faster than any variant consumes)
    starts when the group is stable, for one worker as for two.
    """

    messages: int
    payload_bytes: int = 0


@dataclass(frozen=True, kw_only=True)
class ThroughputRun:
    """One variant consuming one preloaded topic once.

    Attributes:
        seconds: First record to last offset committed (read back from the broker).
        msgs_per_s: ``messages / seconds``.
        seconds_to_outputs: First record to all N outputs on the output topic.
        outputs_at_commit: Outputs on the output topic when the commit was complete; fewer
            than ``messages`` means offsets were committed before their outputs were written.
        cpu_us_per_msg: CPU time (user + system) the variant's processes spent from their
            first record to the commit, per message: less sensitive to a busy machine
            than the wall clock.
        peak_rss_bytes: Peak RSS of the variant's process tree.
        startup_seconds: Spawn to the variant's start line.
        stop_seconds: SIGTERM to exit (a graceful stop: drain, commit, leave the group).
        error: Why the run failed, or ``None``.
        rtt_ms: The round trip between the clients and the broker.
        cut: The run was stopped at its time bound; ``messages`` is the outputs written by
            then (of the topic's ``offered``), and the rate is the rate so far.
        offered: The messages on the input topic (``messages`` unless ``cut``).
    """

    variant: str
    round: int
    messages: int
    payload_bytes: int
    workers: int
    seconds: float
    msgs_per_s: float
    seconds_to_outputs: float | None
    outputs_at_commit: int
    cpu_us_per_msg: float | None
    peak_rss_bytes: int
    startup_seconds: float | None
    stop_seconds: float | None
    via_cli: bool
    error: str | None = None
    rtt_ms: float = 0.0
    cut: bool = False
    offered: int | None = None


async def preload(kafka: BenchKafka, count: int, payload_bytes: int = 0) -> Preloaded:
    """Creates a 4-partition topic holding ``count`` messages.

    ``payload_bytes=0`` writes the job's ``{"data": 0.5}``; a size writes padded readings.
    """
    topic = fresh_name(f"bench-in-{payload_bytes or 'basic'}")
    await kafka.create_topics(topic)
    payload = _payload(payload_bytes)
    ends = await kafka.preload(topic, count, payload)
    return Preloaded(topic, ends, len(payload), padded=payload_bytes > 0)


def _payload(payload_bytes: int) -> bytes:
    return padded_payload(payload_bytes) if payload_bytes else BASIC_PAYLOAD


async def run_throughput(
    kafka: BenchKafka,
    source: Preloaded | Burst,
    variant: str,
    *,
    round_no: int,
    workdir: Path,
    workers: int = 1,
    profile: Path | None = None,
    cut_after: float | None = None,
    rtt_ms: float = 0.0,
) -> ThroughputRun:
    """Runs ``variant`` over ``source`` once and times it.

    ``cut_after`` stops the run that many seconds after its first record, with the rate so
    far as its figure (see :func:`~bench.watch.watch`); ``rtt_ms`` is the network's round
    trip, which also stretches the time allowed.
    """
    out_topic = fresh_name(f"bench-out-{variant}")
    group = fresh_name(f"bench-{variant}")
    await kafka.create_topics(out_topic)
    if isinstance(source, Burst):
        in_topic, padded = fresh_name("bench-burst"), source.payload_bytes > 0
        await kafka.create_topics(in_topic)
    else:
        in_topic, padded = source.topic, source.padded
    mark_dir = Path(tempfile.mkdtemp(prefix="marks-", dir=workdir))
    settings = VariantSettings(
        bootstrap=kafka.bootstrap,
        in_topic=in_topic,
        out_topic=out_topic,
        group=group,
        padded=padded,
        mark_dir=mark_dir,
        profile=profile,
    )
    command = command_for(variant, kafka.bootstrap, workers=workers)
    log = workdir / f"{variant}-r{round_no}-w{workers}-{in_topic}.log"
    error: str | None = None
    async with VariantProcess(command.argv, settings.to_env(), log, command.ready) as child:
        try:
            if isinstance(source, Burst):
                source = await _burst_when_joined(kafka, source, settings, child, workers)
            # 200 msg/s is far below any variant on a direct link; each ms of round trip
            # slows a variant that awaits every send (FastStream) by about that much again.
            timeout = _STARTUP_ALLOWANCE + source.messages / 200 * (1 + rtt_ms)
            if cut_after is not None:
                timeout = min(timeout, _STARTUP_ALLOWANCE + cut_after)
            watched = await watch(
                kafka, source.ends, settings, child, mark_dir=mark_dir, timeout=timeout,
                cut_after=cut_after,
            )  # fmt: skip
            first = min(mark.at for mark in watched.marks.values())
        except RuntimeError as failure:
            watched, first, error = Watched(0.0, None, 0, {}, {}), 0.0, str(failure)
        peak_rss = child.peak_rss()
        await child.stop()
    seconds = watched.committed_at - first if error is None else 0.0
    cpu_used = sum(cpu - watched.marks[pid].cpu for pid, cpu in watched.cpu_at_commit.items())
    cut = watched.outputs_at_cut is not None
    handled = source.messages if not cut else min(watched.outputs_at_cut or 0, source.messages)
    return ThroughputRun(
        variant=variant,
        round=round_no,
        messages=handled,
        payload_bytes=source.payload_bytes,
        workers=workers,
        seconds=seconds,
        msgs_per_s=handled / seconds if seconds > 0 else 0.0,
        seconds_to_outputs=(
            watched.outputs_at - first if watched.outputs_at is not None and error is None else None
        ),
        outputs_at_commit=watched.outputs_at_commit,
        cpu_us_per_msg=cpu_used / handled * 1e6 if error is None and handled else None,
        peak_rss_bytes=peak_rss,
        startup_seconds=child.startup_seconds,
        stop_seconds=child.stop_seconds,
        via_cli=command.via_cli,
        error=error,
        rtt_ms=rtt_ms,
        cut=cut,
        offered=source.messages,
    )


async def _burst_when_joined(
    kafka: BenchKafka, burst: Burst, settings: VariantSettings, child: VariantProcess, workers: int
) -> Preloaded:
    """Waits until all ``workers`` are in the group, then writes the burst."""
    await child.wait_ready(_STARTUP_ALLOWANCE)
    deadline = time.monotonic() + _STARTUP_ALLOWANCE
    while (state := await kafka.group_members(settings.group)) != ("Stable", workers):
        if not child.running or time.monotonic() > deadline:
            raise RuntimeError(f"group {settings.group} never got stable with {workers} "
                               f"members (last seen: {state}):\n{child.log_tail()}")  # fmt: skip
        await asyncio.sleep(0.05)
    payload = _payload(burst.payload_bytes)
    ends = await kafka.preload(settings.in_topic, burst.messages, payload)
    return Preloaded(settings.in_topic, ends, len(payload), padded=burst.payload_bytes > 0)
