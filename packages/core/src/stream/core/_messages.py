"""What travels: messages received from a transport and messages to send."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeAlias, TypeVar

__all__ = (
    "DeadLetterMessage",
    "HeaderItems",
    "HeadersInput",
    "Message",
    "OutgoingMessage",
    "Record",
    "Response",
    "TopicPartition",
    "last_header",
    "message_of",
)

BodyT = TypeVar("BodyT")

HeaderItems: TypeAlias = tuple[tuple[str, bytes], ...]
"""Headers as Kafka keeps them: ordered pairs, a name may repeat."""

HeadersInput: TypeAlias = Mapping[str, str | bytes] | HeaderItems
"""What a user may pass as headers: a mapping, or the pairs themselves."""


@dataclass(frozen=True, slots=True)
class TopicPartition:
    """One partition of one topic."""

    topic: str
    partition: int


# Message and OutgoingMessage are built once per message on the hot path, where a frozen
# dataclass's __init__ costs twice a plain one's; treat them as read-only all the same.
@dataclass(slots=True)
class Message:
    """A received message, as the transport delivered it.

    Annotate a handler parameter with ``Message`` to receive it next to the
    decoded body.

    Attributes:
        topic: The topic it was read from.
        partition: The partition it was read from.
        offset: Its offset within the partition.
        key: The raw key, or ``None``.
        value: The raw body, or ``None`` for a tombstone.
        headers: The headers, in order.
        timestamp: Milliseconds since the epoch, as the broker recorded it.
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: HeaderItems = ()
    timestamp: int = 0

    def header(self, name: str) -> bytes | None:
        """Returns the last value of the header ``name``, or ``None``."""
        return last_header(self.headers, name)


class Record(Protocol):
    """A received record as a transport hands it to the core: :class:`Message`'s fields,
    read-only.

    A :class:`Message` is one; so is a client's own record type with these attributes
    (aiokafka's ``ConsumerRecord``), which a transport then hands over as it is instead
    of copying every record into a second object. The core makes a :class:`Message` of
    it only for what is given one (a filter, a middleware, an injected ``Message``).
    """

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> HeaderItems: ...
    @property
    def timestamp(self) -> int: ...


def message_of(record: Record) -> Message:
    """``record`` as a :class:`Message`: itself when it is one, else a copy of its fields."""
    if isinstance(record, Message):
        return record
    return Message(
        record.topic,
        record.partition,
        record.offset,
        record.key,
        record.value,
        record.headers,
        record.timestamp,
    )


def last_header(headers: HeaderItems, name: str) -> bytes | None:
    """The last value of the header ``name`` in ``headers``, or ``None``."""
    found = None
    for header_name, value in headers:
        if header_name == name:
            found = value
    return found


@dataclass(slots=True)
class OutgoingMessage:
    """A message ready to send: body and key already encoded.

    ``partition=None`` lets the transport choose from the key, as Kafka's
    default partitioner does.
    """

    topic: str
    value: bytes | None
    key: bytes | None = None
    headers: HeaderItems = ()
    partition: int | None = None
    timestamp: int | None = None


@dataclass(slots=True)
class DeadLetterMessage(OutgoingMessage):
    """The dead-letter copy of a received message whose handling failed.

    It is sent like any output; ``error`` and ``attempts`` say why, for a transport
    that reports failures itself (the in-memory broker re-raises them in a test).
    """

    error: BaseException | None = None
    attempts: int = 1


@dataclass(frozen=True, kw_only=True, slots=True)
class Response(Generic[BodyT]):
    """A handler's result with its own key, headers, partition or topic.

    Return it instead of the bare body to set these for this one output; what is left
    ``None`` follows the ``@produce`` options as usual.

    Attributes:
        body: What is sent (encoded as a bare return value would be).
        key: The output's key, instead of ``@produce(key=...)`` or the input's key.
        headers: Added after the ``@produce`` headers.
        partition: A fixed partition for this output.
        topic: Send to this topic only, instead of every ``@produce`` topic.
    """

    body: BodyT
    key: object = None
    headers: HeadersInput | None = None
    partition: int | None = None
    topic: str | None = None
