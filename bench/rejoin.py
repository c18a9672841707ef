"""``python -m bench.rejoin``: how long a group takes to recover after one member is SIGKILLed.

Two members of one consumer group (each a process running a stream service) share a
4-partition topic. One is SIGKILLed and started again at once; at the kill, one message
goes to every partition. Recovery: from the kill until all of them were handled. Without
static membership the new process is a new member: the group waits for the dead one's
session timeout before it rebalances. With ``ConsumerOptions(group_instance_id=...)`` it
takes back its partitions as soon as it has joined, and the other member is not disturbed.
Both runs use the same session timeout (``--session-timeout-ms``, Kafka's 10 s default);
a static member that takes longer than that to come back is dropped and the group
rebalances after all.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import queue
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

from bench.broker import BenchKafka, fresh_name, local_broker
from stream.core import Message  # a handler annotation, resolved in this module

__all__ = ("main",)

_PARTITIONS = 4
_WAIT = 120.0


class Member:
    """One member process; its output lines are read in a thread."""

    def __init__(self, settings: Sequence[str], instance: str | None) -> None:
        command = [sys.executable, "-m", "bench.rejoin", "--child", *settings]
        command += [instance] if instance else []
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.read_at: list[float] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())

    def next_line(self, timeout: float) -> str | None:
        """The next line, kept in ``seen``; ``None`` after ``timeout`` without one."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            return None
        self.seen.append(line)
        self.read_at.append(time.monotonic())
        return line

    def wait_for(self, text: str) -> None:
        """Waits for a line containing ``text``."""
        deadline = time.monotonic() + _WAIT
        while time.monotonic() < deadline:
            line = self.next_line(0.05)
            if line is not None and text in line:
                return
        raise RuntimeError(f"no {text!r} within {_WAIT:.0f} s: {self.seen[-5:]}")

    def drain(self) -> None:
        """Reads the lines waiting into ``seen``."""
        while self.next_line(0) is not None:
            pass

    def kill(self) -> None:
        """SIGKILL: no commit, no goodbye to the group."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


def _handled(members: Sequence[Member], seqs: set[int]) -> None:
    deadline = time.monotonic() + _WAIT
    left = set(seqs)
    while left and time.monotonic() < deadline:
        for member in members:
            line = member.next_line(0.01)
            if line is not None and line.startswith("handled "):
                left.discard(int(line.split()[1]))
    if left:
        raise RuntimeError(f"never handled {sorted(left)}")


async def _produce(bootstrap: str, topic: str, seqs: Sequence[int]) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for seq in seqs:
            await producer.send_and_wait(topic, str(seq).encode(), partition=seq % _PARTITIONS)
    finally:
        await producer.stop()


def _one_run(bootstrap: str, session_timeout_ms: int, *, static: bool) -> tuple[float, float, bool]:
    """Seconds from SIGKILL to every partition handled again and to the restarted
    member's assignment; whether the survivor's partitions were revoked meanwhile."""
    topic, group = fresh_name("rejoin"), fresh_name("rejoin-group")

    async def setup() -> None:
        async with BenchKafka(bootstrap) as kafka:
            await kafka.create_topics(topic, partitions=_PARTITIONS)

    asyncio.run(setup())
    settings = (bootstrap, topic, group, str(session_timeout_ms))
    first = Member(settings, "a" if static else None)
    first.wait_for("partitions assigned")
    second = Member(settings, "b" if static else None)
    members = [first, second]
    try:
        second.wait_for("partitions assigned")
        first.wait_for("partitions assigned")

        asyncio.run(_produce(bootstrap, topic, range(_PARTITIONS)))
        _handled(members, set(range(_PARTITIONS)))
        second.drain()
        before = len(second.seen)
        batch = range(_PARTITIONS, 2 * _PARTITIONS)
        killed = time.monotonic()
        first.kill()
        members[0] = Member(settings, "a" if static else None)
        asyncio.run(_produce(bootstrap, topic, batch))
        _handled(members, set(batch))
        recovered = time.monotonic() - killed
        second.drain()
        revoked = any("partitions revoked" in line for line in second.seen[before:])
        restarted = members[0]
        assigned = next(
            at
            for at, line in zip(restarted.read_at, restarted.seen, strict=True)
            if "partitions assigned" in line
        )
        return recovered, assigned - killed, revoked
    finally:
        for member in members:
            member.kill()


def _child(settings: Sequence[str]) -> None:
    bootstrap, topic, group, session_timeout_ms, *instance = settings
    import logging

    from stream import core
    from stream.core import consume
    from stream.kafka import ConsumerOptions, KafkaBroker

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)

    class Member(core.Service):
        broker = KafkaBroker(
            bootstrap,
            consumer=ConsumerOptions(
                group_instance_id=instance[0] if instance else None,
                session_timeout_ms=int(session_timeout_ms),
            ),
        )

        @consume(topic, group_id=group)
        async def on_record(self, msg: bytes, message: Message) -> None:
            print(f"handled {msg.decode()} on {message.partition}", flush=True)

    asyncio.run(Member().run())


def main(argv: Sequence[str] | None = None) -> None:
    """Measures recovery with and without static membership; prints the medians."""
    parser = argparse.ArgumentParser(prog="python -m bench.rejoin", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bootstrap-servers")
    parser.add_argument("--session-timeout-ms", type=int, default=10_000)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child)
        return
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    with local_broker(args.bootstrap_servers) as network:
        bootstrap = network.bootstrap_at(0)
        results: dict[bool, list[tuple[float, float, bool]]] = {False: [], True: []}
        for round_no in range(args.rounds):
            for static in (False, True):
                run = _one_run(bootstrap, args.session_timeout_ms, static=static)
                results[static].append(run)
                name = "static" if static else "dynamic"
                print(f"round {round_no + 1} {name:>7}: recovered in {run[0]:.2f} s; restarted "
                      f"member assigned after {run[1]:.2f} s; survivor's partitions revoked: "
                      f"{run[2]}", flush=True)  # fmt: skip
    for static, runs in results.items():
        name = "group_instance_id" if static else "no group_instance_id"
        print(f"{name:>22}: median {statistics.median(r[0] for r in runs):.2f} s to recover")


if __name__ == "__main__":
    main()
