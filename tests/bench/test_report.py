"""results.md and its charts from saved numbers: a column per round trip, issue 13's targets.

No broker: the numbers are made up here, so the page's arithmetic can be checked exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.__main__ import main
from bench.memchain import MemChainRun
from bench.report import write_results
from bench.results import BenchResults
from bench.throughput import ThroughputRun

# msg/s of each variant at RTT 0 and 2 ms.
_RATES = {
    "stream": (100_000.0, 40_000.0),
    "faststream": (2_000.0, 400.0),
    "raw": (30_000.0, 20_000.0),
    "stream_c8": (95_000.0, 30_000.0),  # 0.95x at 0 ms, 0.75x at 2 ms
    "stream_io_c1": (900.0, 800.0),
    "stream_io_c8": (6_300.0, 6_000.0),  # 7.0x and 7.5x
    "stream_eos": (60_000.0, 16_000.0),  # 0.6x and 0.4x
}


def _run(variant: str, rtt: float, rate: float) -> ThroughputRun:
    cut = variant == "faststream" and rtt > 0
    messages = int(rate * 15) if cut else 100_000
    return ThroughputRun(
        variant=variant, round=0, messages=messages, payload_bytes=13, workers=1,
        seconds=messages / rate, msgs_per_s=rate, seconds_to_outputs=None,
        outputs_at_commit=messages, cpu_us_per_msg=10.0, peak_rss_bytes=50 * 2**20,
        startup_seconds=1.0 + rtt / 10, stop_seconds=0.1, via_cli=True, rtt_ms=rtt, cut=cut,
        offered=100_000,
    )  # fmt: skip


def _results() -> BenchResults:
    meta = {
        "date": "2026-11-30T16:00:00+00:00", "command": "python -m bench --rtt-ms 0 2",
        "quick": False, "cpus": 2, "cpu_model": "test CPU", "kafka": "local broker",
        "versions": {"python": "3.11"}, "load_before": "1.0", "load_after": "1.0",
        "config": {"cut_seconds": 15.0},
    }  # fmt: skip
    throughput = [
        _run(variant, rtt, rates[index])
        for index, rtt in enumerate((0.0, 2.0))
        for variant, rates in _RATES.items()
    ]
    memchain = [MemChainRun(variant="stream", round=0, messages=500, msgs_per_s=12_000.0),
                MemChainRun(variant="faststream", round=0, messages=500, msgs_per_s=1_000.0)]  # fmt: skip
    return BenchResults(meta=meta, throughput=throughput, memchain=memchain)


def _row(markdown: str, starts: str) -> str:
    return next(line for line in markdown.splitlines() if line.startswith(starts))


def test_every_target_is_judged_at_the_round_trip_it_names(tmp_path: Path) -> None:
    write_results(_results(), tmp_path)
    page = (tmp_path / "results.md").read_text(encoding="utf-8")

    assert _row(page, "| target |") == "| target | RTT 0 ms | RTT 2 ms | verdict |"
    # Concurrency is judged on the 2 ms network only; the other ratios at every round trip.
    assert _row(page, "| concurrency 8 / 1, CPU-bound") == (
        "| concurrency 8 / 1, CPU-bound handler ≥ 0.9 | 0.95x | 0.75x | **not met** at 2 ms |"
    )
    assert _row(page, "| concurrency 8 / 1, handler awaiting") == (
        "| concurrency 8 / 1, handler awaiting 1 ms of I/O ≥ 5 | 7.00x | 7.50x | met at 2 ms |"
    )
    assert _row(page, "| exactly-once / at-least-once") == (
        "| exactly-once / at-least-once throughput ≥ 0.5 | 0.60x | 0.40x "
        "| met at 0 ms, **not met** at 2 ms |"
    )
    assert _row(page, "| in-memory chain") == (
        "| in-memory chain, TestBroker / TestKafkaBroker ≥ 10 | 12.00x | - | met at 0 ms |"
    )
    assert "- **1 ms I/O, c8 / c1, RTT 2 ms: 7.50x**" in page


def test_each_variant_has_a_column_per_round_trip_and_a_cut_run_is_marked(tmp_path: Path) -> None:
    write_results(_results(), tmp_path)
    page = (tmp_path / "results.md").read_text(encoding="utf-8")

    header = _row(page, "| variant | median msg/s, RTT 0 ms |")
    assert "median msg/s, RTT 2 ms" in header
    assert _row(page, "| **FastStream** |").startswith(
        "| **FastStream** | **2,000** | 2,000 | 10.0 | **400** | 400† | 10.0 |"
    )
    assert "† stopped 15.0 s after its first record" in page
    # Start-up as a ratio to FastStream's, at each round trip.
    assert _row(page, "| **stream** | 1.00 |") == "| **stream** | 1.00 | 1.00x | 1.20 | 1.00x |"
    for chart in ("results", "throughput", "concurrency", "eos", "startup", "memchain"):
        assert f"({chart}.png)" in page
        assert (tmp_path / f"{chart}.png").stat().st_size > 10_000


def test_redraw_rebuilds_the_same_page_from_results_json(tmp_path: Path) -> None:
    write_results(_results(), tmp_path / "run")
    saved = json.loads((tmp_path / "run" / "results.json").read_text(encoding="utf-8"))
    assert saved["summary_by_rtt_ms"]["2.0"]["eos_over_alo"] == 0.4

    assert main(["--redraw", str(tmp_path / "run" / "results.json"), "--out", str(tmp_path)]) == 0

    assert (tmp_path / "results.md").read_text() == (tmp_path / "run" / "results.md").read_text()
    assert (tmp_path / "concurrency.png").stat().st_size > 10_000
