"""The charts of results.md, one per section, each with a bar per network round trip.

``results.png`` (from :mod:`bench.chart`) keeps the overview at the first round trip; the
charts here put the round trips side by side: throughput, concurrency 1 vs 8, exactly-once
vs at-least-once, start-up, and the in-memory chain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

from bench.chart import (
    COLORS,
    SHORT_NAMES,
    draw_chart,
    label_bars,
    plain_axis,
    plain_log_axis,
)
from bench.launch import MODE_VARIANTS
from bench.results import BenchResults
from bench.tables import rtt_label

__all__ = ("draw_charts",)

# One shade per round trip: the direct link darkest.
_RTT_SHADES = ("#2b6cb0", "#ed8936", "#38a169", "#805ad5")


def draw_charts(results: BenchResults, out_dir: Path) -> list[Path]:
    """Draws every chart into ``out_dir``; returns the files written."""
    first = results.at_rtt(results.rtts()[0])
    draw_chart(first, out_dir / "results.png")
    written = [out_dir / "results.png"]
    for name, draw in (
        ("throughput.png", _throughput),
        ("concurrency.png", _concurrency),
        ("eos.png", _eos),
        ("startup.png", _startup),
        ("memchain.png", _memchain),
    ):
        figure, ax = plt.subplots(figsize=(11, 6), layout="constrained")
        draw(ax, results)
        figure.savefig(out_dir / name, dpi=100)
        plt.close(figure)
        written.append(out_dir / name)
    return written


def _by_rtt(
    ax: Any,
    results: BenchResults,
    variants: Sequence[str],
    value: Callable[[BenchResults, str], float | None],
    fmt: str,
) -> None:
    """Grouped bars: one group per variant, one bar per round trip."""
    rtts = results.rtts()
    width = 0.8 / len(rtts)
    for index, rtt in enumerate(rtts):
        view = results.at_rtt(rtt)
        heights = [value(view, v) or 0.0 for v in variants]
        xs = [i + (index - (len(rtts) - 1) / 2) * width for i in range(len(variants))]
        shade = _RTT_SHADES[index % len(_RTT_SHADES)]
        bars = ax.bar(xs, heights, width, label=rtt_label(rtt), color=shade)
        label_bars(ax, bars, fmt, size=8)
    ax.set_xticks(range(len(variants)), [SHORT_NAMES.get(v, v) for v in variants])
    ax.legend(fontsize=9)


def _rate(view: BenchResults, variant: str) -> float | None:
    return view.median_rate(variant)


def _rates_log(ax: Any, results: BenchResults, variants: Sequence[str]) -> None:
    """Median msg/s by round trip on a log axis: the variants differ by orders of magnitude."""
    _by_rtt(ax, results, variants, _rate, "{:,.0f}")
    plain_log_axis(ax)
    ax.set_ylabel("messages/s, median (log scale)")


def _present(results: BenchResults, variants: Sequence[str]) -> list[str]:
    found = {r.variant for r in results.throughput}
    return [v for v in variants if v in found]


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def _throughput(ax: Any, results: BenchResults) -> None:
    order = list(dict.fromkeys(r.variant for r in results.throughput))
    variants = [v for v in order if v not in MODE_VARIANTS]
    if not variants:
        _empty(ax, "throughput: not run")
        return
    _rates_log(ax, results, variants)
    ax.set_title("Throughput by network round trip: first record → last commit", fontsize=12)


def _concurrency(ax: Any, results: BenchResults) -> None:
    variants = _present(results, ("stream", "stream_c8", "stream_io_c1", "stream_io_c8"))
    if len(variants) < 2:
        _empty(ax, "concurrency: not run")
        return
    _rates_log(ax, results, variants)
    ratios = []
    for rtt in results.rtts():
        summary = results.at_rtt(rtt).summary()
        for key, label in (("cpu_c8_over_c1", "CPU c8/c1"), ("io_c8_over_c1", "I/O c8/c1")):
            if summary.get(key) is not None:
                ratios.append(f"{label} {summary[key]:.2f}x at {rtt:g} ms")
    ax.set_title("concurrency 1 vs 8, CPU-bound and 1 ms I/O handler\n" + ", ".join(ratios),
                 fontsize=12)  # fmt: skip


def _eos(ax: Any, results: BenchResults) -> None:
    variants = _present(results, ("stream", "stream_eos"))
    if len(variants) < 2:
        _empty(ax, "exactly-once: not run")
        return
    _by_rtt(ax, results, variants, _rate, "{:,.0f}")
    plain_axis(ax)
    ax.set_ylabel("messages/s, median")
    ratios = [
        f"{value:.2f}x at {rtt:g} ms"
        for rtt in results.rtts()
        if (value := results.at_rtt(rtt).summary().get("eos_over_alo")) is not None
    ]
    ax.set_title("Exactly-once / at-least-once: " + ", ".join(ratios), fontsize=12)


def _startup(ax: Any, results: BenchResults) -> None:
    variants = list(dict.fromkeys(r.variant for r in results.throughput))
    if not variants:
        _empty(ax, "start-up: not measured")
        return
    _by_rtt(ax, results, variants, BenchResults.startup_seconds, "{:.2f}")
    plain_axis(ax)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.1f}"))
    ax.set_ylabel("seconds, spawn → start line (median)")
    ax.tick_params(axis="x", labelsize=8)
    ax.set_title("Start-up by network round trip", fontsize=12)


def _memchain(ax: Any, results: BenchResults) -> None:
    summary = results.summary()
    rates = summary["memchain_msgs_per_s"]
    if not any(rates.values()):
        _empty(ax, "in-memory chain: not run")
        return
    names = {"stream": "stream TestBroker", "faststream": "FastStream TestKafkaBroker"}
    bars = ax.bar(
        [names[v] for v in names],
        [rates.get(v) or 0.0 for v in names],
        color=[COLORS[v] for v in names],
    )
    label_bars(ax, bars, "{:,.0f}")
    plain_axis(ax)
    ax.set_ylabel("messages/s through the two-handler chain (median)")
    ratio = summary["memchain_stream_over_faststream"]
    shown = f"{ratio:.1f}x" if ratio is not None else "-"
    ax.set_title(f"In-memory test broker, no Kafka: stream / FastStream {shown}", fontsize=12)
