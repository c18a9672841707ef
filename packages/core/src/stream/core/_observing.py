"""What a transport tells about itself between messages: its status, and its events.

Readiness probes and metrics need things a middleware cannot see: whether the consumer
joined its group, which partitions it holds, how far behind it is, how long commits
take. A transport answers :meth:`~stream.core.transport.Transport.status` when asked (a
snapshot, built only then, so nothing is counted per message), and tells the observers
given to :meth:`~stream.core.transport.Transport.observe` of what happens per fetched
batch and per commit (never per message).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stream.core.transport import Transport

__all__ = ("PartitionStatus", "SubscriptionStatus", "TransportObserver", "TransportStatus")


@dataclass(frozen=True, kw_only=True, slots=True)
class PartitionStatus:
    """One partition a subscription holds.

    Attributes:
        topic: The partition's topic.
        partition: Its number.
        committed: The next offset the group reads after a restart, as this member last
            knows it: its own last commit, or before that the offset it started from.
            ``None`` when not known yet.
        end: The offset after the partition's last readable record, from the consumer's
            last fetch (Kafka's high watermark, or the last stable offset under
            ``read_committed``); ``None`` before the first fetch.
    """

    topic: str
    partition: int
    committed: int | None
    end: int | None

    @property
    def lag(self) -> int | None:
        """Records not committed yet (``end - committed``), or ``None`` when unknown."""
        if self.end is None or self.committed is None:
            return None
        return max(0, self.end - self.committed)


@dataclass(frozen=True, kw_only=True, slots=True)
class SubscriptionStatus:
    """One subscription's state, for readiness and metrics.

    Attributes:
        name: ``"<Service>.<method>"``.
        group_id: Its consumer group.
        joined: Whether it is a member of its group with an assignment (possibly empty)
            and knows its group's coordinator; always ``True`` for hand-assigned partitions.
        partitions: The partitions it holds.
        in_flight: Units of work handed to the handler and not finished yet.
        failure: Why it stopped, or ``None`` while it runs.
    """

    name: str
    group_id: str
    joined: bool
    partitions: tuple[PartitionStatus, ...] = ()
    in_flight: int = 0
    failure: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class TransportStatus:
    """A running transport's state: each subscription's (see :class:`SubscriptionStatus`).

    Attributes:
        running: Between ``start`` and ``stop``.
        subscriptions: One per subscribed handler.
    """

    running: bool
    subscriptions: tuple[SubscriptionStatus, ...] = ()


class TransportObserver:
    """Told by a transport what happens between messages; override what you need.

    Called on the event loop, once per fetched batch or commit, never per message; keep
    each call short. A service middleware that is also an observer is given to its
    transport at ``Service.start`` (that is how ``stream.prometheus.Metrics`` sees
    commits); anything else can call ``transport.observe(observer)`` before ``start``.
    """

    def attached(self, transport: Transport) -> None:
        """``transport.observe(self)`` was called: keep ``transport`` to ask its
        :meth:`~stream.core.transport.Transport.status` later (e.g. at a scrape)."""

    def received(self, subscription: str, topic: str, partition: int, count: int) -> None:
        """``count`` records of ``topic[partition]`` were handed to ``subscription``'s handler."""

    def committed(self, subscription: str, seconds: float) -> None:
        """A commit of ``subscription``'s offsets took ``seconds`` (also one that failed)."""
