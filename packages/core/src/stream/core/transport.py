"""The public interface between services and brokers: what a transport implements.

Service authors need nothing from here; ``stream.core`` is their face. This module is
for whoever writes a transport (the Kafka broker and the in-memory broker both import
only this) or a tool that reads services (AsyncAPI, the CLI).

The split of work: the transport fetches, hands messages to the subscription's
:class:`RecordHandler` in order per partition, sends the outputs it returns, and commits
offsets as the subscription's delivery guarantee says. The core decodes, validates, calls
the user's method, retries, and builds outputs and dead-letter messages.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio

from stream.core._messages import (
    DeadLetterMessage,
    HeaderItems,
    Message,
    OutgoingMessage,
    Record,
    TopicPartition,
    message_of,
)
from stream.core._observing import (
    PartitionStatus,
    SubscriptionStatus,
    TransportObserver,
    TransportStatus,
)
from stream.core._options import ConsumeOptions, KeySource, MessageFilter, ProduceOptions
from stream.core._specs import ConsumerSpec, HandlerSpec, ProducerSpec
from stream.core._topics import Topic

__all__ = (
    "ConsumeOptions",
    "ConsumerSpec",
    "DeadLetterMessage",
    "HandlerCall",
    "HandlerSpec",
    "HandlerWrapper",
    "HeaderItems",
    "KeySource",
    "Message",
    "MessageFilter",
    "OutgoingMessage",
    "PartitionStatus",
    "ProduceOptions",
    "ProducerSpec",
    "Record",
    "RecordHandler",
    "ServerDescription",
    "Sleep",
    "Subscription",
    "SubscriptionStatus",
    "Topic",
    "TopicPartition",
    "Transport",
    "TransportDescription",
    "TransportObserver",
    "TransportStatus",
    "message_of",
)

Sleep = Callable[[float], Awaitable[None]]
"""Waits a number of seconds (``anyio.sleep`` and anything shaped like it)."""

HandlerCall = Callable[..., Awaitable[Any]]
"""A handler as a run calls it: the service's bound method, or a wrapper of it."""

HandlerWrapper = Callable[[HandlerSpec, HandlerCall], HandlerCall]
"""Given to ``Service.start(wrap=...)``: takes a handler's spec and its bound method and
returns what the run calls instead (and what ``service.<handler>`` is meanwhile)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Subscription:
    """One handler's subscription, as the core hands it to a transport.

    Attributes:
        name: ``"<Service>.<method>"``, for logs and errors.
        group_id: The consumer group (``options.group_id``, or the one derived from it).
        options: What ``@consume`` recorded: topics or pattern, partitions, batching,
            concurrency, the delivery policy and transport-specific options.
    """

    name: str
    group_id: str
    options: ConsumeOptions


class RecordHandler(Protocol):
    """What a transport calls with messages of one partition, in offset order."""

    async def __call__(self, messages: Sequence[Record], /) -> list[OutgoingMessage]:
        """Handles ``messages`` one by one (or as one batch) and returns what to send:
        results and, for messages that failed, :class:`DeadLetterMessage` copies.

        ``messages`` may be the transport's own records (see :class:`Record`): the core
        reads them and never keeps or changes them.

        The transport commits ``messages`` only once every output is acknowledged.
        Raises only when the subscription must stop (a failure with no dead-letter
        topic, or cancellation); then nothing of ``messages`` may be committed.
        """
        ...

    def use_retry_sleep(self, sleep: Sleep) -> None:
        """Waits with ``sleep`` between retries instead of ``anyio.sleep``.

        A test transport passes one that does not wait, so a test sees every attempt
        and the dead letter without the seconds of backoff.
        """
        ...

    async def partitions_assigned(self, partitions: Collection[TopicPartition], /) -> None:
        """Called when the subscription gets ``partitions`` (at start, or a rebalance),
        before any of their messages is handed over. Raises when the service's hook
        failed: the transport then stops the subscription, as for a handler's error."""
        ...

    async def partitions_revoked(self, partitions: Collection[TopicPartition], /) -> None:
        """Called when ``partitions`` leave the subscription (a rebalance, or the stop),
        after their work in flight finished and was committed. Raises like
        :meth:`partitions_assigned`."""
        ...


@dataclass(frozen=True, kw_only=True, slots=True)
class ServerDescription:
    """One server of a transport, for documentation (AsyncAPI ``servers``)."""

    host: str
    protocol: str
    protocol_version: str | None = None
    security: tuple[Mapping[str, Any], ...] = ()
    description: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class TransportDescription:
    """What a transport says about itself, so documentation needs no import of it.

    Attributes:
        protocol: ``"kafka"``, or ``"memory"`` for the in-memory broker.
        servers: Where it connects.
        client_id: The client id it presents, if any.
        bindings: Protocol bindings for operations (AsyncAPI style), if any.
    """

    protocol: str
    servers: tuple[ServerDescription, ...] = ()
    client_id: str | None = None
    bindings: Mapping[str, Any] = field(default_factory=dict)


class Transport(ABC):
    """A message broker a service runs on.

    Lifecycle: ``subscribe`` every handler, then ``start``; ``stop`` drains in-flight
    work, sends its outputs, commits and disconnects. ``publish`` works between
    ``start`` and ``stop``.

    Attributes:
        observers: Told of fetched batches and commits (see :meth:`observe`); a
            transport reads them at ``start``.
    """

    observers: tuple[TransportObserver, ...] = ()

    @abstractmethod
    def subscribe(self, subscription: Subscription, handler: RecordHandler) -> None:
        """Registers a handler before ``start``; raises ``BindError`` for options the
        transport cannot honour, naming ``subscription.name``."""

    def declare_topics(self, topics: Sequence[Topic]) -> None:
        """Registers the topics a service declared, before ``subscribe`` and ``start``.

        ``start`` creates each one that is missing, as declared, and leaves one that
        exists alone (logging a WARNING when its partition count differs). Called only
        with a non-empty ``topics``; the default refuses, so a declaration is never
        silently ignored by a transport that cannot create topics.
        """
        names = ", ".join(repr(topic.name) for topic in topics)
        raise NotImplementedError(
            f"{type(self).__name__} cannot create the declared topics {names}"
        )

    @abstractmethod
    async def start(self) -> None:
        """Connects and begins delivering messages to the subscribed handlers."""

    @abstractmethod
    async def stop(self) -> None:
        """Stops fetching, lets in-flight handlers finish, sends their outputs, commits,
        leaves the groups and disconnects. Safe to call twice."""

    @abstractmethod
    async def publish(self, message: OutgoingMessage) -> None:
        """Sends one message and returns once the broker acknowledged it."""

    @abstractmethod
    async def publish_many(self, messages: Sequence[OutgoingMessage]) -> None:
        """Sends messages without waiting for each, then waits for every ack.
        Order is kept per partition."""

    @abstractmethod
    async def ping(self, timeout: float) -> bool:
        """Whether the broker answers within ``timeout`` seconds."""

    @abstractmethod
    def describe(self) -> TransportDescription:
        """What this transport is, for documentation."""

    async def pause(
        self, subscription: Subscription, partitions: Collection[TopicPartition] | None
    ) -> None:
        """Stops handing over messages of ``subscription`` (the very object it was
        given at ``subscribe``): of those of ``partitions`` it owns, or, with ``None``,
        of every partition it owns or is assigned later, until resumed.

        Work already handed over finishes and is committed as usual. A partition paused
        by name is forgotten when it is revoked (as Kafka does). The default refuses.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot pause a subscription")

    async def resume(
        self, subscription: Subscription, partitions: Collection[TopicPartition] | None
    ) -> None:
        """Hands over ``subscription``'s messages again, from where it paused: of
        ``partitions``, or of every partition when ``None``. The default refuses."""
        raise NotImplementedError(f"{type(self).__name__} cannot resume a subscription")

    def refusal(self, message: OutgoingMessage) -> str | None:
        """Why this transport could never send ``message`` (e.g. it is too large), or
        ``None`` when it can.

        The core asks it of every handler output before handing the outputs back, so
        that such an output is dead-lettered with its input instead of failing in the
        transport, where it would stop the subscription. Only the transport knows its
        framing and limits; the default refuses nothing.
        """
        return None

    async def open_replies(self, topic: str, deliver: Callable[[Message], None]) -> None:
        """Creates ``topic``, the reply topic of one service run (one partition), and from
        now until :meth:`stop` hands every message published to it to ``deliver``.

        Called by the core at a service's first ``request``, while the transport runs. The
        topic is read without a consumer group (nothing is committed: a reply is wanted
        once, by this run) and :meth:`stop` deletes it. The default refuses: a transport
        without request/reply keeps it.
        """
        raise NotImplementedError(f"{type(self).__name__} does not support request/reply")

    async def wait_failed(self) -> BaseException:
        """Returns the error once a subscription has stopped on its own (a failure with
        no dead-letter topic, a lost connection); never returns while all is well.

        ``Service.run`` watches it so that a service whose subscription died stops
        (and ``stop`` raises the error) instead of idling. The default never fails.
        """
        await anyio.sleep_forever()
        raise AssertionError("unreachable")  # pragma: no cover

    def observe(self, observer: TransportObserver) -> None:
        """Tells ``observer`` of this transport's fetched batches and commits, from the
        next ``start`` on. Giving the same observer twice keeps one."""
        if observer not in self.observers:
            self.observers = (*self.observers, observer)
            observer.attached(self)

    def status(self) -> TransportStatus | None:
        """A snapshot of the subscriptions' state (group, partitions, offsets, work in
        flight), for readiness probes and metrics; ``None`` when the transport keeps
        none. Built when asked, from what the clients already know: no broker round
        trip (pair it with :meth:`ping` to check the connection)."""
        return None
