"""Riding out a transient broker outage: which errors pass, and for how long to wait.

One policy for every guarantee. A send, an ack, a commit or a fetch that fails with an
error the broker's return can clear (timeouts, lost connections, a coordinator or leader
moving, a commit refused by a rebalance) does not stop the subscription: its loop winds
down, commits the finished prefix, rewinds to the committed offsets, backs off and
consumes again. Nothing past the failure was committed, so nothing is lost; work after
it is done again (at-least-once may repeat it, exactly-once commits it once). Only when
no commit succeeded for ``limit`` seconds does the subscription stop, as it does at once
on any other error.
"""

from __future__ import annotations

import logging
import time

from aiokafka.errors import (
    CommitFailedError,
    ConcurrentTransactions,
    IllegalStateError,
    KafkaError,
    KafkaTimeoutError,
    RebalanceInProgressError,
)

__all__ = ("Outage", "is_transient")

logger = logging.getLogger("stream.kafka")

# Not flagged retriable by aiokafka, yet cleared by the broker's return or a rejoin:
# a batch or request that expired while the broker was away, a commit refused because
# the group moved on meanwhile, a transaction coordinator still finishing the last one.
_TRANSIENT = (
    KafkaTimeoutError,
    CommitFailedError,
    IllegalStateError,
    RebalanceInProgressError,
    ConcurrentTransactions,
)
_FIRST_BACKOFF = 0.5
_MAX_BACKOFF = 5.0
_LOG_EVERY = 30.0
"""Seconds between the WARNINGs saying an outage still lasts."""


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` may pass once the broker is back (then retrying is right)."""
    if isinstance(error, KafkaError):
        return bool(error.retriable) or isinstance(error, _TRANSIENT)
    return isinstance(error, (TimeoutError, ConnectionError))


class Outage:
    """The outage one subscription is riding out: since when, and until when to try.

    Args:
        name: The subscription's name, for logs.
        limit: Seconds without a successful commit after which the subscription stops.
    """

    __slots__ = ("_attempts", "_began", "_logged", "_name", "_progress", "limit")

    def __init__(self, name: str, limit: float) -> None:
        self._name = name
        self.limit = limit
        self._began: float | None = None
        self._progress = -1
        self._attempts = 0
        self._logged = 0.0

    @property
    def lasting(self) -> bool:
        """Whether an outage is being ridden out."""
        return self._began is not None

    def bear(self, error: BaseException, progress: int) -> bool:
        """Notes a transient ``error``; whether to keep trying (the bound is not reached).

        Args:
            error: What failed.
            progress: A count of successful commits: a different count than at the
                start of the outage means the broker answered in between, so a new
                outage begins.
        """
        now = time.monotonic()
        if self._began is None or progress != self._progress:
            self._began, self._progress, self._attempts, self._logged = now, progress, 0, now
            logger.warning(
                "%s: Kafka is not answering (%r); retrying for up to %.0fs, from the last "
                "committed offsets (nothing after them is committed meanwhile)",
                self._name,
                error,
                self.limit,
            )
            return True
        elapsed = now - self._began
        if elapsed >= self.limit:
            return False
        if now - self._logged >= _LOG_EVERY:
            self._logged = now
            logger.warning(
                "%s: Kafka still not answering after %.0fs (%r); retrying for up to %.0fs more",
                self._name,
                elapsed,
                error,
                self.limit - elapsed,
            )
        return True

    def backoff(self) -> float:
        """Seconds to wait before the next attempt: doubling, capped."""
        self._attempts += 1
        return float(min(_FIRST_BACKOFF * 2 ** (self._attempts - 1), _MAX_BACKOFF))

    def attempt_timeout(self) -> float:
        """Seconds one attempt to recover may take: what is left of the bound, at most the
        log interval (so a long wait still says, every so often, that it goes on)."""
        since = 0.0 if self._began is None else time.monotonic() - self._began
        return max(0.001, min(self.limit - since, _LOG_EVERY))

    def resumed(self) -> None:
        """Logs that consuming goes on; the outage ends at the next successful commit."""
        if self._began is not None:
            logger.info(
                "%s: consuming again from the committed offsets, %.0fs after Kafka stopped "
                "answering",
                self._name,
                time.monotonic() - self._began,
            )
