"""Exactly-once against at-least-once on the same job, the local broker, in turns.

The bench's job (validate a reading, add one, produce it) runs as a stream service in a
fresh process per run, once with ``Guarantee.AT_LEAST_ONCE`` and once with
``Guarantee.EXACTLY_ONCE``, the order alternating between rounds. Each run reads its own
preloaded topic (4 partitions) with a fresh group. The clock and the CPU count start at
the group's first committed offset (the process is up and has joined) and stop once
every input offset is committed, as the broker says; the rate counts the records
committed in between. ``python -m bench.eos`` prints one line per run, then the medians
and the ratio exactly-once / at-least-once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import anyio

from bench.broker import PARTITIONS, BenchKafka, fresh_name, local_broker
from bench.models import DataBasic, bump
from bench.proc import cpu_seconds

__all__ = ("EosRun", "main")

GUARANTEES = ("at_least_once", "exactly_once")
_POLL = 0.02
_TIMEOUT = 600.0


@dataclass(frozen=True, kw_only=True)
class EosRun:
    """One process's run of the job.

    Attributes:
        guarantee: ``at_least_once`` or ``exactly_once``.
        round: Which round (each round runs both guarantees once).
        messages: Records committed while the clock ran.
        msgs_per_s: Those records per second.
        cpu_us_per_msg: The service process's CPU time (user + system) per record.
    """

    guarantee: str
    round: int
    messages: int
    msgs_per_s: float
    cpu_us_per_msg: float


def _serve(guarantee: str, bootstrap: str, topics: tuple[str, str, str], interval: int) -> None:
    from stream.core import DeliveryPolicy, Guarantee, Service, consume, produce
    from stream.kafka import KafkaBroker, ProducerOptions

    source, target, group = topics
    delivery = DeliveryPolicy(guarantee=Guarantee(guarantee))
    # Without --interval-ms the broker's default; main before the interval had no option.
    producer = (
        ProducerOptions() if interval < 0 else ProducerOptions(transaction_interval_ms=interval)
    )

    class Job(Service):
        broker = KafkaBroker(bootstrap, producer=producer)

        @produce(target)
        @consume(source, group_id=group, delivery=delivery)
        async def on_input_data(self, msg: DataBasic) -> DataBasic:
            return bump(msg)

    asyncio.run(Job().run())


async def _measure(
    kafka: BenchKafka, bootstrap: str, guarantee: str, messages: int, interval: int, round_: int
) -> EosRun:
    source, target, group = fresh_name("eos-in"), fresh_name("eos-out"), fresh_name("eos")
    await kafka.create_topics(source, target)
    payload = json.dumps({"data": 0.5}).encode()
    await kafka.preload(source, messages, payload)
    command = [sys.executable, "-m", "bench.eos", "--serve", guarantee, bootstrap]
    child = await anyio.open_process(
        [*command, source, target, group, "--interval-ms", str(interval)],
        stdout=None,
        stderr=None,
    )
    try:
        deadline = time.monotonic() + _TIMEOUT
        first = 0
        while not first:
            first = sum((await kafka.committed(group, source)).values())
            await asyncio.sleep(_POLL)
            if time.monotonic() > deadline or child.returncode is not None:
                raise SystemExit(f"{guarantee}: no commit (exit code {child.returncode})")
        began, cpu_before = time.perf_counter(), cpu_seconds(child.pid) or 0.0
        done = first
        while done < messages:
            await asyncio.sleep(_POLL)
            done = sum((await kafka.committed(group, source)).values())
            if time.monotonic() > deadline:
                raise SystemExit(f"{guarantee}: {done} of {messages} committed in time")
        seconds = time.perf_counter() - began
        cpu = (cpu_seconds(child.pid) or 0.0) - cpu_before
    finally:
        if child.returncode is None:
            child.terminate()
        await child.wait()
    counted = messages - first
    return EosRun(
        guarantee=guarantee,
        round=round_,
        messages=counted,
        msgs_per_s=counted / seconds,
        cpu_us_per_msg=cpu / counted * 1e6,
    )


async def _rounds(bootstrap: str, messages: int, rounds: int, interval: int) -> list[EosRun]:
    runs: list[EosRun] = []
    async with BenchKafka(bootstrap) as kafka:
        for round_ in range(rounds):
            # Turns: neither guarantee always runs on the warmer broker.
            order = GUARANTEES if round_ % 2 == 0 else GUARANTEES[::-1]
            for guarantee in order:
                run = await _measure(kafka, bootstrap, guarantee, messages, interval, round_)
                print(
                    f"round {round_} {guarantee:14} {run.msgs_per_s:9.0f} msg/s "
                    f"{run.cpu_us_per_msg:6.1f} µs CPU/msg ({run.messages} msgs)",
                    flush=True,
                )
                runs.append(run)
    return runs


def _median(runs: Sequence[EosRun], guarantee: str, field: str) -> float:
    values: list[float] = [getattr(r, field) for r in runs if r.guarantee == guarantee]
    return statistics.median(values)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m bench.eos [--messages N] [--rounds R] [--interval-ms MS]``."""
    parser = argparse.ArgumentParser(prog="python -m bench.eos", description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--interval-ms", type=int, default=-1, help="ProducerOptions.transaction_interval_ms"
    )
    parser.add_argument("--bootstrap", help="a broker to use instead of a local one")
    parser.add_argument("--serve", nargs=5, metavar="ARG", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        guarantee, bootstrap, *topics = args.serve
        _serve(guarantee, bootstrap, (topics[0], topics[1], topics[2]), args.interval_ms)
        return
    with local_broker(args.bootstrap) as network:
        runs = asyncio.run(
            _rounds(network.bootstrap_at(0), args.messages, args.rounds, args.interval_ms)
        )
    alo = _median(runs, "at_least_once", "msgs_per_s")
    eos = _median(runs, "exactly_once", "msgs_per_s")
    print(
        f"median over {args.rounds} rounds, {args.messages} msgs, {PARTITIONS} partitions: "
        f"at-least-once {alo:.0f} msg/s "
        f"({_median(runs, 'at_least_once', 'cpu_us_per_msg'):.1f} µs CPU/msg), "
        f"exactly-once {eos:.0f} msg/s "
        f"({_median(runs, 'exactly_once', 'cpu_us_per_msg'):.1f} µs CPU/msg), "
        f"ratio {eos / alo:.2f}x"
    )


if __name__ == "__main__":
    main()
