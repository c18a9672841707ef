"""Running a chaos scenario: worker processes, faults at random moments, and the verdict.

A scenario starts its worker processes (``python -m tests.chaos.pipeline``), a producer
writing the workload at a steady rate, and a reader tailing the output; it injects its
faults while the stream flows, waits (with a deadline) until every item came out where
it should, stops the workers gracefully, reads the topics to their end and hands
everything to the checker.

**Time to recover** of one fault: the longest any output partition went silent after
the fault was injected, while input was still flowing: from the fault to the first
output after it, or between two outputs before the next fault (or the end of input).
Outputs of one input partition land on one output partition (same key, same count).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import shutil
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from subprocess import PIPE
from typing import Any

import anyio
import anyio.abc
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from stream.kafka_local import LocalKafka
from tests.chaos.checker import Counts, Letter, Output, Sent, check, letter_name
from tests.chaos.pipeline import CONFIG_VARIABLE, RETRY, PipelineConfig
from tests.chaos.workload import Reader, Workload, produce

__all__ = ("ChaosRun", "Fault", "Result", "Scenario", "Worker", "run_scenario")

ROOT = Path(__file__).resolve().parents[2]
PARTITIONS = 4
READY_TIMEOUT = 60.0
EXIT_TIMEOUT = 45.0


@dataclass
class Fault:
    """One injected fault: what, when it began and when the injection returned."""

    name: str
    at: float
    ended: float = 0.0
    recovery: float | None = None


class Worker:
    """One worker process, supervised: restarted after the harness kills or stops it for
    a bounce, and after it dies on its own (a crash, which the result counts).

    Args:
        name: ``"w1"``, ...
        config: What it runs.
        logs: Where its log files go (one per start).
    """

    def __init__(self, name: str, config: PipelineConfig, logs: Path) -> None:
        self.name = name
        self.config = config
        self.crashes: list[int] = []
        self.exits: list[int] = []
        self.starts = 0
        self._logs = logs
        self._process: anyio.abc.Process | None = None
        self._wanted = True
        self._asked_exit = False
        self._alive = anyio.Event()
        self._exited = anyio.Event()

    async def supervise(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        """Runs the process (again and again) until :meth:`stop`; started once ready."""
        started = False
        while self._wanted:
            process = await self._spawn()
            if not started:
                task_status.started()
                started = True
            code = await process.wait()
            self.exits.append(code)
            self._process = None
            self._alive = anyio.Event()
            if not self._asked_exit:
                self.crashes.append(code)
            self._asked_exit = False
            self._exited.set()
            self._exited = anyio.Event()

    async def kill(self) -> None:
        """SIGKILL, like a crash; the supervisor starts it again at once."""
        await self._signal(hard=True)

    async def bounce(self) -> None:
        """SIGTERM (graceful stop); the supervisor starts it again once it exited."""
        await self._signal(hard=False)

    async def stop(self) -> None:
        """SIGTERM, and no restart."""
        self._wanted = False
        if self._process is not None:
            await self._signal(hard=False)

    async def _signal(self, *, hard: bool) -> None:
        await self._alive.wait()
        process = self._process
        assert process is not None
        exited = self._exited
        self._asked_exit = True
        if hard:
            process.kill()
        else:
            process.terminate()
        with anyio.move_on_after(EXIT_TIMEOUT) as scope:
            await exited.wait()
        if scope.cancelled_caught:  # a graceful stop that hangs is a finding: record it
            self.crashes.append(-999)
            process.kill()
            await exited.wait()

    async def _spawn(self) -> anyio.abc.Process:
        self.starts += 1
        log = (self._logs / f"{self.name}-{self.starts}.log").open("ab")
        env = {**os.environ, CONFIG_VARIABLE: self.config.to_env(), "PYTHONUNBUFFERED": "1"}
        try:
            process = await anyio.open_process(
                [sys.executable, "-m", "tests.chaos.pipeline"],
                stdin=None,
                stdout=PIPE,
                stderr=log,
                cwd=ROOT,
                env=env,
            )
        finally:
            log.close()
        self._process = process
        assert process.stdout is not None
        text = b""
        with anyio.move_on_after(READY_TIMEOUT):
            async for chunk in process.stdout:
                text += chunk
                if b"ready" in text:
                    break
        self._alive.set()
        return process


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """One row of the chaos table.

    Attributes:
        name: The fault, for the table.
        guarantee: ``"at_least_once"`` or ``"exactly_once"``.
        inject: Injects the faults into a :class:`ChaosRun`.
        workload: What the producer sends.
        concurrency: ``@consume(concurrency=...)`` of the pipeline.
        transient_rate: Share of items failing once or twice before they succeed.
        graceful: Whether the faults are all graceful, so no output may repeat even
            at-least-once.
        partitions: Partitions of the input, output and dead-letter topics.
        replication: Their replication factor (3 on the cluster of tests/cluster.py).
    """

    name: str
    guarantee: str
    inject: Callable[[ChaosRun], Awaitable[None]]
    workload: Workload = field(default_factory=Workload)
    concurrency: int = 1
    transient_rate: float = 0.005
    graceful: bool = False
    partitions: int = PARTITIONS
    replication: int = 1


class ChaosRun:
    """What a scenario's fault injector works with."""

    def __init__(
        self,
        kafka: LocalKafka,
        scenario: Scenario,
        rng: random.Random,
        group: anyio.abc.TaskGroup,
        logs: Path,
        topics: tuple[str, str],
        reader: Reader,
    ) -> None:
        self.kafka = kafka
        self.reader = reader
        self.scenario = scenario
        self.rng = rng
        self.workers: dict[str, Worker] = {}
        self.faults: list[Fault] = []
        self.started = time.monotonic()
        self._group = group
        self._logs = logs
        self._topics = topics
        self._group_id = f"chaos-{uuid.uuid4().hex[:8]}"

    @property
    def topics(self) -> tuple[str, str]:
        """The input and output topics."""
        return self._topics

    @property
    def group_id(self) -> str:
        """The workers' consumer group."""
        return self._group_id

    async def add_worker(self) -> Worker:
        """Starts one more worker process and returns once it is consuming."""
        name = f"w{len(self.workers) + 1}"
        source, target = self._topics
        # Behind the fault proxy when there is one: network faults hit the service only.
        proxied = self.kafka.config.proxied
        config = PipelineConfig(
            bootstrap=self.kafka.proxy.bootstrap_servers
            if proxied
            else self.kafka.bootstrap_servers,
            source=source,
            target=target,
            group=self._group_id,
            guarantee=self.scenario.guarantee,
            worker=name,
            transient_rate=self.scenario.transient_rate,
            seed=self.rng.randrange(2**32),
            concurrency=self.scenario.concurrency,
            session_timeout_ms=3000,
        )
        worker = self.workers[name] = Worker(name, config, self._logs)
        await self._group.start(worker.supervise)
        return worker

    async def at(self, fraction: float) -> None:
        """Waits for the moment ``fraction`` of the way through the input stream."""
        # The fault's moment, not a wait for a message.
        await anyio.sleep_until(self.started + fraction * self.scenario.workload.duration)

    async def outputs(self, count: int, timeout: float = 60.0) -> None:
        """Waits until ``count`` distinct items came out."""
        reader = self.reader
        if not await reader.wait_until(lambda: len(reader.output_ids) >= count, timeout):
            raise TimeoutError(f"fewer than {count} outputs after {timeout:.0f}s")

    async def at_random(self, low: float, high: float) -> None:
        """Waits for a random moment between ``low`` and ``high`` of the input stream."""
        await self.at(self.rng.uniform(low, high))

    async def fault(self, name: str, action: Callable[[], Awaitable[Any]]) -> None:
        """Injects one fault, noting when."""
        fault = Fault(name, time.time())
        self.faults.append(fault)
        await action()
        fault.ended = time.time()

    async def restart_broker(self) -> None:
        """Stops the broker cleanly and starts it on the same data and ports."""
        await anyio.to_thread.run_sync(self.kafka.restart)


@dataclass
class Result:
    """One scenario's outcome."""

    scenario: str
    guarantee: str
    counts: Counts
    faults: list[Fault]
    crashes: int
    worker_starts: int
    seconds: float
    seed: int
    completed: bool
    poison_delay: float | None = None
    """The longest from sending a poison item to its dead letter (its retries included)."""

    @property
    def recovery(self) -> float | None:
        """The longest time to recover of its faults (``None`` without faults)."""
        times = [f.recovery for f in self.faults if f.recovery is not None]
        return max(times) if times else None


async def run_scenario(
    kafka: LocalKafka, scenario: Scenario, seed: int, artifacts: Path, *, deadline: float = 90.0
) -> Result:
    """Runs ``scenario`` on ``kafka`` and checks what came out."""
    rng = random.Random(seed)
    began = time.monotonic()
    slug = f"{scenario.guarantee}-{scenario.name}".replace(" ", "-")
    logs = artifacts / "logs" / slug
    shutil.rmtree(logs, ignore_errors=True)  # the last run's logs only
    logs.mkdir(parents=True)
    source, target = await _create_topics(kafka.bootstrap_servers, slug, scenario)
    reader = Reader(kafka.bootstrap_servers, target, source + ".dlq", scenario.partitions)
    sent = Sent()
    produced = anyio.Event()
    async with anyio.create_task_group() as group:
        await group.start(reader.run)
        run = ChaosRun(kafka, scenario, rng, group, logs, (source, target), reader)
        await run.add_worker()
        run.started = time.monotonic()

        input_end = time.time() + scenario.workload.duration

        async def producer() -> None:
            nonlocal input_end
            await produce(kafka.bootstrap_servers, source, scenario.workload, rng, sent)
            input_end = time.time()
            produced.set()

        group.start_soon(producer)
        await scenario.inject(run)
        await produced.wait()
        letters = {f"{k}/{s}" for k, s in sent.poison} | sent.malformed

        def complete() -> bool:
            return sent.good <= reader.output_ids and letters <= reader.letter_names

        completed = await reader.wait_until(complete, deadline)
        with anyio.CancelScope(shield=True):
            async with anyio.create_task_group() as stopping:
                for worker in run.workers.values():
                    stopping.start_soon(worker.stop)
            await reader.read_to_end(timeout=60.0)
        group.cancel_scope.cancel()
    counts = check(sent, reader.outputs, reader.letters, source=source, attempts=RETRY.attempts)
    _write_outputs(logs / "outputs.jsonl", reader.outputs)
    _measure_recovery(run.faults, reader.outputs, input_end)
    return Result(
        scenario=scenario.name,
        guarantee=scenario.guarantee,
        counts=counts,
        faults=run.faults,
        crashes=sum(len(w.crashes) for w in run.workers.values()),
        worker_starts=sum(w.starts for w in run.workers.values()),
        seconds=time.monotonic() - began,
        seed=seed,
        completed=completed,
        poison_delay=_poison_delay(sent, reader.letters),
    )


def _poison_delay(sent: Sent, letters: list[Letter]) -> float | None:
    delays = []
    for letter in letters:
        key, _, seq = letter_name(letter).rpartition("/")
        if seq.isdigit() and (key, int(seq)) in sent.poison:
            delays.append(letter.timestamp - sent.times[key, int(seq)])
    return max(delays) if delays else None


async def _create_topics(bootstrap: str, slug: str, scenario: Scenario) -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:6]
    source, target = f"chaos-{slug}-in-{suffix}", f"chaos-{slug}-out-{suffix}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(name, scenario.partitions, scenario.replication)
                for name in (source, target, source + ".dlq")
            ]
        )
    finally:
        await admin.close()
    return source, target


def _write_outputs(path: Path, outputs: list[Output]) -> None:
    # Every output, for the post-mortem of a failed run.
    with path.open("w", encoding="utf-8") as file:
        for output in sorted(outputs, key=lambda o: (o.partition, o.offset)):
            file.write(json.dumps(asdict(output)) + "\n")


def _measure_recovery(faults: list[Fault], outputs: list[Output], input_end: float) -> None:
    by_partition: dict[int, list[float]] = {}
    for output in outputs:
        by_partition.setdefault(output.partition, []).append(output.arrived)
    for arrivals in by_partition.values():
        arrivals.sort()
    starts = sorted(f.at for f in faults)
    for fault in faults:
        later = [s for s in starts if s > fault.at]
        window_end = max(min([*later, input_end]), fault.at)
        worst = 0.0
        for arrivals in by_partition.values():
            after = [a for a in arrivals if a > fault.at]
            if not after:
                continue
            gap = after[0] - fault.at
            for previous, current in itertools.pairwise(after):
                if previous > window_end:
                    break
                gap = max(gap, current - previous)
            worst = max(worst, gap)
        fault.recovery = worst
