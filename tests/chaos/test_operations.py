"""Ordinary operations that must keep every promise: a rolling deploy and a broker outage.

Rows of the chaos table apart from the random faults of ``test_chaos`` (issue 11):

* **rolling deploy** — a new instance joins while the old one drains on SIGTERM, twice:
  lost 0, duplicates 0 (a graceful hand-over repeats nothing), order per key kept;
* **broker down 90 s** — the broker is gone for 90 s mid-stream (longer than the
  producer's 40 s request timeout, so outputs in flight fail) and comes back on the same
  data: no worker exits, lost 0, order per key kept, and exactly-once repeats nothing.

Both run at-least-once and exactly-once. The two outage rows share one outage (their
pipelines run at the same time), so the suite waits 90 s once, not twice.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from stream.kafka_local import LocalKafka
from tests.chaos.harness import ChaosRun, Result, Scenario, run_scenario
from tests.chaos.workload import Workload

pytestmark = [pytest.mark.anyio, pytest.mark.kafka, pytest.mark.chaos]

SEED = 11
DOWN = 90.0
"""Seconds the broker is away."""
SLOW = Workload(rate=800.0)  # 12.5 s of input: room for two deploys, each 1-5 s
BURST = Workload(rate=100_000.0)  # all 10,000 wait: the outage finds a backlog


async def rolling_deploys(run: ChaosRun) -> None:
    """Twice: the next instance starts while the current one gets SIGTERM and drains."""
    for current, low, high in (("w1", 0.15, 0.3), ("w2", 0.5, 0.65)):
        await run.at_random(low, high)
        async with anyio.create_task_group() as deploy:
            deploy.start_soon(run.fault, f"{current} drains, next joins", run.workers[current].stop)
            deploy.start_soon(run.add_worker)


class SharedOutage:
    """One broker outage for scenarios running at once: it begins once every one of them
    is a third of the way through its output, and each records it as its fault.

    Args:
        kafka: The broker to take down.
        parties: Scenarios sharing it.
    """

    def __init__(self, kafka: LocalKafka, parties: int) -> None:
        self._kafka = kafka
        self._parties = parties
        self._arrived = 0
        self._everyone = anyio.Event()
        self._over = anyio.Event()

    async def inject(self, run: ChaosRun) -> None:
        """The fault of one scenario: waits for the others, then the outage."""
        await run.outputs(run.scenario.workload.messages // 3)
        self._arrived += 1
        last = self._arrived == self._parties
        if last:
            self._everyone.set()
        await self._everyone.wait()
        await run.fault(f"broker down {DOWN:.0f} s", self._down if last else self._over.wait)

    async def _down(self) -> None:
        await anyio.to_thread.run_sync(self._kafka.kill)  # gone at once; data, ports kept
        await anyio.sleep(DOWN)  # the outage's length, not a wait for a message
        await anyio.to_thread.run_sync(self._kafka.start)
        self._over.set()


def check(result: Result, scenario: Scenario) -> None:
    """What every row here promises."""
    counts = result.counts
    where = f"worker logs in {scenario.name} / {scenario.guarantee}"
    assert result.completed, f"not every record came out within the deadline ({where})"
    assert result.crashes == 0, f"a worker exited on its own ({where})"
    assert counts.lost == 0, f"lost {counts.lost_items} ({where})"
    assert counts.order_violations == 0, where
    assert counts.unexpected == 0, where
    assert counts.dead_lettered == scenario.workload.poison + scenario.workload.malformed
    if scenario.guarantee == "exactly_once" or scenario.graceful:
        assert counts.duplicates == 0, where
        assert counts.letter_duplicates == 0, where


@pytest.mark.timeout(240)
@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
async def test_a_rolling_deploy_repeats_and_loses_nothing(
    guarantee: str, chaos_kafka: LocalKafka, chaos_results: list[Result], artifacts: Path
) -> None:
    scenario = Scenario(
        name="rolling deploy",
        guarantee=guarantee,
        inject=rolling_deploys,
        workload=SLOW,
        concurrency=4 if guarantee == "at_least_once" else 2,
        graceful=True,
    )
    result = await run_scenario(chaos_kafka, scenario, SEED, artifacts)
    chaos_results.append(result)
    check(result, scenario)


@pytest.mark.extended  # 90 s down and a broker restart: `pytest -m chaos` runs it
@pytest.mark.timeout(420)
async def test_the_service_rides_out_the_broker_down_for_90_s(
    chaos_kafka: LocalKafka, chaos_results: list[Result], artifacts: Path
) -> None:
    outage = SharedOutage(chaos_kafka, parties=2)
    scenarios = [
        Scenario(
            name=f"broker down {DOWN:.0f} s",
            guarantee=guarantee,
            inject=outage.inject,
            workload=BURST,
            concurrency=4 if guarantee == "at_least_once" else 2,
        )
        for guarantee in ("at_least_once", "exactly_once")
    ]
    results: list[Result] = []

    async def one(scenario: Scenario) -> None:
        results.append(await run_scenario(chaos_kafka, scenario, SEED, artifacts, deadline=120))

    async with anyio.create_task_group() as group:
        for scenario in scenarios:
            group.start_soon(one, scenario)
    chaos_results.extend(sorted(results, key=lambda r: r.guarantee))
    for result in results:
        check(result, next(s for s in scenarios if s.guarantee == result.guarantee))
