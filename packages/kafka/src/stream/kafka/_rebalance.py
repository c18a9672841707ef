"""Committing offsets, and giving partitions up at a rebalance without losing work."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

import anyio
from aiokafka import ConsumerRebalanceListener
from aiokafka.errors import (
    CommitFailedError,
    IllegalStateError,
    KafkaError,
)

from stream.core.transport import TransportObserver
from stream.kafka._offsets import OffsetTracker

__all__ = ("COMMIT_INTERVAL", "Committer", "RebalanceListener", "describe_partitions")

logger = logging.getLogger("stream.kafka")

COMMIT_INTERVAL = 0.25
"""Seconds between commits while work keeps finishing (see the acker in ``_subscriber``)."""

PartitionsHook = Callable[[Collection[Any]], Awaitable[None]]


def describe_partitions(partitions: Collection[Any]) -> str:
    """``"orders[0,1], payments[3]"`` for logs."""
    by_topic: dict[str, list[int]] = {}
    for tp in partitions:
        by_topic.setdefault(tp.topic, []).append(tp.partition)
    return (
        ", ".join(
            f"{topic}[{','.join(map(str, sorted(parts)))}]"
            for topic, parts in sorted(by_topic.items())
        )
        or "none"
    )


class Committer:
    """Commits explicit offsets of one consumer, one commit at a time, in order.

    Args:
        tracker: Where finished offsets wait to be committed.
        name: The subscription's name, for logs.
        enabled: ``False`` for at-most-once, which commits before handling instead.

    Attributes:
        consumer: The subscription's ``AIOKafkaConsumer``, once it is connected.
        commits: Successful commits so far.
        committed: Per partition held, the offset this member last committed, or before
            that the offset its reading started from (the group's committed offset).
        observers: Told how long each commit took.
    """

    __slots__ = (
        "_enabled",
        "_last",
        "_lock",
        "_name",
        "_refused",
        "_tracker",
        "commits",
        "committed",
        "consumer",
        "observers",
    )

    def __init__(self, tracker: OffsetTracker[Any], name: str, *, enabled: bool = True) -> None:
        self.consumer: Any = None
        self.committed: dict[Any, int] = {}
        self.observers: tuple[TransportObserver, ...] = ()
        self._tracker = tracker
        self._name = name
        self._enabled = enabled
        # One commit at a time: two racing commits of one partition could land out of
        # order and move its committed offset back.
        self._lock = anyio.Lock()
        self._last = time.monotonic()
        self.commits = 0
        # Refused commits are retried until the revocation: one WARNING for them all.
        self._refused = False

    def seconds_until_due(self) -> float:
        """How long until the commit interval since the last commit has passed."""
        return max(0.0, COMMIT_INTERVAL - (time.monotonic() - self._last))

    async def commit_if_due(self) -> None:
        """Commits if the last commit is older than the commit interval."""
        if time.monotonic() - self._last >= COMMIT_INTERVAL:
            await self.commit()

    async def commit(self) -> None:
        """Commits every offset the tracker has ready; a failed commit is retried later."""
        async with self._lock:
            self._last = time.monotonic()
            offsets = self._tracker.take()
            if not offsets or not self._enabled or self.consumer is None:
                return
            assigned = self.consumer.assignment()
            offsets = {tp: offset for tp, offset in offsets.items() if tp in assigned}
            if not offsets:
                return
            began = time.perf_counter()
            try:
                await self.consumer.commit(offsets)
                self.committed.update(offsets)
            except (CommitFailedError, IllegalStateError) as error:
                # The group is rebalancing, or dropped this member (its session expired
                # while the process was starved). The work is done and its outputs are
                # stored, so the offsets are kept for the revocation that follows: it
                # commits in the generation being closed, or, once dropped, outside any
                # generation, which the broker takes only while the group has no member
                # (nobody else owns the partitions). Dropped here, the partitions came
                # back to this member uncommitted and their work was done twice.
                # If they did move, the revocation forgets them: the new owner reads
                # from the last commit.
                if not self._refused:
                    logger.warning(
                        "%s: commit refused by a rebalance (%s); retried until the "
                        "partitions are given up",
                        self._name,
                        error,
                    )
                self._refused = True
                self._tracker.restore(offsets)
                return
            except KafkaError as error:
                logger.error("%s: commit failed, retrying with the next: %r", self._name, error)
                self._tracker.restore(offsets)
                return
            except BaseException:
                # Cancelled (a revocation's bound): the partitions this member keeps must
                # not lose their ready offsets, or the final commit would leave them out.
                self._tracker.restore(offsets)
                raise
            finally:
                self.took(time.perf_counter() - began)
            self.commits += 1
            self._refused = False
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s: committed %s", self._name, _describe_offsets(offsets))

    async def commit_now(self, offsets: Mapping[Any, int]) -> None:
        """Commits ``offsets`` at once (at-most-once, before handling); raises on failure."""
        async with self._lock:
            began = time.perf_counter()
            try:
                await self.consumer.commit(dict(offsets))
            finally:
                self.took(time.perf_counter() - began)
            self.committed.update(offsets)
            self.commits += 1
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s: committed %s", self._name, _describe_offsets(offsets))

    def took(self, seconds: float) -> None:
        """Tells the observers a commit (or a transaction's) took ``seconds``."""
        for observer in self.observers:
            observer.committed(self._name, seconds)

    def forget(self, partitions: Collection[Any]) -> None:
        """Drops what this member committed of ``partitions`` (revoked: others own them)."""
        for partition in partitions:
            self.committed.pop(partition, None)
        self._refused = False  # the next refusal is a new rebalance's


def _describe_offsets(offsets: Mapping[Any, int]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]@{offset}" for tp, offset in offsets.items())


class RebalanceListener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Finishes and commits the work of partitions before the group takes them away.

    Args:
        name: The subscription's name, for logs.
        tracker: The subscription's offsets in flight.
        committer: The subscription's committer.
        timeout: The longest to wait for in-flight work of revoked partitions.
        after_assign: Runs once partitions are assigned.
        before_revoke: Runs as a revocation begins, before its work is waited for
            (exactly-once commits the partitions' open transactions at once).
        after_revoke: Runs once revoked partitions' work was waited for and committed.
        give_up: Whether in-flight work can no longer finish (the loop has ended or
            failed): a revocation then stops waiting for it.
    """

    def __init__(
        self,
        name: str,
        tracker: OffsetTracker[Any],
        committer: Committer,
        timeout: float,
        *,
        after_assign: PartitionsHook,
        before_revoke: Callable[[Collection[Any]], None],
        after_revoke: PartitionsHook,
        give_up: Callable[[], bool],
    ) -> None:
        self._give_up = give_up
        self._after_assign = after_assign
        self._before_revoke = before_revoke
        self._after_revoke = after_revoke
        self._name = name
        self._tracker = tracker
        self._committer = committer
        self._timeout = timeout
        self.epoch = 0
        """Counts revocations: records fetched in an earlier epoch are not handed over."""

    async def on_partitions_revoked(self, revoked: Collection[Any]) -> None:
        """Waits (bounded) for the revoked partitions' work, commits it, forgets them."""
        if not revoked:
            return
        self.epoch += 1
        logger.info("%s: partitions revoked: %s", self._name, describe_partitions(revoked))
        self._before_revoke(revoked)
        # Also while draining at a stop (a rolling deploy: this member stops while the next
        # one joins): work handed over before the stop finishes here, so its commit must
        # wait for it, or the new owner does it again.
        with anyio.move_on_after(self._timeout) as scope:
            await self._tracker.wait_idle(revoked, give_up=self._give_up)
        if scope.cancelled_caught:
            logger.warning(
                "%s: work on revoked partitions still running after %.0fs; its records "
                "will be handled again by their new owner",
                self._name,
                self._timeout,
            )
        # Bounded: aiokafka retries a retriable commit error for as long as it lasts, and
        # the whole group waits for this member meanwhile.
        with anyio.move_on_after(self._timeout) as scope:
            await self._committer.commit()
        if scope.cancelled_caught:
            logger.warning(
                "%s: the commit for revoked partitions did not finish in %.0fs; their new "
                "owner handles the uncommitted records again",
                self._name,
                self._timeout,
            )
        self._tracker.forget(revoked)
        await self._after_revoke(revoked)

    async def on_partitions_assigned(self, assigned: Collection[Any]) -> None:
        """Logs the new assignment."""
        logger.info("%s: partitions assigned: %s", self._name, describe_partitions(assigned))
        await self._after_assign(assigned)
