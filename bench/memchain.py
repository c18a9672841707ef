"""The in-memory broker a user's test suite runs on: stream's ``TestBroker`` vs FastStream's.

The chain: publish to ``in``; a handler validates, adds one and produces to ``mid``; a
second handler validates that. Each side uses its own test broker with its defaults
(stream's ``TestBroker``, FastStream's ``TestKafkaBroker``), in a fresh process per run, the
variants taking turns. The clock runs over ``N`` awaited publishes, each of which returns
once both handlers ran. ``python -m bench.memchain`` prints the table on its own.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import anyio

from bench.models import DataBasic, bump

__all__ = ("MEMCHAIN_VARIANTS", "MemChainRun", "run_memchain")

MEMCHAIN_VARIANTS = ("stream", "faststream")
_WARM_UP = 200


@dataclass(frozen=True, kw_only=True)
class MemChainRun:
    """One process's pass through the chain.

    Attributes:
        variant: ``stream`` or ``faststream``.
        round: Which round (each round runs every variant once).
        messages: Messages published (after the warm-up).
        msgs_per_s: Messages through both handlers per second.
        error: What went wrong, if the run failed.
    """

    variant: str
    round: int
    messages: int
    msgs_per_s: float | None
    error: str | None = None


async def _stream_chain(messages: int) -> float:
    from stream.core import Service, consume, produce
    from stream.testing import TestBroker

    class Chain(Service):
        @produce("mid")
        @consume("in")
        async def first(self, msg: DataBasic) -> DataBasic:
            return bump(msg)

        @consume("mid")
        async def second(self, msg: DataBasic) -> None:
            return None

    async with TestBroker(Chain()) as service:
        return await _timed(lambda: service.publish(DataBasic(data=0.5), "in"), messages)


async def _faststream_chain(messages: int) -> float:
    from faststream.kafka import KafkaBroker, TestKafkaBroker

    broker = KafkaBroker(logger=None)

    @broker.subscriber("in")
    @broker.publisher("mid")
    async def first(msg: DataBasic) -> DataBasic:
        return bump(msg)

    @broker.subscriber("mid")
    async def second(msg: DataBasic) -> None:
        return None

    async with TestKafkaBroker(broker) as test_broker:
        return await _timed(lambda: test_broker.publish(DataBasic(data=0.5), "in"), messages)


async def _timed(publish: Callable[[], Awaitable[object]], messages: int) -> float:
    for _ in range(_WARM_UP):
        await publish()
    started = time.perf_counter()
    for _ in range(messages):
        await publish()
    return messages / (time.perf_counter() - started)


_CHAINS = {"stream": _stream_chain, "faststream": _faststream_chain}


def _child(variant: str, messages: int) -> None:
    rate = anyio.run(_CHAINS[variant], messages)
    print(json.dumps({"msgs_per_s": rate}))


def run_memchain(messages: int, rounds: int) -> list[MemChainRun]:
    """Runs the chain ``rounds`` times per variant, each in a fresh process."""
    runs = []
    for round_no in range(rounds):
        for variant in MEMCHAIN_VARIANTS:
            command = [sys.executable, "-m", "bench.memchain", "--child", variant]
            done = subprocess.run(
                [*command, "--messages", str(messages)],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                error = (done.stderr.strip().splitlines() or ["no output"])[-1]
                runs.append(MemChainRun(variant=variant, round=round_no, messages=messages,
                                        msgs_per_s=None, error=error))  # fmt: skip
                continue
            rate = json.loads(done.stdout.strip().splitlines()[-1])["msgs_per_s"]
            runs.append(MemChainRun(variant=variant, round=round_no, messages=messages,
                                    msgs_per_s=rate))  # fmt: skip
    return runs


def median_rate(runs: Sequence[MemChainRun], variant: str) -> float | None:
    """Median messages/s of ``variant``'s successful runs."""
    rates = [r.msgs_per_s for r in runs if r.variant == variant and r.msgs_per_s is not None]
    return statistics.median(rates) if rates else None


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m bench.memchain [--messages N] [--rounds R]``: prints the rates and ratio."""
    parser = argparse.ArgumentParser(prog="python -m bench.memchain", description=__doc__)
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=MEMCHAIN_VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.messages)
        return
    runs = run_memchain(args.messages, args.rounds)
    for run in runs:
        shown = f"{run.msgs_per_s:,.0f} msg/s" if run.msgs_per_s else f"FAILED: {run.error}"
        print(f"round {run.round + 1} {run.variant:>10}: {shown}")
    stream, faststream = median_rate(runs, "stream"), median_rate(runs, "faststream")
    if stream and faststream:
        print(f"median: stream {stream:,.0f}, FastStream {faststream:,.0f} msg/s; "
              f"stream/FastStream {stream / faststream:.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
