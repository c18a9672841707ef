"""The parts of results.md with a column per network round trip: the targets, throughput,
concurrency and I/O, exactly-once, and start-up."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bench.launch import MODE_VARIANTS
from bench.results import BenchResults, median, ratio
from bench.tables import NAMES, fmt, rtt_label, table

__all__ = ("concurrency", "exactly_once", "startup", "targets", "throughput")

# Issue 13: measured on a 2 ms network, where waiting on the broker is most of the time.
_TARGET_RTT = 2.0


def _cell(results: BenchResults, variant: str) -> list[str]:
    """Median msg/s (bold), each round, CPU µs/msg; a run cut at its time bound gets ``†``."""
    runs = results.ok_runs(variant)
    failed = sum(1 for r in results.throughput if r.variant == variant and r.error)
    each = ", ".join(fmt(r.msgs_per_s) + ("†" if r.cut else "") for r in runs)
    return [
        f"**{fmt(results.median_rate(variant))}**",
        each + (f" ({failed} failed)" if failed else ""),
        fmt(median(r.cpu_us_per_msg for r in runs), 1),
    ]


def _by_rtt(
    results: BenchResults, variants: Sequence[str], first: Callable[[str], str]
) -> list[str]:
    rtts = results.rtts()
    header = [
        "variant",
        *(f"{part}, {rtt_label(rtt)}" for rtt in rtts
          for part in ("median msg/s", "each round", "CPU µs/msg")),
    ]  # fmt: skip
    views = [results.at_rtt(rtt) for rtt in rtts]
    rows = [[first(v), *(c for view in views for c in _cell(view, v))] for v in variants]
    return table(header, rows)


def _present(results: BenchResults, variants: Sequence[str]) -> list[str]:
    found = {r.variant for r in results.throughput}
    return [v for v in variants if v in found]


def _cut_note(results: BenchResults) -> list[str]:
    cut = [r for r in results.throughput if r.cut]
    if not cut:
        return []
    seconds = results.meta["config"].get("cut_seconds")
    return [
        f"† stopped {seconds} s after its first record (`--cut-seconds`), before the last of "
        f"{cut[0].offered:,} messages: the figure is the outputs written by then over that "
        "time (not the commits: FastStream's lag its work by up to its 5 s auto-commit "
        "interval). For exactly-once, output offsets also count one transaction marker per "
        "partition and transaction, under 1% here.",
        "",
    ]


def throughput(results: BenchResults) -> list[str]:
    """The comparison table (stream, FastStream, raw loops...), a column group per RTT."""
    variants = _present(results, [v for v in _in_order(results) if v not in MODE_VARIANTS])
    if not variants:
        return []
    offered = max(r.offered or r.messages for r in results.throughput)
    rounds = max(r.round for r in results.throughput) + 1
    return [
        "## Throughput",
        "",
        f'{offered:,} messages `{{"data": 0.5}}` (64 keys) on a 4-partition topic; consume, '
        "validate, add one, produce, commit. Clock: first record received → last offset "
        f"committed (read back from the broker). {rounds} round(s), variants in turns, at each "
        "round trip. Chart: [throughput.png](throughput.png).",
        "",
        *_by_rtt(results, variants, lambda v: f"**{NAMES.get(v, v)}**"),
        *_cut_note(results),
    ]


def concurrency(results: BenchResults) -> list[str]:
    """concurrency 1 vs 8, with the CPU-bound job and with 1 ms of I/O per message."""
    variants = _present(results, ("stream", "stream_c8", "stream_io_c1", "stream_io_c8"))
    if len(variants) < 2:
        return []
    return [
        "## Concurrency: 1 vs 8, CPU-bound and I/O-bound handler",
        "",
        "The stream job with `concurrency=8` (lanes by partition, and within a partition by "
        "key), against the same at `concurrency=1`. CPU-bound: the job as it is. I/O-bound: "
        "the handler first awaits `asyncio.sleep(0.001)`, one short call to something outside. "
        "Chart: [concurrency.png](concurrency.png).",
        "",
        *_by_rtt(results, variants, lambda v: f"**{NAMES.get(v, v)}**"),
        *_ratio_lines(
            results,
            (("cpu_c8_over_c1", "CPU-bound, c8 / c1"), ("io_c8_over_c1", "1 ms I/O, c8 / c1")),
        ),
    ]


def exactly_once(results: BenchResults) -> list[str]:
    """At-least-once (the stream job as it is) against ``Guarantee.EXACTLY_ONCE``."""
    variants = _present(results, ("stream", "stream_eos"))
    if len(variants) < 2:
        return []
    return [
        "## Exactly-once vs at-least-once",
        "",
        "The same job with `DeliveryPolicy(guarantee=Guarantee.EXACTLY_ONCE)`: outputs and the "
        "input offsets in one Kafka transaction. The harness reads `read_committed`, so the "
        "clock stops when the transaction holding the last offsets has committed. Chart: "
        "[eos.png](eos.png).",
        "",
        *_by_rtt(results, variants, lambda v: f"**{NAMES.get(v, v)}**"),
        *_ratio_lines(results, (("eos_over_alo", "exactly-once / at-least-once"),)),
    ]


def _ratio_lines(results: BenchResults, names: Sequence[tuple[str, str]]) -> list[str]:
    lines = []
    for key, label in names:
        for rtt in results.rtts():
            summary = results.at_rtt(rtt).summary()
            if summary.get(key) is not None:
                rounds = ", ".join(f"{r:.2f}" for r in summary[f"{key}_per_round"])
                lines.append(f"- **{label}, {rtt_label(rtt)}: {summary[key]:.2f}x** "
                             f"(median over median; per round: {rounds})")  # fmt: skip
    return [*lines, ""] if lines else []


def startup(results: BenchResults) -> list[str]:
    """Spawn to started, per variant and RTT, and as a ratio to FastStream's."""
    variants = _present(results, _in_order(results))
    rtts = results.rtts()
    views = [results.at_rtt(rtt) for rtt in rtts]
    rows = []
    for variant in variants:
        row = [f"**{NAMES.get(variant, variant)}**"]
        for view in views:
            seconds = view.startup_seconds(variant)
            row += [
                fmt(seconds, 2),
                fmt(ratio(seconds, view.startup_seconds("faststream")), 2, "x"),
            ]
        rows.append(row)
    header = ["variant"]
    for rtt in rtts:
        header += [f"start-up s, {rtt_label(rtt)}", f"/ FastStream's, {rtt_label(rtt)}"]
    return [
        "## Start-up",
        "",
        "Spawn until the start line (for stream, `stream run` until `<Service> started`, once "
        "its consumers are subscribed; the others print their own line once connected); the "
        "median over every run of the variant at that round trip. Chart: "
        "[startup.png](startup.png).",
        "",
        *table(header, rows),
    ]


def targets(results: BenchResults) -> list[str]:
    """The issue's targets, each with where this run stands at each round trip."""
    rtts = results.rtts()
    summaries = {rtt: results.at_rtt(rtt).summary() for rtt in rtts}
    rows = []
    for key, target, label, judged in (
        ("stream_over_raw", 0.8, "throughput stream / raw aiokafka loop", rtts),
        ("stream_over_faststream", 20.0, "throughput stream / FastStream", rtts),
        ("cpu_c8_over_c1", 0.9, "concurrency 8 / 1, CPU-bound handler", [_TARGET_RTT]),
        ("io_c8_over_c1", 5.0, "concurrency 8 / 1, handler awaiting 1 ms of I/O", [_TARGET_RTT]),
        ("eos_over_alo", 0.5, "exactly-once / at-least-once throughput", rtts),
        ("memchain_stream_over_faststream", 10.0, "in-memory chain, TestBroker / "
         "TestKafkaBroker", rtts[:1]),
    ):  # fmt: skip
        values = {rtt: summaries[rtt].get(key) for rtt in rtts}
        if all(v is None for v in values.values()):
            continue
        cells = [fmt(values[rtt], 2, "x") for rtt in rtts]
        rows.append([f"{label} ≥ {target:g}", *cells, _verdict(values, target, judged)])
    rows += _latency_target(results)
    if not rows:
        return []
    header = ["target", *(rtt_label(rtt) for rtt in rtts), "verdict"]
    return ["## Targets", "", *table(header, rows)]


def _verdict(values: dict[float, float | None], target: float, judged: Sequence[float]) -> str:
    """``met`` / ``**not met**`` at each round trip the target is judged at."""
    parts = []
    for rtt in judged:
        value = values.get(rtt)
        if value is None:
            parts.append(f"not measured at {rtt:g} ms")
        else:
            parts.append(("met" if value >= target else "**not met**") + f" at {rtt:g} ms")
    return ", ".join(parts)


def _latency_target(results: BenchResults) -> list[list[str]]:
    rtts = results.rtts()
    cells, judged = [], []
    for rtt in rtts:
        p99 = {(r.variant, r.rate): r for r in results.at_rtt(rtt).latency_rows()}
        mine, theirs = p99.get(("stream", 1000)), p99.get(("faststream", 1000))
        if mine is None or theirs is None or mine.p99_ms is None or theirs.p99_ms is None:
            cells.append("-")
            continue
        cells.append(f"{mine.p99_ms:,.1f} vs {theirs.p99_ms:,.1f} ms")
        worse = mine.p99_ms > theirs.p99_ms or mine.received < mine.sent
        judged.append(("**not met**" if worse else "met") + f" at {rtt:g} ms")
    if not judged:
        return []
    return [["p99 latency at 1,000 msg/s ≤ FastStream's", *cells, ", ".join(judged)]]


def _in_order(results: BenchResults) -> list[str]:
    return list(dict.fromkeys(r.variant for r in results.throughput))
