"""How big a benchmark run is: the full run for the docs, or the quick one CI runs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from bench.launch import EXTRA_VARIANTS, MODE_VARIANTS, VARIANTS

__all__ = ("BenchConfig",)


@dataclass(frozen=True, kw_only=True)
class BenchConfig:
    """The sizes of one benchmark run.

    Attributes:
        quick: The CI-sized run (small N, one round).
        messages: N, the throughput job's message count.
        rounds: Throughput rounds; each round runs every variant once, in turn.
        variants: The throughput variants, in the order each round runs them.
        rtts_ms: The network round trips, in ms; throughput and latency run once at each
            (scale, profile and the in-memory chain at the first only).
        cut_seconds: A throughput run stops this long after its first record; the rate
            so far is its figure. Bounds the variants that await each send (FastStream at
            2 ms takes minutes for 100,000) or each message's I/O.
        latency_variants: The variants measured at a fixed rate.
        latency_rates: Messages per second of the latency runs, one series per rate.
        latency_seconds: How long the measured part of a latency run sends.
        latency_rounds: Latency rounds; each runs every variant at every rate once.
        scale_messages: N of the payload-size runs.
        scale_rounds: Rounds of the scale runs.
        payload_sizes: Input body sizes, in bytes, of the payload-size runs.
        payload_variants: The variants of the payload-size runs.
        workers: ``stream run --workers`` counts compared.
        profile: Also profile stream's per-message path with pyinstrument.
        memchain_messages: Messages through the in-memory chain per run.
        memchain_rounds: Rounds of the in-memory chain; each runs both test brokers.
        out_dir: Where results.md, results.png and results.json go.
    """

    quick: bool = False
    messages: int = 100_000
    rounds: int = 3
    variants: tuple[str, ...] = (*VARIANTS, *EXTRA_VARIANTS, *MODE_VARIANTS)
    rtts_ms: tuple[float, ...] = (0.0, 2.0)
    cut_seconds: float = 10.0
    latency_variants: tuple[str, ...] = VARIANTS
    # 1,000/s is the rate the targets name; 100/s shows the latency floor when idle.
    latency_rates: tuple[int, ...] = (1_000, 100)
    latency_seconds: float = 8.0
    latency_rounds: int = 2
    scale_messages: int = 30_000
    scale_rounds: int = 1
    payload_sizes: tuple[int, ...] = (100, 1_000, 10_000)
    payload_variants: tuple[str, ...] = ("stream", "raw")
    workers: tuple[int, ...] = (1, 2)
    profile: bool = True
    memchain_messages: int = 5_000
    memchain_rounds: int = 3
    out_dir: Path = Path("docs/bench")

    @classmethod
    def for_mode(cls, *, quick: bool) -> BenchConfig:
        """The full run (~25 min on 2 shared cores), or the quick one (a few minutes)."""
        if not quick:
            return cls()
        return cls(
            quick=True,
            messages=2_000,
            rounds=1,
            variants=(*VARIANTS, *MODE_VARIANTS),
            rtts_ms=(0.0,),
            latency_variants=("stream", "faststream"),
            latency_rates=(200,),
            latency_seconds=3.0,
            latency_rounds=1,
            scale_messages=2_000,
            scale_rounds=1,
            payload_sizes=(1_000,),
            profile=False,
            memchain_messages=500,
            memchain_rounds=1,
        )

    def with_overrides(self, **changes: object) -> BenchConfig:
        """A copy with the given fields changed (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]
