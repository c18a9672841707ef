"""The offset tracker: only the contiguous prefix of finished work is ever committable."""

from __future__ import annotations

import anyio
import pytest

from stream.kafka._offsets import OffsetTracker


def test_a_chunk_commits_once_all_its_units_finished() -> None:
    tracker: OffsetTracker[str] = OffsetTracker()
    chunk = tracker.open("p0", end=10, units=3)
    tracker.finish("p0", chunk)
    tracker.finish("p0", chunk)
    assert tracker.take() == {}
    tracker.finish("p0", chunk)
    assert tracker.take() == {"p0": 10}
    assert tracker.take() == {}


def test_a_later_chunk_finishing_first_waits_for_the_earlier_one() -> None:
    tracker: OffsetTracker[str] = OffsetTracker()
    first = tracker.open("p0", end=5)
    second = tracker.open("p0", end=9)
    third = tracker.open("p0", end=12)
    tracker.finish("p0", third)
    tracker.finish("p0", second)
    assert tracker.take() == {}
    assert tracker.busy(["p0"])
    tracker.finish("p0", first)
    assert tracker.take() == {"p0": 12}
    assert not tracker.busy(["p0"])


def test_partitions_are_independent() -> None:
    tracker: OffsetTracker[str] = OffsetTracker()
    slow = tracker.open("p0", end=5)
    fast = tracker.open("p1", end=7)
    tracker.finish("p1", fast)
    assert tracker.take() == {"p1": 7}
    assert tracker.busy(["p0"])
    assert not tracker.busy(["p1"])
    tracker.finish("p0", slow)
    assert tracker.take() == {"p0": 5}


def test_forgotten_partitions_never_commit_and_restore_keeps_the_newest() -> None:
    tracker: OffsetTracker[str] = OffsetTracker()
    old = tracker.open("p0", end=5)
    tracker.forget(["p0"])
    tracker.finish("p0", old)
    assert tracker.take() == {}
    done = tracker.open("p1", end=3)
    tracker.finish("p1", done)
    taken = tracker.take()
    newer = tracker.open("p1", end=8)
    tracker.finish("p1", newer)
    tracker.restore(taken)  # a failed commit of 3 must not move 8 back
    assert tracker.take() == {"p1": 8}


@pytest.mark.anyio
async def test_wait_idle_returns_when_the_partitions_work_is_done() -> None:
    tracker: OffsetTracker[str] = OffsetTracker()
    chunk = tracker.open("p0", end=5)
    other = tracker.open("p1", end=5)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(tracker.wait_idle, ["p0"])
            await anyio.wait_all_tasks_blocked()
            tracker.finish("p1", other)  # not what it waits for
            await anyio.wait_all_tasks_blocked()
            assert tracker.busy(["p0"])
            tracker.finish("p0", chunk)  # the waiter returns, so the group can end
    assert not tracker.busy(["p0", "p1"])


@pytest.mark.anyio
async def test_a_revocation_waiting_for_work_is_woken_when_it_is_forgotten() -> None:
    tracker: OffsetTracker[str] = OffsetTracker()
    tracker.open("p0", end=5)
    with anyio.fail_after(2):  # before: it slept until the revocation's own timeout
        async with anyio.create_task_group() as group:
            group.start_soon(tracker.wait_idle, ["p0"])
            await anyio.wait_all_tasks_blocked()
            tracker.forget(["p0"])


@pytest.mark.anyio
async def test_a_revocation_waiting_for_work_gives_up_when_the_subscription_fails() -> None:
    tracker: OffsetTracker[str] = OffsetTracker()
    tracker.open("p0", end=5)  # a unit that failed: it will never finish
    failed = False
    with anyio.fail_after(2):
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: tracker.wait_idle(["p0"], give_up=lambda: failed))
            await anyio.wait_all_tasks_blocked()
            failed = True
            tracker.wake()
    assert tracker.busy(["p0"])


@pytest.mark.anyio
async def test_the_commit_inside_a_revocation_is_bounded() -> None:
    from stream.kafka._rebalance import RebalanceListener

    class HangingCommitter:
        async def commit(self) -> None:
            await anyio.sleep_forever()  # aiokafka retrying a retriable error, forever

    async def nothing(_partitions: object) -> None:
        pass

    tracker: OffsetTracker[str] = OffsetTracker()
    listener = RebalanceListener(
        "S.h",
        tracker,
        HangingCommitter(),  # type: ignore[arg-type]
        0.2,
        after_assign=nothing,
        before_revoke=lambda _partitions: None,
        after_revoke=nothing,
        give_up=lambda: False,
    )

    class TP:
        topic, partition = "t", 0

    with anyio.fail_after(3):
        await listener.on_partitions_revoked([TP()])


@pytest.mark.anyio
async def test_a_cancelled_commit_keeps_the_ready_offsets_of_partitions_that_stay() -> None:
    from stream.kafka._rebalance import Committer

    class HangingConsumer:
        def assignment(self) -> set[str]:
            return {"p0", "p1"}

        async def commit(self, offsets: dict[str, int]) -> None:
            await anyio.sleep_forever()

    tracker: OffsetTracker[str] = OffsetTracker()
    chunk = tracker.open("p1", end=7)
    tracker.finish("p1", chunk)
    committer = Committer(tracker, "S.h")
    committer.consumer = HangingConsumer()
    with anyio.move_on_after(0.1):
        await committer.commit()
    assert tracker.take() == {"p1": 7}  # still there for the next commit


@pytest.mark.anyio
async def test_a_commit_refused_by_a_rebalance_is_made_by_the_revocation() -> None:
    # Seen on real Kafka (test_shared_batches, the test process starved past the session
    # timeout): the group dropped the member, so the acker's commit of finished work was
    # refused; the revocation that followed committed only what finished after it, and the
    # partitions came back to the same member, which stopped with that work uncommitted.
    from aiokafka import TopicPartition as TP
    from aiokafka.errors import CommitFailedError

    from stream.kafka._rebalance import Committer, RebalanceListener

    p0, p1 = TP("t", 0), TP("t", 1)

    class RefusingOnce:
        def __init__(self) -> None:
            self.refused: list[dict[TP, int]] = []
            self.committed: list[dict[TP, int]] = []

        def assignment(self) -> set[TP]:
            return {p0, p1}

        async def commit(self, offsets: dict[TP, int]) -> None:
            if not self.refused:
                self.refused.append(offsets)
                raise CommitFailedError("the member's session expired")
            self.committed.append(offsets)

    async def nothing(_partitions: object) -> None:
        pass

    tracker: OffsetTracker[TP] = OffsetTracker()
    consumer = RefusingOnce()
    committer = Committer(tracker, "S.h")
    committer.consumer = consumer
    listener = RebalanceListener(
        "S.h",
        tracker,
        committer,
        1.0,
        after_assign=nothing,
        before_revoke=lambda _partitions: None,
        after_revoke=nothing,
        give_up=lambda: False,
    )
    tracker.finish(p0, tracker.open(p0, end=560))
    await committer.commit()
    assert consumer.refused == [{p0: 560}]
    tracker.finish(p1, tracker.open(p1, end=840))  # finishes after the refusal
    await listener.on_partitions_revoked([p0, p1])
    assert consumer.committed == [{p0: 560, p1: 840}]


@pytest.mark.anyio
async def test_commits_refused_until_the_revocation_are_warned_about_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The acker retries a refused commit every interval while the group rebalances (up
    # to its rebalance timeout): one WARNING says so, not one per attempt.
    from aiokafka.errors import CommitFailedError

    from stream.kafka._rebalance import Committer

    class Refusing:
        def assignment(self) -> set[str]:
            return {"p0"}

        async def commit(self, offsets: dict[str, int]) -> None:
            raise CommitFailedError("the group is rebalancing")

    tracker: OffsetTracker[str] = OffsetTracker()
    tracker.finish("p0", tracker.open("p0", end=5))
    committer = Committer(tracker, "S.h")
    committer.consumer = Refusing()
    for _ in range(3):
        await committer.commit()
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert tracker.take() == {"p0": 5}  # still kept for the revocation's commit
