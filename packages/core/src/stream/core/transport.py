"""The public ``Transport`` interface: what a broker must do for a service.

Both the Kafka broker (``stream.kafka.KafkaBroker``) and the in-memory broker
(``stream.testing.MemoryBroker``) implement it; a third-party transport implements it
the same way and needs nothing else from stream's internals.

The split of work: the transport fetches, hands messages to the service's handler in
order per partition, sends the outputs the handler returns, and commits offsets as the
subscription's delivery guarantee says. The core decodes, validates, calls the user's
method, retries, and builds outputs and dead-letter messages.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio

from stream.core.delivery import DeliveryPolicy
from stream.core.messages import Message, OutgoingMessage

__all__ = (
    "Failure",
    "Outcome",
    "RecordHandler",
    "ServerDescription",
    "Subscription",
    "Transport",
    "TransportDescription",
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Subscription:
    """One handler's subscription, as the core hands it to a transport.

    Attributes:
        name: ``"<Service>.<method>"``, for logs and errors.
        topics: Topics to read (empty when ``pattern`` is set).
        pattern: A regular expression of topic names, or ``None``.
        group_id: The consumer group.
        partitions: Manual assignment of these partitions of ``topics``, or ``None``.
        auto_offset_reset: Where a new group starts: ``"earliest"`` or ``"latest"``.
        batch: Whether the handler takes a list at a time.
        max_records: The most messages handed over in one call.
        max_wait: Seconds to wait to fill a batch.
        concurrency: How many partitions or keys may be in a handler at once.
        delivery: Retry, dead-letter and commit policy.
        transport_options: Transport-specific options, validated by the transport.
    """

    name: str
    topics: tuple[str, ...]
    pattern: str | None
    group_id: str
    partitions: tuple[int, ...] | None
    auto_offset_reset: str
    batch: bool
    max_records: int
    max_wait: float
    concurrency: int
    delivery: DeliveryPolicy
    transport_options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Failure:
    """A message whose handling failed and was dead-lettered (or halted the subscription)."""

    message: Message
    error: BaseException
    attempts: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """What handling some messages produced.

    Attributes:
        outputs: Messages to send, in order: results and dead-letter messages. The
            transport commits the inputs only once every one is acknowledged.
        failures: Messages that failed, for the transport to report; they are already
            represented in ``outputs`` by their dead-letter messages.
    """

    outputs: list[OutgoingMessage]
    failures: list[Failure]


class RecordHandler(Protocol):
    """What a transport calls with messages of one partition, in offset order."""

    async def __call__(self, messages: Sequence[Message], /) -> Outcome:
        """Handles ``messages`` one by one (or as one batch) and returns what to send.

        Raises only when the subscription must stop (a failure with no dead-letter
        topic, or cancellation); then nothing of ``messages`` may be committed.
        """
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
    """

    @abstractmethod
    def subscribe(self, subscription: Subscription, handler: RecordHandler) -> None:
        """Registers a handler before ``start``; raises ``BindError`` for options the
        transport cannot honour, naming ``subscription.name``."""

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

    @property
    def max_message_bytes(self) -> int | None:
        """The largest message this transport can send, when it knows (``None``: no limit).

        The core checks each handler output against it, so an output too large is
        dead-lettered with its input (an ``EncodeError``) instead of failing in the
        transport, where it would stop the subscription.
        """
        return None

    @property
    def waits_retry_backoff(self) -> bool:
        """Whether a retried handler waits its backoff first (``True``).

        The in-memory broker says ``False`` by default: a test still sees every attempt and
        the dead letter, but not the seconds of waiting, so a suite stays fast.
        """
        return True

    async def wait_failed(self) -> BaseException:
        """Returns the error once a subscription has stopped on its own (a failure with
        no dead-letter topic, a lost connection); never returns while all is well.

        ``Service.run`` watches it so that a service whose subscription died stops
        (and ``stop`` raises the error) instead of idling. The default never fails.
        """
        await anyio.sleep_forever()
        raise AssertionError("unreachable")  # pragma: no cover
