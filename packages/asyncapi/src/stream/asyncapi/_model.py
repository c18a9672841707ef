"""What services expose, independent of any AsyncAPI version.

:func:`~stream.asyncapi._build.describe` fills these from the services' handler specs and
their transports' own descriptions; a renderer (``render_v3``) turns them into a
document. A renderer for another AsyncAPI version reads the same model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = (
    "Api",
    "ChannelModel",
    "FilterModel",
    "KeyModel",
    "MessageModel",
    "OperationModel",
    "SchemaMode",
    "ServerModel",
    "ServiceModel",
)

SchemaMode = Literal["validation", "serialization"]
"""Which side of a pydantic model a payload is: what a consumer accepts, or what a
producer writes (they differ for computed fields and defaults, for example)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ChannelModel:
    """Where messages travel: one topic, or every topic matching a pattern.

    Attributes:
        topic: The topic's name, or ``None`` for a pattern subscription.
        pattern: The regular expression of topic names, or ``None`` for a topic.
    """

    topic: str | None = None
    pattern: str | None = None

    def __post_init__(self) -> None:
        if (self.topic is None) == (self.pattern is None):
            raise ValueError("ChannelModel: give exactly one of topic and pattern")

    @property
    def label(self) -> str:
        """The topic, or ``"pattern <regex>"``, for text meant for people."""
        return self.topic if self.topic is not None else f"pattern {self.pattern}"


@dataclass(frozen=True, kw_only=True, slots=True)
class KeyModel:
    """How the key of a sent message is chosen (``@produce(key=...)``).

    Attributes:
        source: ``"field"``: a field of the message; ``"function"``: computed from it.
        name: The field's name, or the function's name.
    """

    source: Literal["field", "function"]
    name: str


@dataclass(frozen=True, kw_only=True, slots=True)
class MessageModel:
    """One kind of message on a channel.

    Attributes:
        type: The Python type of the body (for a batch handler, of one element).
        mode: Whether the body is read (``"validation"``) or written (``"serialization"``).
        content_type: How the body is encoded: JSON, or raw bytes or text.
        key: How a producer chooses the key, when it declares one.
        headers: Headers a producer adds to every message.
    """

    type: Any
    mode: SchemaMode
    content_type: str = "application/json"
    key: KeyModel | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class OperationModel:
    """A service receiving from a channel, or sending to one.

    Attributes:
        action: ``"receive"`` for ``@consume``, ``"send"`` for ``@produce``.
        handler: The method's name.
        channel: Where it receives from or sends to.
        message: What it receives or sends.
        summary: One line saying what it does (the docstring's first line).
        description: The handler's docstring.
        group_id: The consumer group of a receive operation.
        client_id: The client id the transport presents, if known.
        batch: Whether the handler receives a list of messages at a time.
        max_records: The most messages handed over at once, for a batch handler.
        guarantee: The delivery guarantee of a receive operation.
        retry_attempts: Tries in all before a message counts as failed.
        dead_letter: Where failed messages go (``"<topic>.dlq"``), or ``None``
            when a failure stops the subscription.
        manual_partitions: Partitions assigned by hand instead of by the group.
        filter: Which messages of the channel it takes, when a filter chooses.
    """

    action: Literal["receive", "send"]
    handler: str
    channel: ChannelModel
    message: MessageModel
    summary: str | None = None
    description: str | None = None
    group_id: str | None = None
    client_id: str | None = None
    batch: bool = False
    max_records: int | None = None
    guarantee: str | None = None
    retry_attempts: int | None = None
    dead_letter: str | None = None
    manual_partitions: tuple[int, ...] | None = None
    filter: FilterModel | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class FilterModel:
    """How a receive operation shares its subscription with filtered handlers.

    Attributes:
        predicate: The filter's name (and its docstring's first line, if any), or
            ``None`` for the handler without a filter that takes what the others leave.
        handlers: Every handler of the subscription, in the order they are tried.
        fallback: The handler without a filter (last), or ``None``: a message no filter
            takes is skipped and committed.
    """

    predicate: str | None
    handlers: tuple[str, ...]
    fallback: str | None


@dataclass(frozen=True, kw_only=True, slots=True)
class ServerModel:
    """A broker a service connects to, as its transport describes it.

    Attributes:
        host: Host and port (several, comma-separated, for a bootstrap list).
        protocol: ``"kafka"``, for instance.
        protocol_version: The protocol's version, if known.
        description: Free text from the transport.
        security: AsyncAPI security scheme objects, e.g. ``{"type": "scramSha512"}``.
    """

    host: str
    protocol: str
    protocol_version: str | None = None
    description: str | None = None
    security: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class ServiceModel:
    """One service: who it is, where it connects, what it receives and sends.

    Attributes:
        name: Its class name (module-qualified when two services share a name).
        version: Its version: the class's ``version``, its distribution's, or ``"0.1.0"``.
        description: Its class docstring.
        protocol: Its transport's protocol, or ``None`` without a transport.
        servers: Where its transport connects.
        operations: What it receives and sends, in handler order.
        operation_bindings: Protocol bindings the transport adds to every operation.
        content_type: How its codec encodes bodies (``Service.codec``), JSON by default.
    """

    name: str
    version: str
    content_type: str = "application/json"
    description: str | None = None
    protocol: str | None = None
    servers: tuple[ServerModel, ...] = ()
    operations: tuple[OperationModel, ...] = ()
    operation_bindings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class Api:
    """Everything one document describes: one service or several together.

    Attributes:
        title: The document's title (the service's name, or the services' names).
        version: The document's version.
        description: What the services do.
        services: The services, in the order given.
    """

    title: str
    version: str
    description: str | None = None
    services: tuple[ServiceModel, ...] = ()
