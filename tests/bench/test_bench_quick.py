"""The benchmark harness in quick mode runs end to end, so it cannot rot unnoticed.

Nothing here is about speed: CI machines are too noisy for that. It checks that one quick
run on a real broker measured all three variants and wrote its results.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from bench.launch import MODE_VARIANTS

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_measures_all_three_variants_and_the_modes(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    # FastStream and matplotlib come with the bench dependency group, which the test command
    # installs (uv sync --all-packages --all-groups); without them the run below fails.
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            # Smaller than --quick's own sizes: every section, variant and chart still
            # runs, and 500 records or a 1 s window still give each a rate above zero.
            "--messages",
            "500",
            "--scale-messages",
            "500",
            "--latency-seconds",
            "1",
            "--bootstrap-servers",
            kafka_bootstrap,
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"

    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    runs = results["throughput"]
    assert {run["variant"] for run in runs} == {"stream", "faststream", "raw", *MODE_VARIANTS}
    for run in runs:
        assert run["error"] is None, run
        assert run["messages"] > 0 and run["msgs_per_s"] > 0, run
        assert run["rtt_ms"] == 0
    summary = results["summary_by_rtt_ms"]["0.0"]
    for ratio in ("cpu_c8_over_c1", "io_c8_over_c1", "eos_over_alo"):
        assert summary[ratio] > 0, summary
    assert {run["variant"] for run in results["latency"]} >= {"stream", "faststream"}
    assert all(run["received"] > 0 for run in results["latency"])
    assert (tmp_path / "results.md").read_text(encoding="utf-8").startswith("# Benchmark")
    for chart in ("results", "throughput", "concurrency", "eos", "startup", "memchain"):
        assert (tmp_path / f"{chart}.png").stat().st_size > 0
    chains = results["memchain"]
    assert {run["variant"] for run in chains} == {"stream", "faststream"}
    assert all(run["error"] is None and run["msgs_per_s"] > 0 for run in chains), chains


def test_the_traced_variants_run_the_whole_job(kafka_bootstrap: str, tmp_path: Path) -> None:
    # They are asked for by name only, so the default quick run above does not cover them.
    variants = ["stream", "stream_traced", "stream_traced_sampled", "stream_traced_api"]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--only",
            "throughput",
            "--messages",
            "500",
            "--variants",
            *variants,
            "--bootstrap-servers",
            kafka_bootstrap,
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"

    runs = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["throughput"]
    assert sorted(run["variant"] for run in runs) == sorted(variants)
    for run in runs:
        assert run["error"] is None, run
        assert run["outputs_at_commit"] == 500, run
    assert "stream + Tracing (SDK) / stream" in (tmp_path / "results.md").read_text()


# Extended: it starts a broker of its own behind the proxy (about a minute of CI's time);
# `-m kafka`, `-m extended` or `uv run pytest tests/bench -m kafka` run it.
@pytest.mark.extended
def test_each_round_trip_measures_every_variant_and_a_slow_one_is_cut(tmp_path: Path) -> None:
    # --rtt-ms above 0 needs the harness's own broker (it advertises the delaying proxy),
    # so this run starts one. FastStream commits every 5 s: a 3 s bound always cuts it.
    variants = ["stream", "faststream", "stream_io_c8"]
    env = {k: v for k, v in os.environ.items() if k != "STREAM_KAFKA_BOOTSTRAP"}
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "throughput", "--rtt-ms", "0", "2",
         "--messages", "400", "--cut-seconds", "3", "--variants", *variants,
         "--out", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=540, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"

    runs = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["throughput"]
    assert sorted((run["rtt_ms"], run["variant"]) for run in runs) == sorted(
        (rtt, variant) for rtt in (0.0, 2.0) for variant in variants
    )
    for run in runs:
        assert run["error"] is None and run["msgs_per_s"] > 0, run
        assert run["cut"] == (run["variant"] == "faststream"), run
        assert 0 < run["messages"] <= run["offered"] == 400, run
    page = (tmp_path / "results.md").read_text(encoding="utf-8")
    assert "| variant | median msg/s, RTT 0 ms |" in page and "RTT 2 ms" in page
