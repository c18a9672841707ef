"""The promises of DESIGN.md under faults, on a real broker, with separate worker processes.

Each scenario streams 10,000 keyed, numbered records (with a few poison and malformed
ones, and handlers failing transiently at random) through the pipeline of
``tests.chaos.pipeline`` while one kind of fault is injected at random moments, then
checks every output (see ``tests.chaos.checker`` for the definitions).

What must hold:

* at-least-once: nothing lost, no order violation, under every fault; a graceful SIGTERM
  repeats nothing;
* exactly-once: nothing lost and nothing repeated in the committed output, under kill,
  rebalance and broker restart;
* every poison and malformed record on the dead-letter topic with its error headers;
  no worker dies on its own.

``STREAM_CHAOS_SEED`` replays a run (the seed is in ``artifacts/chaos/results.json``).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from stream.kafka_local import LocalKafka
from tests.chaos.harness import ChaosRun, Result, Scenario, run_scenario
from tests.chaos.workload import Workload

pytestmark = [pytest.mark.anyio, pytest.mark.kafka, pytest.mark.chaos]

SEED = int(os.environ.get("STREAM_CHAOS_SEED", random.randrange(2**31)))


async def sigkill_three_times(run: ChaosRun) -> None:
    """SIGKILL the worker at three random moments; it restarts at once each time."""
    worker = run.workers["w1"]
    for low, high in ((0.1, 0.3), (0.4, 0.6), (0.7, 0.85)):
        await run.at_random(low, high)
        await run.fault("SIGKILL", worker.kill)


async def sigkill_once_midway(run: ChaosRun) -> None:
    """SIGKILL the worker once half the items came out, then restart it (issue 3's crash
    test: it must lose none and keep per-key order; its duplicates are the redeliveries)."""
    await run.outputs(run.scenario.workload.messages // 2)
    await run.fault("SIGKILL", run.workers["w1"].kill)


async def sigterm_twice(run: ChaosRun) -> None:
    """SIGTERM (graceful) the worker at two random moments; it restarts once it exited."""
    worker = run.workers["w1"]
    for low, high in ((0.15, 0.35), (0.55, 0.75)):
        await run.at_random(low, high)
        await run.fault("SIGTERM", worker.bounce)


async def broker_restart(run: ChaosRun) -> None:
    """Stop the broker cleanly and start it again on the same data, mid-stream."""
    await run.at_random(0.2, 0.4)
    await run.fault("broker restart", run.restart_broker)


async def workers_join_and_leave(run: ChaosRun) -> None:
    """A second and a third worker join, then leave (SIGTERM), each a rebalance."""
    await run.at_random(0.05, 0.2)
    await run.fault("w2 joins", run.add_worker)
    await run.at_random(0.25, 0.4)
    await run.fault("w3 joins", run.add_worker)
    await run.at_random(0.5, 0.65)
    await run.fault("w3 leaves", run.workers["w3"].stop)
    await run.at_random(0.7, 0.85)
    await run.fault("w2 leaves", run.workers["w2"].stop)


async def no_process_faults(run: ChaosRun) -> None:
    """Only the handler's own faults: transient failures, poison and malformed input."""


BAD_INPUT = Workload(poison=25, malformed=25)
SLOW = Workload(rate=800.0)  # a worker takes 1-5 s to start: room for two to join and leave
BURST = Workload(rate=100_000.0)  # all 10,000 wait: the kill hits a worker busy with a backlog

SCENARIOS = [
    Scenario(
        name="SIGKILL once",
        guarantee="at_least_once",
        inject=sigkill_once_midway,
        workload=BURST,
        transient_rate=0.0,
    ),
    Scenario(
        name="SIGKILL x3", guarantee="at_least_once", inject=sigkill_three_times, concurrency=4
    ),
    Scenario(
        name="SIGTERM x2",
        guarantee="at_least_once",
        inject=sigterm_twice,
        concurrency=4,
        graceful=True,
    ),
    Scenario(
        name="broker restart", guarantee="at_least_once", inject=broker_restart, concurrency=4
    ),
    Scenario(
        name="rebalance",
        guarantee="at_least_once",
        inject=workers_join_and_leave,
        workload=SLOW,
        concurrency=4,
    ),
    Scenario(
        name="handler faults",
        guarantee="at_least_once",
        inject=no_process_faults,
        workload=BAD_INPUT,
        transient_rate=0.05,
        concurrency=4,
        graceful=True,
    ),
    Scenario(
        name="SIGKILL x3", guarantee="exactly_once", inject=sigkill_three_times, concurrency=2
    ),
    Scenario(
        name="rebalance",
        guarantee="exactly_once",
        inject=workers_join_and_leave,
        workload=SLOW,
        concurrency=2,
    ),
    Scenario(name="broker restart", guarantee="exactly_once", inject=broker_restart, concurrency=2),
    Scenario(
        name="handler faults",
        guarantee="exactly_once",
        inject=no_process_faults,
        workload=BAD_INPUT,
        transient_rate=0.05,
        concurrency=2,
    ),
]


@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    "scenario", SCENARIOS, ids=lambda s: f"{s.guarantee}-{s.name.replace(' ', '-')}"
)
async def test_promises_hold_under_faults(
    scenario: Scenario,
    chaos_kafka: LocalKafka,
    chaos_results: list[Result],
    artifacts: Path,
) -> None:
    result = await run_scenario(chaos_kafka, scenario, SEED, artifacts)
    chaos_results.append(result)
    counts = result.counts
    where = f"seed {SEED}; worker logs in {artifacts / 'logs'}"
    assert result.completed, f"not every record came out within the deadline ({where})"
    assert counts.lost == 0, f"lost {counts.lost_items} ({where})"
    assert counts.order_violations == 0, where
    assert counts.unexpected == 0, where
    assert counts.bad_letters == 0, f"{counts.bad_letter_reasons} ({where})"
    assert counts.dead_lettered == scenario.workload.poison + scenario.workload.malformed
    assert result.crashes == 0, f"a worker exited on its own ({where})"
    if scenario.inject is no_process_faults:
        # A poison item holds its partition for its retries (30 ms of backoff): its dead
        # letter comes as soon as the backlog before it is handled, never "later".
        assert result.poison_delay is not None and result.poison_delay < 10.0, where
    if scenario.guarantee == "exactly_once" or scenario.graceful:
        assert counts.duplicates == 0, where
        assert counts.letter_duplicates == 0, where
