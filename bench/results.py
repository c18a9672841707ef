"""Everything one benchmark run measured, and the summary numbers drawn from it."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.latency import LatencyRun
from bench.memchain import MemChainRun, median_rate
from bench.profile import ProfileSummary
from bench.scale import ScaleResults
from bench.throughput import ThroughputRun

__all__ = ("MODE_RATIOS", "BenchResults", "LatencySummary", "from_json", "median", "ratio")


# Ratio name -> (variant over, variant under): the modes issue 13 sets targets for.
MODE_RATIOS = {
    "cpu_c8_over_c1": ("stream_c8", "stream"),
    "io_c8_over_c1": ("stream_io_c8", "stream_io_c1"),
    "eos_over_alo": ("stream_eos", "stream"),
}


def median(values: Iterable[float | None]) -> float | None:
    """The median of the values that exist, or ``None``."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def ratio(top: float | None, bottom: float | None) -> float | None:
    """``top / bottom`` when both exist."""
    return top / bottom if top is not None and bottom else None


@dataclass(frozen=True, kw_only=True)
class LatencySummary:
    """One rate and variant's latency runs merged: medians of p50 and p99, the worst max."""

    rate: int
    variant: str
    sent: int
    received: int
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    p99_each: list[float]
    errors: list[str]


@dataclass(kw_only=True)
class BenchResults:
    """One benchmark run's measurements."""

    meta: dict[str, Any]
    throughput: list[ThroughputRun] = field(default_factory=list)
    latency: list[LatencyRun] = field(default_factory=list)
    scale: ScaleResults | None = None
    profile: ProfileSummary | None = None
    memchain: list[MemChainRun] = field(default_factory=list)

    def rtts(self) -> list[float]:
        """The round trips measured, in the order they ran."""
        found = [r.rtt_ms for r in self.throughput] + [r.rtt_ms for r in self.latency]
        return list(dict.fromkeys(found)) or [0.0]

    def at_rtt(self, rtt_ms: float) -> BenchResults:
        """The throughput and latency runs at one round trip; the sections run once (scale,
        profile, the in-memory chain) only in the view of the first."""
        first = rtt_ms == self.rtts()[0]
        return BenchResults(
            meta=self.meta,
            throughput=[r for r in self.throughput if r.rtt_ms == rtt_ms],
            latency=[r for r in self.latency if r.rtt_ms == rtt_ms],
            scale=self.scale if first else None,
            profile=self.profile if first else None,
            memchain=self.memchain if first else [],
        )

    def ok_runs(self, variant: str) -> list[ThroughputRun]:
        """The successful throughput runs of ``variant``."""
        return [r for r in self.throughput if r.variant == variant and r.error is None]

    def median_rate(self, variant: str) -> float | None:
        """Median messages/s of ``variant``'s throughput runs."""
        return median(r.msgs_per_s for r in self.ok_runs(variant))

    def median_rate_to_outputs(self, variant: str) -> float | None:
        """Median messages/s with the clock stopped at the last output, not the last commit."""
        return median(
            r.messages / r.seconds_to_outputs for r in self.ok_runs(variant) if r.seconds_to_outputs
        )

    def round_ratios(self, top: str, bottom: str) -> list[float]:
        """``top/bottom`` within each round: the runs closest in time, so least skewed by
        what else the machine was doing."""
        found = []
        for r in self.ok_runs(top):
            other = [o for o in self.ok_runs(bottom) if o.round == r.round]
            if other:
                found.append(r.msgs_per_s / other[0].msgs_per_s)
        return found

    def latency_rows(self) -> list[LatencySummary]:
        """The latency runs merged over rounds, per rate and variant, in run order."""
        groups: dict[tuple[int, str], list[LatencyRun]] = {}
        for run in self.latency:
            groups.setdefault((run.rate, run.variant), []).append(run)
        rows = []
        for (rate, variant), runs in groups.items():
            ok = [r for r in runs if r.error is None]
            rows.append(
                LatencySummary(
                    rate=rate,
                    variant=variant,
                    sent=sum(r.sent for r in ok),
                    received=sum(r.received for r in ok),
                    p50_ms=median(r.p50_ms for r in ok),
                    p99_ms=median(r.p99_ms for r in ok),
                    max_ms=max((r.max_ms for r in ok), default=None),
                    p99_each=[r.p99_ms for r in ok],
                    errors=[r.error for r in runs if r.error is not None],
                )
            )
        return rows

    def startup_seconds(self, variant: str) -> float | None:
        """Median spawn-to-start-line of every run of ``variant`` (one worker)."""
        runs: list[ThroughputRun | LatencyRun] = [
            *(r for r in self.throughput if r.variant == variant),
            *(r for r in self.latency if r.variant == variant),
        ]
        if self.scale is not None:
            runs += [r for r in self.scale.workers if r.workers == 1]
        return median(r.startup_seconds for r in runs)

    def summary(self) -> dict[str, Any]:
        """The headline numbers: medians and ratios."""
        variants = sorted({r.variant for r in self.throughput})
        rates = {v: self.median_rate(v) for v in variants}
        return {
            "throughput_median_msgs_per_s": rates,
            "stream_over_raw": ratio(rates.get("stream"), rates.get("raw")),
            "stream_over_faststream": ratio(rates.get("stream"), rates.get("faststream")),
            # FastStream commits on a 5 s timer; this ratio leaves that timer out.
            "stream_over_faststream_to_outputs": ratio(
                self.median_rate_to_outputs("stream"), self.median_rate_to_outputs("faststream")
            ),
            "stream_over_raw_batch": ratio(rates.get("stream"), rates.get("raw_batch")),
            "metrics_on_over_off": ratio(rates.get("stream_metrics"), rates.get("stream")),
            "metrics_on_over_off_per_round": self.round_ratios("stream_metrics", "stream"),
            "stream_over_raw_per_round": self.round_ratios("stream", "raw"),
            "stream_over_raw_batch_per_round": self.round_ratios("stream", "raw_batch"),
            "stream_over_faststream_per_round": self.round_ratios("stream", "faststream"),
            # Issue 13's targets: concurrency 8 / 1 (CPU-bound and 1 ms of I/O), EOS / ALO.
            **{
                f"{name}": ratio(rates.get(top), rates.get(bottom))
                for name, (top, bottom) in MODE_RATIOS.items()
            },
            **{
                f"{name}_per_round": self.round_ratios(top, bottom)
                for name, (top, bottom) in MODE_RATIOS.items()
            },
            "peak_rss_mb": {
                v: _mb(median(r.peak_rss_bytes for r in self.ok_runs(v))) for v in variants
            },
            "startup_seconds": {v: self.startup_seconds(v) for v in variants},
            "startup_stream_over_faststream": ratio(
                self.startup_seconds("stream"), self.startup_seconds("faststream")
            ),
            "memchain_msgs_per_s": {
                v: median_rate(self.memchain, v) for v in ("stream", "faststream")
            },
            "memchain_stream_over_faststream": ratio(
                median_rate(self.memchain, "stream"), median_rate(self.memchain, "faststream")
            ),
        }

    def to_json(self) -> dict[str, Any]:
        """Everything, as plain data."""
        return {
            "meta": self.meta,
            # Medians never mix round trips: the headline is the first one's.
            "summary": self.at_rtt(self.rtts()[0]).summary(),
            "summary_by_rtt_ms": {str(rtt): self.at_rtt(rtt).summary() for rtt in self.rtts()},
            "throughput": [asdict(r) for r in self.throughput],
            "latency": [asdict(r) for r in self.latency],
            "scale": asdict(self.scale) if self.scale is not None else None,
            "profile": asdict(self.profile) if self.profile is not None else None,
            "memchain": [asdict(r) for r in self.memchain],
        }


def from_json(data: dict[str, Any]) -> BenchResults:
    """Rebuilds results written by :meth:`BenchResults.to_json` (to redraw the report)."""
    scale = data.get("scale")
    profile = data.get("profile")
    return BenchResults(
        meta=data["meta"],
        throughput=[ThroughputRun(**run) for run in data["throughput"]],
        latency=[LatencyRun(**run) for run in data["latency"]],
        scale=ScaleResults(
            workers=[ThroughputRun(**run) for run in scale["workers"]],
            payloads=[ThroughputRun(**run) for run in scale["payloads"]],
            notes=scale["notes"],
        )
        if scale
        else None,
        profile=ProfileSummary(
            run=ThroughputRun(**profile["run"]),
            sampled_seconds=profile["sampled_seconds"],
            layers=[(name, s, us) for name, s, us in profile["layers"]],
            functions=[(name, s, us) for name, s, us in profile["functions"]],
            text=profile["text"],
        )
        if profile
        else None,
        memchain=[MemChainRun(**run) for run in data.get("memchain", [])],
    )


def _mb(value: float | None) -> float | None:
    return None if value is None else value / 2**20
