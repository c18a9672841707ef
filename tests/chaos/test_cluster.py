"""The promises of DESIGN.md on a three-node cluster, under broker failover and network faults.

The same pipeline, workload and checker as ``test_chaos.py``, on the session's cluster
(tests/cluster.py: three KRaft nodes, RF 3, ``min.insync.replicas=2``); the input,
output and dead-letter topics have 3 partitions, each replicated three times. The
workers bootstrap through the fault proxy, so network faults hit the service and never
the brokers' replication; the producer and the reader of the harness talk to the nodes
directly.

What must hold in every row: nothing lost, no order violation per key, every poison and
malformed record dead-lettered, the service never exits on its own; exactly-once also
repeats nothing. A plain ``pytest`` runs two representative rows (the input leader's
SIGKILL under exactly-once, a 5 s blackhole under at-least-once); ``pytest -m cluster``
runs them all.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from stream.kafka_local import KafkaNode, LocalKafka
from tests.chaos.harness import ChaosRun, Result, Scenario, run_scenario
from tests.chaos.workload import Workload
from tests.cluster import Admin

pytestmark = [pytest.mark.anyio, pytest.mark.kafka, pytest.mark.chaos, pytest.mark.cluster]

SEED = int(os.environ.get("STREAM_CHAOS_SEED", random.randrange(2**31)))
DOWN = 3.0
"""Seconds a crashed node stays down before it is started again (its start takes longer)."""
BLACKHOLE = 5.0
SPIKE = 2.0
SPIKE_LATENCY = 0.2


async def _blocking(action: Callable[[], Any]) -> None:
    await anyio.to_thread.run_sync(action)


async def _crash_and_return(run: ChaosRun, admin: Admin, node: KafkaNode, what: str) -> None:
    """SIGKILL ``node``, leave it down for a while, start it, wait for in-sync replicas."""
    await run.fault(f"SIGKILL {what} (node {node.node_id})", lambda: _blocking(node.kill))
    await anyio.sleep(DOWN)  # the fault itself: a crashed host stays away a while
    await run.fault(f"node {node.node_id} returns", lambda: _blocking(node.start))
    await admin.wait_in_sync(run.topics)


async def input_leader_sigkill(run: ChaosRun) -> None:
    """SIGKILL the node leading input partition 0 mid-stream; it comes back."""
    await run.at_random(0.2, 0.35)
    async with Admin(run.kafka) as admin:
        leader = await admin.leader(run.topics[0])
        await _crash_and_return(run, admin, leader, "input leader")


async def rolling_restart(run: ChaosRun) -> None:
    """SIGTERM each node in turn, start it, wait until every replica is in sync, next."""
    await run.at_random(0.05, 0.15)
    async with Admin(run.kafka) as admin:
        for node in run.kafka.nodes:

            async def bounce(node: KafkaNode = node) -> None:
                await _blocking(node.terminate)
                await _blocking(node.start)

            await run.fault(f"SIGTERM + start node {node.node_id}", bounce)
            await admin.wait_in_sync(run.topics)


async def group_coordinator_dies(run: ChaosRun) -> None:
    """SIGKILL the node coordinating the workers' consumer group; it comes back."""
    await run.at_random(0.2, 0.35)
    async with Admin(run.kafka) as admin:
        coordinator = await admin.group_coordinator(run.group_id)
        await _crash_and_return(run, admin, coordinator, "group coordinator")


async def transaction_coordinator_dies(run: ChaosRun) -> None:
    """SIGKILL the node coordinating the workers' transactions; it comes back."""
    await run.at_random(0.2, 0.35)
    async with Admin(run.kafka) as admin:
        coordinator = await admin.transaction_coordinator()
        await _crash_and_return(run, admin, coordinator, "transaction coordinator")


async def blackhole_one_broker(run: ChaosRun) -> None:
    """Nothing passes between the service and the input leader for 5 s."""
    await run.at_random(0.2, 0.4)
    async with Admin(run.kafka) as admin:
        leader = await admin.leader(run.topics[0])

    async def blackhole() -> None:
        run.kafka.proxy.blackhole(BLACKHOLE, node=leader.node_id)
        await anyio.sleep(BLACKHOLE)  # the fault lasts this long

    await run.fault(f"{BLACKHOLE:.0f} s blackhole to node {leader.node_id}", blackhole)


async def latency_spikes(run: ChaosRun) -> None:
    """Three 2 s spikes of 200 ms added each way between the service and every broker."""
    for low, high in ((0.1, 0.2), (0.4, 0.5), (0.7, 0.8)):
        await run.at_random(low, high)

        async def spike() -> None:
            run.kafka.proxy.set_latency(SPIKE_LATENCY)
            await anyio.sleep(SPIKE)  # the spike lasts this long
            run.kafka.proxy.heal()

        await run.fault(f"{SPIKE_LATENCY * 1000:.0f} ms for {SPIKE:.0f} s", spike)


async def service_sigkill_during_failover(run: ChaosRun) -> None:
    """SIGKILL the input leader, and the worker while the partitions fail over."""
    await run.at_random(0.2, 0.35)
    async with Admin(run.kafka) as admin:
        leader = await admin.leader(run.topics[0])
        await run.fault(
            f"SIGKILL input leader (node {leader.node_id})", lambda: _blocking(leader.kill)
        )
        await run.fault("SIGKILL service", run.workers["w1"].kill)
        await anyio.sleep(DOWN)
        await run.fault(f"node {leader.node_id} returns", lambda: _blocking(leader.start))
        await admin.wait_in_sync(run.topics)


STREAM = Workload(messages=6000, rate=300.0)  # 20 s: room for a node to die and return
LONG_STREAM = Workload(messages=6000, rate=150.0)  # 40 s: a whole rolling restart in it
EXTENDED = pytest.mark.extended
CONCURRENCY = {"at_least_once": 4, "exactly_once": 2}


# The row a plain ``pytest`` runs (the input leader's crash under exactly-once, to stay
# within CI's time); every other row is extended: ``pytest -m cluster`` runs them.
DEFAULT_ROWS = {("exactly_once", "input_leader_sigkill")}


def _rows() -> list[Any]:
    rows: list[Any] = []
    both = ("at_least_once", "exactly_once")
    for name, inject, workload, guarantees in (
        ("leader SIGKILL", input_leader_sigkill, STREAM, both),
        ("blackhole 5s", blackhole_one_broker, STREAM, both),
        ("rolling restart", rolling_restart, LONG_STREAM, both),
        ("group coordinator dies", group_coordinator_dies, STREAM, both),
        ("txn coordinator dies", transaction_coordinator_dies, STREAM, both[1:]),
        ("latency 200ms", latency_spikes, STREAM, both),
        ("SIGKILL in failover", service_sigkill_during_failover, STREAM, both),
    ):
        for guarantee in guarantees:
            scenario = Scenario(
                name=f"cluster {name}",  # also in topic names: letters, digits, spaces
                guarantee=guarantee,
                inject=inject,
                workload=workload,
                concurrency=CONCURRENCY[guarantee],
                partitions=3,
                replication=3,
            )
            default = (guarantee, inject.__name__) in DEFAULT_ROWS
            rows.append(
                pytest.param(
                    scenario,
                    marks=() if default else (EXTENDED,),
                    id=f"{guarantee}-{inject.__name__}",
                )
            )
    return rows


@pytest.mark.timeout(360)
@pytest.mark.parametrize("scenario", _rows())
async def test_promises_hold_on_a_cluster(
    scenario: Scenario,
    kafka_cluster: LocalKafka,
    chaos_results: list[Result],
    artifacts: Path,
) -> None:
    result = await run_scenario(kafka_cluster, scenario, SEED, artifacts, deadline=120.0)
    chaos_results.append(result)
    counts = result.counts
    where = f"seed {SEED}; worker logs in {artifacts / 'logs'}"
    assert result.completed, f"not every record came out within the deadline ({where})"
    assert counts.lost == 0, f"lost {counts.lost_items} ({where})"
    assert counts.order_violations == 0, where
    assert counts.unexpected == 0, where
    assert counts.bad_letters == 0, f"{counts.bad_letter_reasons} ({where})"
    assert counts.dead_lettered == scenario.workload.poison + scenario.workload.malformed
    assert result.crashes == 0, f"the service exited on its own ({where})"
    if scenario.guarantee == "exactly_once":
        assert counts.duplicates == 0, where
        assert counts.letter_duplicates == 0, where
