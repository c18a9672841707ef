"""The results chart: throughput, CPU, latency, payload size, workers and cost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on CI or servers; must precede pyplot
import matplotlib.pyplot as plt
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, NullFormatter

from bench.results import BenchResults, median

__all__ = ("COLORS", "SHORT_NAMES", "draw_chart", "label_bars", "plain_axis", "plain_log_axis")

COLORS = {
    "stream": "#2b6cb0",
    "faststream": "#dd6b20",
    "raw": "#718096",
    "raw_batch": "#a0aec0",
    "stream_traced": "#4299e1",
    "stream_traced_sampled": "#63b3ed",
    "stream_traced_api": "#90cdf4",
    "stream_metrics": "#63b3ed",
    "stream_observed": "#3182ce",
    "stream_c8": "#2c5282",
    "stream_io_c1": "#68d391",
    "stream_io_c8": "#276749",
    "stream_eos": "#805ad5",
}
SHORT_NAMES = {
    "stream": "stream",
    "faststream": "FastStream",
    "raw": "raw aiokafka",
    "raw_batch": "raw, record\nbatches",
    "stream_traced": "stream +\nTracing (SDK)",
    "stream_traced_sampled": "stream +\nTracing (1%)",
    "stream_traced_api": "stream +\nTracing (no SDK)",
    "stream_metrics": "stream +\nmetrics",
    "stream_observed": "stream +\nTracing 1%\n+ metrics",
    "stream_c8": "stream\nconcurrency 8",
    "stream_io_c1": "stream, 1 ms I/O\nconcurrency 1",
    "stream_io_c8": "stream, 1 ms I/O\nconcurrency 8",
    "stream_eos": "stream\nexactly-once",
}
_SHORT = {**SHORT_NAMES, "raw": "raw"}


def draw_chart(results: BenchResults, path: Path) -> None:
    """Draws six panels into a PNG at ``path``."""
    figure, axes = plt.subplots(2, 3, figsize=(18, 10), layout="constrained")
    _throughput(axes[0][0], results)
    _cpu(axes[0][1], results)
    _latency(axes[0][2], results)
    _payloads(axes[1][0], results)
    _workers(axes[1][1], results)
    _cost(axes[1][2], results)
    figure.suptitle(
        f"stream vs FastStream vs raw aiokafka — {results.meta['cpus']} shared CPUs, "
        f"one local Kafka broker ({results.meta['date'][:10]})",
        fontsize=14,
    )
    figure.savefig(path, dpi=100)
    plt.close(figure)


def label_bars(ax: Any, bars: Any, fmt: str, size: int = 9) -> None:
    """Writes each bar's height above it."""
    for bar in bars:
        height = bar.get_height()
        if height > 0:
            ax.annotate(
                fmt.format(height), (bar.get_x() + bar.get_width() / 2, height),
                ha="center", va="bottom", fontsize=size, xytext=(0, 2),
                textcoords="offset points",
            )  # fmt: skip


def _throughput_variants(results: BenchResults) -> list[str]:
    return list(dict.fromkeys(r.variant for r in results.throughput))


def _throughput(ax: Any, results: BenchResults) -> None:
    variants = _throughput_variants(results)
    if not variants:
        _empty(ax, "throughput: not run")
        return
    rates = [results.median_rate(v) or 0.0 for v in variants]
    bars = ax.bar(
        [SHORT_NAMES.get(v, v) for v in variants], rates, color=[COLORS.get(v) for v in variants]
    )
    for index, variant in enumerate(variants):
        each = [r.msgs_per_s for r in results.ok_runs(variant)]
        # Beside the bar's centre, so the rounds never hide the median's label.
        ax.scatter([index + 0.3] * len(each), each, color="black", s=14, zorder=3)
    label_bars(ax, bars, "{:,.0f}")
    plain_log_axis(ax)
    ax.set_ylabel("messages/s, median (log scale; dots = each round)")
    n = results.throughput[0].messages
    summary = results.summary()
    ratios = [
        f"stream/{SHORT_NAMES[o]} {summary[f'stream_over_{o}']:.2f}x"
        for o in ("raw", "faststream")
        if summary.get(f"stream_over_{o}") is not None
    ]
    ax.set_title(f"Throughput, {n:,} msgs, first record → last commit\n" + ", ".join(ratios),
                 fontsize=11)  # fmt: skip


def _cpu(ax: Any, results: BenchResults) -> None:
    variants = _throughput_variants(results)
    cpu = [median(r.cpu_us_per_msg for r in results.ok_runs(v)) or 0.0 for v in variants]
    if not any(cpu):
        _empty(ax, "CPU per message: not measured")
        return
    bars = ax.bar(
        [SHORT_NAMES.get(v, v) for v in variants], cpu, color=[COLORS.get(v) for v in variants]
    )
    label_bars(ax, bars, "{:,.1f}")
    plain_log_axis(ax)
    ax.set_ylabel("CPU µs per message, median (log scale)")
    ax.set_title("CPU per message (user + system, service process)\nless sensitive to a busy "
                 "machine than msg/s", fontsize=11)  # fmt: skip


def _cost(ax: Any, results: BenchResults) -> None:
    variants = _throughput_variants(results)
    if not variants:
        _empty(ax, "cost: not measured")
        return
    summary = results.summary()
    rss = [summary["peak_rss_mb"].get(v) or 0.0 for v in variants]
    bars = ax.bar(
        [SHORT_NAMES.get(v, v) for v in variants], rss, color=[COLORS.get(v) for v in variants]
    )
    for bar, variant in zip(bars, variants, strict=True):
        startup = summary["startup_seconds"].get(variant)
        text = f"{bar.get_height():.0f} MB" + (f"\nstart {startup:.2f} s" if startup else "")
        ax.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center",
                    va="bottom", fontsize=9, xytext=(0, 2), textcoords="offset points")  # fmt: skip
    plain_axis(ax)
    ax.margins(y=0.25)
    ax.set_ylabel("peak RSS, MB")
    ax.set_title("Cost: peak RSS and spawn-to-started", fontsize=11)


def _latency(ax: Any, results: BenchResults) -> None:
    runs = results.latency_rows()
    if not runs:
        _empty(ax, "latency: not run")
        return
    xs = range(len(runs))
    width = 0.38
    colors = [COLORS.get(r.variant) for r in runs]
    p50 = ax.bar([x - width / 2 for x in xs], [r.p50_ms or 0.0 for r in runs], width,
                 color=colors, alpha=0.5)  # fmt: skip
    p99 = ax.bar([x + width / 2 for x in xs], [r.p99_ms or 0.0 for r in runs], width,
                 color=colors)  # fmt: skip
    label_bars(ax, p50, "{:,.1f}", size=8)
    label_bars(ax, p99, "{:,.1f}", size=8)
    ax.set_xticks(list(xs), [f"{_SHORT.get(r.variant, r.variant)}\n{r.rate:,}/s" for r in runs])
    plain_log_axis(ax)
    ax.set_ylabel("ms, send to output read (log scale)")
    ax.legend(
        handles=[Patch(color="#a0aec0", label="p50"), Patch(color="#2d3748", label="p99")],
        loc="upper left", fontsize=9,
    )  # fmt: skip
    ax.set_title("End-to-end latency at fixed rates\n(median of the rounds)", fontsize=11)


def _payloads(ax: Any, results: BenchResults) -> None:
    runs = results.scale.payloads if results.scale is not None else []
    if not runs:
        _empty(ax, "payload sizes: not run")
        return
    sizes = sorted({r.payload_bytes for r in runs})
    variants = list(dict.fromkeys(r.variant for r in runs))
    width = 0.8 / len(variants)
    for index, variant in enumerate(variants):
        rates = [
            median(r.msgs_per_s for r in runs
                   if r.variant == variant and r.payload_bytes == size and r.error is None) or 0
            for size in sizes
        ]  # fmt: skip
        xs = [i + (index - (len(variants) - 1) / 2) * width for i in range(len(sizes))]
        bars = ax.bar(xs, rates, width, label=SHORT_NAMES.get(variant, variant),
                      color=COLORS.get(variant))  # fmt: skip
        label_bars(ax, bars, "{:,.0f}")
    ax.set_xticks(range(len(sizes)), [f"{s:,} B" for s in sizes])
    plain_axis(ax)
    ax.set_ylabel("messages/s")
    ax.legend(fontsize=9)
    ax.set_title("Throughput by payload size", fontsize=11)


def _workers(ax: Any, results: BenchResults) -> None:
    scale = results.scale
    runs = scale.workers if scale is not None else []
    if not runs:
        _empty(ax, "; ".join(scale.notes) if scale is not None else "workers: not run")
        return
    counts = sorted({r.workers for r in runs})
    rates = [
        median(r.msgs_per_s for r in runs if r.workers == w and r.error is None) or 0
        for w in counts
    ]
    bars = ax.bar([f"--workers {w}" for w in counts], rates, color=COLORS["stream"])
    label_bars(ax, bars, "{:,.0f}")
    plain_axis(ax)
    ax.set_ylabel("messages/s")
    ax.set_title(
        f"stream run --workers, {runs[0].messages:,} msgs, 4 partitions\n"
        f"({results.meta['cpus']} CPUs, shared with the broker and the harness)",
        fontsize=11,
    )


def plain_log_axis(ax: Any) -> None:
    """A log axis labelled 1, 10, 100... rather than 10⁰, 10¹, 10²."""
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    # Room above the tallest bar for its label (margins() works on a linear scale only).
    low, high = ax.get_ylim()
    ax.set_ylim(low, high * 3)


def plain_axis(ax: Any) -> None:
    """A linear axis labelled 1,000 rather than 1e3, with room above the bars."""
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.margins(y=0.12)


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, transform=ax.transAxes)
    ax.set_axis_off()
