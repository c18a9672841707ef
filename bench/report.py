"""Writing the results: ``results.md`` (tables), ``results.json`` (raw numbers), the chart."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from bench.chart import draw_chart
from bench.launch import TRACING_VARIANTS
from bench.results import BenchResults, median, ratio
from bench.throughput import ThroughputRun

__all__ = ("markdown", "write_results")

_NAMES = {
    "stream": "stream",
    "faststream": "FastStream",
    "raw": "raw aiokafka loop",
    "raw_batch": "raw loop, record batches",
    "stream_traced": "stream + Tracing (SDK)",
    "stream_traced_sampled": "stream + Tracing (SDK, 1% sampled)",
    "stream_traced_api": "stream + Tracing (no SDK)",
    "stream_metrics": "stream, Metrics and --http on",
    "stream_observed": "stream + Tracing (1% sampled), Metrics and --http",
}


def write_results(results: BenchResults, out_dir: Path) -> list[Path]:
    """Writes results.json, results.md, results.png (and profile.txt) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "results.json", out_dir / "results.md", out_dir / "results.png"]
    written[0].write_text(json.dumps(results.to_json(), indent=2) + "\n", encoding="utf-8")
    written[1].write_text(markdown(results), encoding="utf-8")
    draw_chart(results, written[2])
    if results.profile is not None:
        written.append(out_dir / "profile.txt")
        if Path(results.profile.text).resolve() != written[-1].resolve():
            shutil.copyfile(results.profile.text, written[-1])
    return written


def markdown(results: BenchResults) -> str:
    """The results as a markdown page."""
    meta = results.meta
    lines = [
        "# Benchmark: stream vs FastStream vs a raw aiokafka loop",
        "",
        f"Run {meta['date']} with `{meta['command']}` ({'quick' if meta['quick'] else 'full'} "
        f"mode) on {meta['cpus']} CPU(s), {meta['cpu_model']}; Kafka {meta['kafka']}. Load "
        f"average {meta['load_before']} before, {meta['load_after']} after: the machine is "
        "shared, so read the ratios, not the absolute numbers.",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + ".",
        "",
        *_code(meta.get("code")),
    ]
    lines += _targets(results)
    lines += _throughput(results)
    lines += _latency(results)
    lines += _cost(results)
    lines += _scale(results)
    lines += _profile(results)
    lines += _memchain(results)
    lines += _method()
    return "\n".join(lines) + "\n"


def _code(code: dict[str, object] | None) -> list[str]:
    if not code:
        return []
    where = str(code.get("stream.kafka") or "?").removesuffix("/stream/kafka")
    root = str(Path(__file__).resolve().parent.parent)
    if where.startswith(root):
        changed = code.get("packages_changed_since_commit")
        text = f"the working tree at commit `{code.get('commit')}`" + (
            ", with uncommitted changes to packages/" if changed else ""
        )
    else:
        text = (
            f"`{where}` (a snapshot; the repository's working tree was at commit "
            f"`{code.get('commit')}`)"
        )
    return [f"Code measured: stream imported from {text}.", ""]


def _fmt(value: float | None, digits: int = 0, suffix: str = "") -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:,.{digits}f}{suffix}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _targets(results: BenchResults) -> list[str]:
    """The issue's targets, each with where this run stands."""
    summary = results.summary()
    rows = []
    for other, target in (("raw", 0.8), ("faststream", 20.0)):
        value = summary[f"stream_over_{other}"]
        if value is not None:
            shown = f"{value:.2f}"
            if other == "faststream" and summary["stream_over_faststream_to_outputs"]:
                shown += f" ({summary['stream_over_faststream_to_outputs']:.2f} to last output)"
            rows.append([
                f"throughput stream / {_NAMES[other]} ≥ {target:g}", shown,
                "met" if value >= target else "**not met**",
            ])  # fmt: skip
    p99 = {(r.variant, r.rate): r for r in results.latency_rows()}
    mine, theirs = p99.get(("stream", 1000)), p99.get(("faststream", 1000))
    if mine and theirs and mine.p99_ms is not None and theirs.p99_ms is not None:
        worse = mine.p99_ms > theirs.p99_ms or mine.received < mine.sent
        rows.append([
            "p99 latency at 1,000 msg/s ≤ FastStream's",
            f"{mine.p99_ms:,.1f} ms vs {theirs.p99_ms:,.1f} ms",
            "**not met**" if worse else "met",
        ])  # fmt: skip
    if not rows:
        return []
    return ["## Targets", "", *_table(["target", "this run", ""], rows)]


def _throughput(results: BenchResults) -> list[str]:
    if not results.throughput:
        return []
    first = results.throughput[0]
    rounds = max(r.round for r in results.throughput) + 1
    lines = [
        "## Throughput",
        "",
        f'{first.messages:,} messages `{{"data": 0.5}}` on a 4-partition topic; consume, '
        "validate, add one, produce, commit. Clock: first record received → last offset "
        f"committed (read back from the broker). {rounds} round(s), variants in turns.",
        "",
    ]
    rows = []
    for variant in _variants(results.throughput):
        runs = results.ok_runs(variant)
        failed = sum(1 for r in results.throughput if r.variant == variant and r.error)
        rows.append([
            f"**{_NAMES.get(variant, variant)}**",
            f"**{_fmt(results.median_rate(variant))}**",
            ", ".join(_fmt(r.msgs_per_s) for r in runs) + (f" ({failed} failed)" if failed else ""),
            _fmt(median(r.seconds for r in runs), 2),
            _fmt(median(r.messages / r.seconds_to_outputs for r in runs
                        if r.seconds_to_outputs), 0),
            _fmt(median(r.cpu_us_per_msg for r in runs), 1),
            _fmt(min((r.outputs_at_commit for r in runs), default=None)),
        ])  # fmt: skip
    lines += _table(
        ["variant", "median msg/s", "each round", "s to commit",
         "msg/s to last output", "CPU µs/msg", "outputs seen at commit (min)"],
        rows,
    )  # fmt: skip
    summary = results.summary()
    for other in ("raw", "faststream", "raw_batch"):
        value = summary.get(f"stream_over_{other}")
        if value is not None:
            per_round = ", ".join(f"{r:.2f}" for r in summary[f"stream_over_{other}_per_round"])
            lines.append(
                f"- **stream / {_NAMES[other]}: {value:.2f}x** (median over median; "
                f"per round: {per_round})"
            )
    metered = summary.get("metrics_on_over_off")
    if metered is not None:
        per_round = ", ".join(f"{r:.2f}" for r in summary["metrics_on_over_off_per_round"])
        lines.append(
            f"- **stream with Metrics and --http / stream: {metered:.2f}x** (per round: {per_round})"
        )
    to_outputs = summary["stream_over_faststream_to_outputs"]
    if to_outputs is not None:
        lines.append(f"- stream / FastStream with the clock stopped at the last output: "
                     f"{to_outputs:.2f}x")  # fmt: skip
    for traced in TRACING_VARIANTS:
        if value := ratio(results.median_rate(traced), results.median_rate("stream")):
            per_round = ", ".join(f"{r:.2f}" for r in results.round_ratios(traced, "stream"))
            lines.append(f"- **{_NAMES[traced]} / stream: {value:.2f}x** (per round: {per_round})")
    cpu = {v: median(r.cpu_us_per_msg for r in results.ok_runs(v)) for v in _NAMES}
    for other in ("raw", "raw_batch"):
        if (mine := cpu["stream"]) and (theirs := cpu[other]):
            lines.append(
                f"- CPU per message, stream / {_NAMES[other]}: {mine / theirs:.2f}x"
                " (what stream costs next to that loop, whatever the machine's load)"
            )
    lines.append(
        "- *msg/s to last output* stops the clock at the last output instead of the last "
        "commit: FastStream's commit waits for its 5 s auto-commit timer."
    )
    return [*lines, ""]


def _latency(results: BenchResults) -> list[str]:
    rows = results.latency_rows()
    if not rows:
        return []
    rounds = max(run.round for run in results.latency) + 1
    lines = [
        "## Latency",
        "",
        f"{results.latency[0].seconds:g} s at a fixed rate after a 1 s warm-up, {rounds} "
        "round(s); producer timestamp → output read by a consumer of the output topic (both "
        "in the harness). p50 and p99: median over the rounds; max: the worst.",
        "",
    ]
    table = []
    for row in rows:
        late = row.sent - row.received
        note = f" ({late:,} never arrived)" if late else ""
        table.append([
            f"{row.rate:,}/s", f"**{_NAMES.get(row.variant, row.variant)}**",
            f"{row.received:,} / {row.sent:,}{note}",
            _fmt(row.p50_ms, 1), f"**{_fmt(row.p99_ms, 1)}**",
            ", ".join(_fmt(p, 1) for p in row.p99_each), _fmt(row.max_ms, 1),
            "; ".join(e.splitlines()[0] for e in row.errors),
        ])  # fmt: skip
    header = ["rate", "variant", "outputs / sent", "p50 ms", "p99 ms", "p99 each round",
              "max ms", "errors"]  # fmt: skip
    return lines + _table(header, table)


def _cost(results: BenchResults) -> list[str]:
    summary = results.summary()
    startup = summary["startup_seconds"]
    rows = [
        [
            f"**{_NAMES.get(v, v)}**",
            _fmt(summary["peak_rss_mb"].get(v), 1),
            _fmt(startup.get(v), 2),
            _fmt(ratio(startup.get(v), startup.get("faststream")), 2, "x"),
            _fmt(median(r.stop_seconds for r in results.ok_runs(v)), 2),
        ]
        for v in _variants(results.throughput)
    ]
    via_cli = any(r.via_cli for r in results.throughput if r.variant == "stream")
    how = "`stream run`" if via_cli else "`python -m bench.variants.stream_app`"
    return [
        "## Cost",
        "",
        "Peak RSS of the service process (median of the throughput runs). Start-up: spawn "
        f"until the start line (for stream, {how} until `BenchService started`; the others "
        "print their own line once connected). Graceful stop: SIGTERM to exit, after the "
        "throughput run.",
        "",
        *_table(
            ["variant", "peak RSS MB", "start-up s", "start-up / FastStream's", "graceful stop s"],
            rows,
        ),
    ]


def _memchain(results: BenchResults) -> list[str]:
    runs = results.memchain
    if not runs:
        return []
    summary = results.summary()
    rates = summary["memchain_msgs_per_s"]
    rows = [
        [f"**{_NAMES[v]}** ({test_broker})", _fmt(rates.get(v), 0),
         ", ".join(_fmt(r.msgs_per_s, 0) for r in runs if r.variant == v)]
        for v, test_broker in (("stream", "`TestBroker`"), ("faststream", "`TestKafkaBroker`"))
    ]  # fmt: skip
    return [
        "## In-memory test broker",
        "",
        "What a user's test suite runs on: publish to `in`, a handler validates, adds one and "
        "produces to `mid`, a second handler validates that; each publish is awaited. "
        f"{runs[0].messages:,} messages after a warm-up, a fresh process per run. stream / "
        f"FastStream: **{_fmt(summary['memchain_stream_over_faststream'], 1, 'x')}**.",
        "",
        *_table(["test broker", "msg/s (median)", "each run"], rows),
    ]


def _scale(results: BenchResults) -> list[str]:
    scale = results.scale
    if scale is None:
        return []
    lines = ["## Scale", ""]
    lines += [f"- {note}" for note in scale.notes]
    if scale.notes:
        lines.append("")
    if scale.workers:
        base = median(r.msgs_per_s for r in scale.workers if r.workers == 1 and r.error is None)
        rows = []
        for workers in sorted({r.workers for r in scale.workers}):
            runs = [r for r in scale.workers if r.workers == workers and r.error is None]
            rate = median(r.msgs_per_s for r in runs)
            rows.append([
                f"stream `--workers {workers}`", _fmt(rate), _fmt(ratio(rate, base), 2, "x"),
                _fmt(median(r.peak_rss_bytes / 2**20 for r in runs), 1),
            ])  # fmt: skip
        lines += [f"{scale.workers[0].messages:,} messages, 4 partitions.", ""]
        lines += _table(["", "median msg/s", "vs 1 worker", "peak RSS MB (all processes)"], rows)
    if scale.payloads:
        sizes = sorted({r.payload_bytes for r in scale.payloads})
        variants = _variants(scale.payloads)
        rows = []
        for size in sizes:
            rates = {
                v: median(
                    r.msgs_per_s for r in scale.payloads
                    if r.payload_bytes == size and r.variant == v and r.error is None
                )
                for v in variants
            }  # fmt: skip
            rows.append([
                f"{size:,} B", *(_fmt(rates[v]) for v in variants),
                _fmt(ratio(rates.get("stream"), rates.get("raw")), 2, "x"),
                _fmt((rates.get("stream") or 0) * size / 2**20, 1),
            ])  # fmt: skip
        lines += [f"{scale.payloads[0].messages:,} messages per size; the filler travels on.", ""]
        header = ["payload", *(f"{_NAMES.get(v, v)} msg/s" for v in variants), "stream / raw"]
        lines += _table([*header, "stream MB/s in"], rows)
    return lines


def _profile(results: BenchResults) -> list[str]:
    profile = results.profile
    if profile is None:
        return []
    rows = [[name, _fmt(seconds, 2), _fmt(us, 1)] for name, seconds, us in profile.layers]
    top = [[f"`{name}`", _fmt(seconds, 2), _fmt(us, 1)] for name, seconds, us in profile.functions]
    return [
        "## Where stream's time goes",
        "",
        f"pyinstrument over one stream run of {profile.run.messages:,} messages "
        f"({_fmt(profile.run.msgs_per_s)} msg/s under the profiler), from the first record "
        "to shutdown; full call tree in [profile.txt](profile.txt).",
        "",
        *_table(["layer", "sampled s", "µs per message"], rows),
        *_table(["function (own time)", "sampled s", "µs per message"], top),
    ]


def _method() -> list[str]:
    return [
        "## How it is measured",
        "",
        "- Every run is a fresh process; the variants take turns within each round.",
        "- Each run consumes the same preloaded input topic with a fresh consumer group and "
        "writes to a fresh output topic.",
        "- stream: the demo's service (without its per-message log line) under `stream run`; "
        "at-least-once, the commit follows the outputs' acks.",
        "- FastStream: the same handler with `@broker.subscriber` + `@broker.publisher`, "
        'defaults, logging off, `auto_offset_reset="earliest"`. Its default '
        "`AckPolicy.ACK_FIRST` means aiokafka auto-commit every 5 s: commits do not wait for "
        "outputs, and the time to the last commit includes up to 5 s of that timer.",
        "- raw: `getmany(max_records=500)`, `model_validate_json`, `send` per record without "
        "awaiting, `gather` of the batch's futures, `commit({tp: last + 1})`; same producer "
        'durability as stream (`acks="all"`, idempotent). It does not pipeline batches.',
        "- raw loop, record batches (extra): the raw loop producing one record batch per input "
        "partition (`create_batch`/`send_batch`), as stream's sender does.",
        "- CPU µs/msg: user + system CPU of the variant's processes from their first record to "
        "the commit (from /proc), divided by N; a busy machine moves it far less than msg/s.",
        "- Source: `bench/` in the repository; rerun with `uv run python -m bench`.",
        "",
    ]


def _variants(runs: Iterable[ThroughputRun]) -> list[str]:
    seen: dict[str, None] = {}
    for run in runs:
        seen.setdefault(run.variant, None)
    return list(seen)
