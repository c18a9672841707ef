"""The options ``@consume`` and ``@produce`` record, declared once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from stream.core._codec import Codec
from stream.core._delivery import DeliveryPolicy
from stream.core._messages import Message
from stream.core._middleware import Middleware

__all__ = ("ConsumeOptions", "KeySource", "MessageFilter", "ProduceOptions")

MessageFilter = Callable[[Message], bool | Awaitable[bool]]
"""A predicate on a received message (its headers, key and raw value): whether this
handler takes it. A plain function or an ``async`` one."""

KeySource = str | Callable[[Any], Any] | None
"""Where an output's key comes from: a field name of the output, a function of it, or
``None`` to keep the received message's key (so per-key order carries downstream)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ConsumeOptions:
    """What ``@consume`` records about a handler's subscription.

    Attributes:
        topics: Topics to read.
        pattern: A regular expression of topic names to read, instead of ``topics``.
        group_id: Consumer group; ``None`` derives ``"<Service>.<method>"``, stable
            across restarts.
        partitions: Read only these partitions of ``topics`` (manual assignment, no group
            rebalancing).
        auto_offset_reset: Where a new group starts. ``"earliest"`` by default, so a
            message published before the first start is not skipped.
        batch: Hand the handler a list of messages at a time (its message parameter is
            ``list[Model]``).
        max_records: The most messages fetched (and, with ``batch``, handed) at once.
        max_wait: Seconds to wait for ``max_records`` before handing over fewer.
        concurrency: Partitions (and, within a partition, keys) processed at once.
            Order per key is kept and offsets commit in order.
        delivery: Retries, dead-lettering and the commit guarantee.
        transport_options: Options for the transport itself, passed as they are
            (for Kafka: aiokafka consumer settings); the transport rejects unknown ones
            at start.
        middlewares: Wrap this handler, inside the service's own middlewares.
        filter: Take only the messages this predicate accepts. Handlers that share a
            topic and a group form one subscription, and each message goes to the first
            of them (in class order) whose filter accepts it; see the handlers guide.
        codec: How this handler decodes its input and encodes its outputs; ``None``
            uses the service's ``codec``.
    """

    topics: tuple[str, ...] = ()
    pattern: str | None = None
    group_id: str | None = None
    partitions: tuple[int, ...] | None = None
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    batch: bool = False
    max_records: int = 500
    max_wait: float = 0.1
    concurrency: int = 1
    delivery: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    transport_options: Mapping[str, Any] = field(default_factory=dict)
    middlewares: tuple[Middleware, ...] = ()
    filter: MessageFilter | None = None
    codec: Codec | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ProduceOptions:
    """What ``@produce`` records: where a handler's return value goes.

    Attributes:
        topic: The topic to send to.
        key: A field name of the output, a function of it, or ``None`` to reuse the
            received message's key.
        partition: A fixed partition; ``None`` lets the key choose.
        headers: Headers added to every output.
    """

    topic: str
    key: KeySource = None
    partition: int | None = None
    headers: Mapping[str, str | bytes] = field(default_factory=dict)
