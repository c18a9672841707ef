"""Writing the results: ``results.md`` (tables), ``results.json`` (raw numbers), the chart."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path

from bench import report_rtt
from bench.chart_rtt import draw_charts
from bench.launch import TRACING_VARIANTS
from bench.results import BenchResults, median, ratio
from bench.tables import NAMES, fmt, rtt_label, table
from bench.throughput import ThroughputRun

__all__ = ("markdown", "write_results")


def write_results(results: BenchResults, out_dir: Path) -> list[Path]:
    """Writes results.json, results.md, the charts (and profile.txt) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "results.json", out_dir / "results.md"]
    written[0].write_text(json.dumps(results.to_json(), indent=2) + "\n", encoding="utf-8")
    written[1].write_text(markdown(results), encoding="utf-8")
    written += draw_charts(results, out_dir)
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
    lines += _charts(results)
    lines += report_rtt.targets(results)
    lines += report_rtt.throughput(results)
    for rtt in results.rtts():
        lines += _throughput_ratios(results.at_rtt(rtt), rtt)
    lines += report_rtt.concurrency(results)
    lines += report_rtt.exactly_once(results)
    lines += _latency(results)
    lines += report_rtt.startup(results)
    lines += _cost(results.at_rtt(results.rtts()[0]))
    lines += _scale(results)
    lines += _profile(results)
    lines += _memchain(results)
    lines += _method()
    return "\n".join(lines) + "\n"


def _charts(results: BenchResults) -> list[str]:
    first = rtt_label(results.rtts()[0])
    return [
        "Charts: [throughput by round trip](throughput.png), [concurrency 1 vs 8](concurrency.png), "
        "[exactly-once vs at-least-once](eos.png), [start-up](startup.png), [in-memory "
        f"chain](memchain.png), and [everything at {first}](results.png) (CPU per message, "
        "latency, payload sizes, workers, memory).",
        "",
    ]


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


def _throughput_ratios(results: BenchResults, rtt: float) -> list[str]:
    """The comparison's ratios at one round trip."""
    if not results.throughput:
        return []
    lines = [f"At {rtt_label(rtt)}:", ""]
    summary = results.summary()
    for other in ("raw", "faststream", "raw_batch"):
        value = summary.get(f"stream_over_{other}")
        if value is not None:
            per_round = ", ".join(f"{r:.2f}" for r in summary[f"stream_over_{other}_per_round"])
            lines.append(
                f"- **stream / {NAMES[other]}: {value:.2f}x** (median over median; "
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
                     f"{to_outputs:.2f}x (FastStream commits on a 5 s auto-commit timer)")  # fmt: skip
    for traced in TRACING_VARIANTS:
        if value := ratio(results.median_rate(traced), results.median_rate("stream")):
            per_round = ", ".join(f"{r:.2f}" for r in results.round_ratios(traced, "stream"))
            lines.append(f"- **{NAMES[traced]} / stream: {value:.2f}x** (per round: {per_round})")
    cpu = {v: median(r.cpu_us_per_msg for r in results.ok_runs(v)) for v in NAMES}
    lines.extend(
        f"- CPU per message, stream / {NAMES[other]}: {mine / theirs:.2f}x"
        " (what stream costs next to that loop, whatever the machine's load)"
        for other in ("raw", "raw_batch")
        if (mine := cpu["stream"]) and (theirs := cpu[other])
    )
    return [*lines, ""]


def _latency(results: BenchResults) -> list[str]:
    if not results.latency:
        return []
    rounds = max(run.round for run in results.latency) + 1
    lines = [
        "## Latency",
        "",
        f"{results.latency[0].seconds:g} s at a fixed rate after a 1 s warm-up, {rounds} "
        "round(s) at each round trip; producer timestamp → output read by a consumer of the "
        "output topic (both in the harness, so at RTT 2 ms the path includes at least two "
        "round trips of the harness's own). p50 and p99: median over the rounds; max: the "
        "worst.",
        "",
    ]
    body = []
    for rtt in results.rtts():
        for row in results.at_rtt(rtt).latency_rows():
            late = row.sent - row.received
            note = f" ({late:,} never arrived)" if late else ""
            body.append([
                f"{rtt:g} ms", f"{row.rate:,}/s", f"**{NAMES.get(row.variant, row.variant)}**",
                f"{row.received:,} / {row.sent:,}{note}",
                fmt(row.p50_ms, 1), f"**{fmt(row.p99_ms, 1)}**",
                ", ".join(fmt(p, 1) for p in row.p99_each), fmt(row.max_ms, 1),
                "; ".join(e.splitlines()[0] for e in row.errors),
            ])  # fmt: skip
    header = ["RTT", "rate", "variant", "outputs / sent", "p50 ms", "p99 ms", "p99 each round",
              "max ms", "errors"]  # fmt: skip
    return lines + table(header, body)


def _cost(results: BenchResults) -> list[str]:
    """Peak RSS and graceful stop, from the runs at the first round trip."""
    summary = results.summary()
    rows = [
        [
            f"**{NAMES.get(v, v)}**",
            fmt(summary["peak_rss_mb"].get(v), 1),
            fmt(median(r.stop_seconds for r in results.ok_runs(v)), 2),
        ]
        for v in _variants(results.throughput)
    ]
    if not rows:
        return []
    return [
        "## Cost",
        "",
        "Peak RSS of the service process (median of the throughput runs at "
        f"{rtt_label(results.rtts()[0])}). Graceful stop: SIGTERM to exit, after the "
        "throughput run.",
        "",
        *table(["variant", "peak RSS MB", "graceful stop s"], rows),
    ]


def _memchain(results: BenchResults) -> list[str]:
    runs = results.memchain
    if not runs:
        return []
    summary = results.summary()
    rates = summary["memchain_msgs_per_s"]
    rows = [
        [f"**{NAMES[v]}** ({test_broker})", fmt(rates.get(v), 0),
         ", ".join(fmt(r.msgs_per_s, 0) for r in runs if r.variant == v)]
        for v, test_broker in (("stream", "`TestBroker`"), ("faststream", "`TestKafkaBroker`"))
    ]  # fmt: skip
    return [
        "## In-memory test broker",
        "",
        "What a user's test suite runs on: publish to `in`, a handler validates, adds one and "
        "produces to `mid`, a second handler validates that; each publish is awaited. "
        f"{runs[0].messages:,} messages after a warm-up, a fresh process per run. stream / "
        f"FastStream: **{fmt(summary['memchain_stream_over_faststream'], 1, 'x')}**.",
        "",
        *table(["test broker", "msg/s (median)", "each run"], rows),
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
                f"stream `--workers {workers}`", fmt(rate), fmt(ratio(rate, base), 2, "x"),
                fmt(median(r.peak_rss_bytes / 2**20 for r in runs), 1),
            ])  # fmt: skip
        lines += [f"{scale.workers[0].messages:,} messages, 4 partitions.", ""]
        lines += table(["", "median msg/s", "vs 1 worker", "peak RSS MB (all processes)"], rows)
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
                f"{size:,} B", *(fmt(rates[v]) for v in variants),
                fmt(ratio(rates.get("stream"), rates.get("raw")), 2, "x"),
                fmt((rates.get("stream") or 0) * size / 2**20, 1),
            ])  # fmt: skip
        lines += [f"{scale.payloads[0].messages:,} messages per size; the filler travels on.", ""]
        header = ["payload", *(f"{NAMES.get(v, v)} msg/s" for v in variants), "stream / raw"]
        lines += table([*header, "stream MB/s in"], rows)
    return lines


def _profile(results: BenchResults) -> list[str]:
    profile = results.profile
    if profile is None:
        return []
    rows = [[name, fmt(seconds, 2), fmt(us, 1)] for name, seconds, us in profile.layers]
    top = [[f"`{name}`", fmt(seconds, 2), fmt(us, 1)] for name, seconds, us in profile.functions]
    return [
        "## Where stream's time goes",
        "",
        f"pyinstrument over one stream run of {profile.run.messages:,} messages "
        f"({fmt(profile.run.msgs_per_s)} msg/s under the profiler), from the first record "
        "to shutdown; full call tree in [profile.txt](profile.txt).",
        "",
        *table(["layer", "sampled s", "µs per message"], rows),
        *table(["function (own time)", "sampled s", "µs per message"], top),
    ]


def _method() -> list[str]:
    return [
        "## How it is measured",
        "",
        "- Every run is a fresh process; the variants take turns within each round.",
        "- RTT 0: the clients connect to the local broker directly. RTT 2 ms: through a "
        "delaying TCP proxy (`stream.kafka_local.FaultProxy`, 1 ms each way, in the harness's "
        "process) that the broker advertises on that listener, so every client of the pass, "
        "each variant's and the harness's own, pays the round trip.",
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
