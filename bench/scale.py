"""Scale: stream with 1 and 2 ``--workers``, and every variant at larger payloads."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench.broker import BenchKafka
from bench.config import BenchConfig
from bench.launch import stream_cli, stream_cli_has_workers
from bench.throughput import Burst, ThroughputRun, preload, run_throughput

__all__ = ("ScaleResults", "run_scale")


@dataclass(kw_only=True)
class ScaleResults:
    """The scale runs, and why any were skipped."""

    workers: list[ThroughputRun] = field(default_factory=list)
    payloads: list[ThroughputRun] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


async def run_scale(kafka: BenchKafka, config: BenchConfig, workdir: Path) -> ScaleResults:
    """Runs the worker-count and payload-size series, each in turns over its rounds."""
    results = ScaleResults()
    if any(w != 1 for w in config.workers) and not stream_cli_has_workers():
        why = "is not installed" if stream_cli() is None else "has no --workers option"
        results.notes.append(f"workers: skipped, the `stream run` command {why}")
    else:
        burst = Burst(config.messages)
        for round_no in range(config.scale_rounds):
            for workers in config.workers:
                _say(f"scale: stream --workers {workers}, round {round_no + 1}")
                run = await run_throughput(
                    kafka, burst, "stream", round_no=round_no, workdir=workdir, workers=workers
                )
                results.workers.append(run)
    for size in config.payload_sizes:
        source = await preload(kafka, config.scale_messages, size)
        for round_no in range(config.scale_rounds):
            for variant in config.payload_variants:
                _say(f"scale: {variant} at {size} B, round {round_no + 1}")
                run = await run_throughput(
                    kafka, source, variant, round_no=round_no, workdir=workdir
                )
                results.payloads.append(run)
    return results


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
