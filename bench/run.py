"""One benchmark run: throughput rounds, latency, scale, profile and the in-memory chain."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import platform
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.broker import BenchKafka, BenchNetwork
from bench.config import BenchConfig
from bench.latency import run_latency
from bench.memchain import run_memchain
from bench.profile import run_profile
from bench.results import BenchResults
from bench.scale import run_scale
from bench.throughput import preload, run_throughput

__all__ = ("SECTIONS", "describe_machine", "run_all")

SECTIONS = ("throughput", "latency", "scale", "profile", "memchain")
_PACKAGES = ("stream-core", "stream-kafka", "stream-cli", "faststream", "aiokafka", "pydantic")


def _load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def describe_machine(config: BenchConfig, kafka: str, argv: list[str]) -> dict[str, Any]:
    """What a reader needs to judge the numbers: when, where, which versions."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {"python": platform.python_version()}
    for package in _PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench", *argv]),
        "quick": config.quick,
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(config).items()},
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "kafka": kafka,
        "versions": versions,
        "code": _code(),
        "load_before": _load(),
        "load_after": None,
    }


def _code() -> dict[str, Any]:
    """Which stream code was measured: the commit, local changes, where it was imported from."""
    root = Path(__file__).resolve().parent.parent
    found: dict[str, Any] = {}
    try:
        found["commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
            check=True, timeout=30,
        ).stdout.strip()  # fmt: skip
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "packages"], cwd=root, capture_output=True,
            text=True, check=True, timeout=30,
        ).stdout  # fmt: skip
        found["packages_changed_since_commit"] = bool(changed.strip())
    except (OSError, subprocess.SubprocessError):
        found["commit"] = None
    for module in ("stream.core", "stream.kafka", "stream.cli"):
        spec = importlib.util.find_spec(module)
        locations = list(spec.submodule_search_locations or []) if spec else []
        found[module] = locations[0] if locations else None
    return found


async def run_all(
    config: BenchConfig,
    network: BenchNetwork,
    workdir: Path,
    sections: tuple[str, ...],
    meta: dict[str, Any],
) -> BenchResults:
    """Runs the chosen sections in order, throughput and latency once per round trip, and
    gathers their results."""
    results = BenchResults(meta=meta)
    for index, rtt in enumerate(config.rtts_ms):
        async with BenchKafka(network.bootstrap_at(rtt)) as kafka:
            if "throughput" in sections:
                await _throughput(kafka, config, workdir, results, rtt)
            if "latency" in sections:
                await _latency(kafka, config, workdir, results, rtt)
            if index > 0:
                continue  # what follows does not depend on the network, or is stream alone
            if "scale" in sections:
                results.scale = await run_scale(kafka, config, workdir)
            if "profile" in sections and config.profile:
                _say("profile: stream under pyinstrument")
                results.profile = await run_profile(kafka, config.messages, workdir)
    if "memchain" in sections:
        _say("memchain: stream TestBroker vs FastStream TestKafkaBroker")
        results.memchain = await asyncio.to_thread(
            run_memchain, config.memchain_messages, config.memchain_rounds
        )
    meta["load_after"] = _load()
    return results


async def _throughput(
    kafka: BenchKafka, config: BenchConfig, workdir: Path, results: BenchResults, rtt: float
) -> None:
    source = await preload(kafka, config.messages)
    for round_no in range(config.rounds):
        for variant in config.variants:
            _say(
                f"throughput at RTT {rtt:g} ms: {variant}, round {round_no + 1} of {config.rounds}"
            )
            run = await run_throughput(
                kafka, source, variant, round_no=round_no, workdir=workdir,
                cut_after=config.cut_seconds, rtt_ms=rtt,
            )  # fmt: skip
            cut = f" (cut at {run.messages:,} of {source.messages:,})" if run.cut else ""
            _say(f"  FAILED: {run.error}" if run.error else f"  {run.msgs_per_s:,.0f} msg/s{cut}")
            results.throughput.append(run)


async def _latency(
    kafka: BenchKafka, config: BenchConfig, workdir: Path, results: BenchResults, rtt: float
) -> None:
    for round_no in range(config.latency_rounds):
        for rate in config.latency_rates:
            for variant in config.latency_variants:
                _say(f"latency at RTT {rtt:g} ms: {variant} at {rate} msg/s, round {round_no + 1}")
                run = await run_latency(
                    kafka, variant, rate=rate, seconds=config.latency_seconds, workdir=workdir,
                    round_no=round_no,
                )  # fmt: skip
                _say(f"  p50 {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms, "
                     f"{run.received}/{run.sent}")  # fmt: skip
                results.latency.append(replace(run, rtt_ms=rtt))


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
