"""``python -m bench``: run the benchmark and write docs/bench/results.{md,png,json}."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from bench.broker import BOOTSTRAP_VARIABLE, local_broker
from bench.config import BenchConfig
from bench.launch import EXTRA_VARIANTS, MODE_VARIANTS, TRACING_VARIANTS, VARIANTS
from bench.report import markdown, write_results
from bench.results import from_json
from bench.run import SECTIONS, describe_machine, run_all


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="stream vs FastStream vs a raw aiokafka loop, on one Kafka broker.",
    )
    parser.add_argument("--quick", action="store_true", help="small N, one round (CI)")
    parser.add_argument("--messages", type=int, help="N of the throughput job")
    parser.add_argument("--rounds", type=int, help="throughput rounds")
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=(*VARIANTS, *EXTRA_VARIANTS, *MODE_VARIANTS, *TRACING_VARIANTS),
        help="throughput variants",
    )
    parser.add_argument(
        "--latency-rates", type=int, nargs="+", help="messages/s of the latency runs"
    )
    parser.add_argument("--latency-seconds", type=float, help="measured seconds per latency run")
    parser.add_argument("--latency-rounds", type=int, help="latency rounds")
    parser.add_argument("--scale-messages", type=int, help="N of the payload-size runs")
    parser.add_argument("--scale-rounds", type=int, help="rounds of the scale runs")
    parser.add_argument(
        "--only", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="sections to run"
    )
    parser.add_argument(
        "--bootstrap-servers",
        help="use this broker (default: $STREAM_KAFKA_BOOTSTRAP, else start a local one)",
    )
    parser.add_argument(
        "--rtt-ms",
        type=float,
        nargs="+",
        metavar="MS",
        help="network round trips between every client and the (local) broker, through a "
        "delaying proxy; throughput and latency run once at each; 0 connects directly "
        "(default: 0 2; 0 alone with --quick or on a given broker)",
    )
    parser.add_argument(
        "--cut-seconds",
        type=float,
        help="stop a throughput run this long after its first record; the rate so far is its "
        "figure (bounds FastStream at 2 ms, which awaits every send)",
    )
    parser.add_argument(
        "--redraw",
        type=Path,
        metavar="RESULTS_JSON",
        help="run nothing: rewrite results.md and the charts from a results.json",
    )
    parser.add_argument(
        "--out", type=Path, help="results folder (default: docs/bench, or a temp dir with --quick)"
    )
    return parser


def _direct_only(bootstrap: str | None) -> tuple[float, ...] | None:
    """RTT 0 alone on a broker the harness did not start (no proxy can delay it), unless
    round trips were asked for; ``None`` keeps the mode's default."""
    return (0.0,) if bootstrap or os.environ.get(BOOTSTRAP_VARIABLE) else None


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the benchmark; returns the exit code (1 if a run failed)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(args_list)
    # The harness's own clients ask for offsets of topics a variant has not written yet;
    # aiokafka warns about each such lookup, which is expected here.
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    config = BenchConfig.for_mode(quick=args.quick).with_overrides(
        messages=args.messages,
        rounds=args.rounds,
        variants=tuple(args.variants) if args.variants else None,
        latency_rates=tuple(args.latency_rates) if args.latency_rates else None,
        latency_seconds=args.latency_seconds,
        latency_rounds=args.latency_rounds,
        scale_messages=args.scale_messages,
        scale_rounds=args.scale_rounds,
        rtts_ms=tuple(args.rtt_ms) if args.rtt_ms else _direct_only(args.bootstrap_servers),
        cut_seconds=args.cut_seconds,
    )
    if args.redraw is not None:
        results = from_json(json.loads(args.redraw.read_text(encoding="utf-8")))
        results.profile = (
            None
            if results.profile is None
            else replace(results.profile, text=str(args.redraw.parent / "profile.txt"))
        )
        out = args.out or args.redraw.parent
        print("wrote " + ", ".join(str(p) for p in write_results(results, out)))
        return 0
    out = args.out or (
        Path(tempfile.mkdtemp(prefix="stream-bench-quick-")) if args.quick else config.out_dir
    )
    workdir = Path(tempfile.mkdtemp(prefix="stream-bench-work-"))
    given = args.bootstrap_servers
    with local_broker(given, config.rtts_ms) as network:
        direct = network.bootstrap_at(0)
        kafka = f"at {direct} (given)" if given else f"local broker at {direct}"
        if any(config.rtts_ms):
            kafka += (", and behind a proxy delaying every round trip for RTT "
                      + " and ".join(f"{rtt:g} ms" for rtt in config.rtts_ms if rtt))  # fmt: skip
        meta = describe_machine(config, kafka, args_list)
        results = asyncio.run(run_all(config, network, workdir, tuple(args.only), meta))
    written = write_results(results, out)
    print(markdown(results))
    print("wrote " + ", ".join(str(path) for path in written))
    print(f"process logs in {workdir}")
    failed = [r for r in results.throughput if r.error] + [r for r in results.latency if r.error]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
