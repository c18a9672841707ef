"""Request/reply: send a message that a handler answers, and wait for the answer.

The requester adds two headers, as FastStream does: ``correlation_id`` (a fresh id per
request) and ``reply_to`` (this service run's reply topic). A handler that receives a
message with both sends its result to ``reply_to`` too, with the same
``correlation_id``; when the handler fails (the input is dead-lettered), the reply has
no body and carries the dead letter's ``stream.error.*`` headers instead, and the
requester raises :class:`RequestError`. Each service run has its own reply topic,
``<service name>.replies.<32 hex digits>``, which the transport creates when the first
request is sent and deletes when the service stops.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, overload

import anyio
from pydantic import TypeAdapter

from stream.core._codec import Codec
from stream.core._errors import StreamError
from stream.core._messages import (
    HeaderItems,
    HeadersInput,
    Message,
    OutgoingMessage,
    Record,
    last_header,
)
from stream.core._text import safe_text

__all__ = (
    "CORRELATION_ID",
    "REPLY_TO",
    "Replies",
    "Request",
    "RequestError",
    "RequestTimeoutError",
    "decode_reply",
    "error_reply",
    "honoured_reply_to",
    "unanswered_reason",
)

CORRELATION_ID = "correlation_id"
REPLY_TO = "reply_to"
_ERROR_TYPE = "stream.error.type"
_ERROR_MESSAGE = "stream.error.message"

# Only a stream reply topic is answered: a producer cannot make a handler write its
# results to any topic it names (another service's input, say) through a header.
_REPLY_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,200}\.replies\.[0-9a-f]{32}")
_NOT_IN_A_TOPIC_NAME = re.compile(r"[^A-Za-z0-9._-]")


ReplyT = TypeVar("ReplyT")


class Request(Protocol):
    """``service.request`` and ``publisher.request``: send a message a handler answers.

    ``await service.request(Question(number=21), "questions", reply_type=Answer)`` sends
    the message with a ``correlation_id`` and a ``reply_to`` header naming this service
    run's reply topic (created at the first request, deleted at stop), waits for the
    handler consuming ``"questions"`` to answer there, and returns its answer.

    Its arguments:

    - ``value``: the body, as for ``publish``.
    - ``topic``: where the request goes.
    - ``reply_type``: decode the reply's body as this type (a pydantic model, ``str``,
      ``bytes``, ...) and return it; without it, the reply :class:`Message`.
    - ``timeout``: seconds to wait for the reply, sending included (default 30).
    - ``key``, ``headers``, ``partition``: as for ``publish``.

    Raises:
        RequestTimeoutError: no reply within ``timeout``; names the topic.
        RequestError: the handler failed (its input was dead-lettered); carries the
            dead letter's error type and text.
    """

    @overload
    async def __call__(
        self,
        value: object,
        topic: str,
        *,
        timeout: float = ...,
        key: object = ...,
        headers: HeadersInput | None = ...,
        partition: int | None = ...,
    ) -> Message: ...

    @overload
    async def __call__(
        self,
        value: object,
        topic: str,
        *,
        reply_type: type[ReplyT],
        timeout: float = ...,
        key: object = ...,
        headers: HeadersInput | None = ...,
        partition: int | None = ...,
    ) -> ReplyT: ...


class RequestError(StreamError):
    """The handler that received a request failed; its input went to the dead-letter topic.

    Attributes:
        topic: Where the request was sent.
        error_type: The handler's error type, as the dead letter's ``stream.error.type``.
        error_message: Its text, as the dead letter's ``stream.error.message``.
        reply: The reply message itself.
    """

    def __init__(self, topic: str, error_type: str, error_message: str, reply: Message) -> None:
        super().__init__(
            f"the request to {topic} failed in its handler: {error_type}: {error_message} "
            "(the request is on the dead-letter topic)"
        )
        self.topic = topic
        self.error_type = error_type
        self.error_message = error_message
        self.reply = reply


class RequestTimeoutError(StreamError, TimeoutError):
    """No reply came within the request's timeout."""


@dataclass(slots=True)
class _Waiting:
    arrived: anyio.Event = field(default_factory=anyio.Event)
    reply: Message | None = None


class Replies:
    """One service run's reply topic and the requests waiting on it.

    Args:
        owner: The service's name; the reply topic is ``<owner>.replies.<uuid>``.
        open_topic: The transport's ``open_replies``: creates the topic and feeds every
            message on it to :meth:`deliver`.
    """

    __slots__ = ("_open_topic", "_opened", "_opening", "_waiting", "topic")

    def __init__(
        self, owner: str, open_topic: Callable[[str, Callable[[Message], None]], Awaitable[None]]
    ) -> None:
        prefix = _NOT_IN_A_TOPIC_NAME.sub("_", owner)[:200] or "stream"
        self.topic = f"{prefix}.replies.{uuid.uuid4().hex}"
        self._open_topic = open_topic
        self._opened = False
        self._opening = anyio.Lock()
        self._waiting: dict[bytes, _Waiting] = {}

    async def request(
        self,
        message: OutgoingMessage,
        send: Callable[[OutgoingMessage], Awaitable[None]],
        timeout: float,
    ) -> Message:
        """Sends ``message`` with the request headers and returns its reply.

        Raises:
            RequestTimeoutError: no reply within ``timeout`` seconds (sending included).
            RequestError: the handler failed.
        """
        if timeout <= 0:
            raise ValueError(f"request(timeout={timeout}): use seconds > 0")
        correlation_id = uuid.uuid4().hex.encode()
        message.headers = (
            *message.headers,
            (CORRELATION_ID, correlation_id),
            (REPLY_TO, self.topic.encode()),
        )
        waiting = self._waiting[correlation_id] = _Waiting()
        try:
            with anyio.move_on_after(timeout):
                await self._open()
                await send(message)
                await waiting.arrived.wait()
        finally:
            del self._waiting[correlation_id]
        reply = waiting.reply
        if reply is None:
            raise RequestTimeoutError(
                f"no reply to the request sent to {message.topic} within {timeout:g}s; is a "
                f"handler consuming {message.topic} running (a batch handler does not reply)? "
                "Raise `timeout` if it is just slow"
            )
        error_type = reply.header(_ERROR_TYPE)
        if error_type is not None:
            error_message = reply.header(_ERROR_MESSAGE) or b""
            raise RequestError(
                message.topic,
                error_type.decode(errors="replace"),
                error_message.decode(errors="replace"),
                reply,
            )
        return reply

    def deliver(self, message: Message) -> None:
        """Hands a message of the reply topic to the request waiting for it.

        A reply nobody waits for (it came after its request timed out) is dropped.
        """
        correlation_id = message.header(CORRELATION_ID)
        waiting = self._waiting.get(correlation_id) if correlation_id is not None else None
        if waiting is not None and waiting.reply is None:
            waiting.reply = message
            waiting.arrived.set()

    async def _open(self) -> None:
        # The first request creates the topic; the others wait for that, not a second one.
        if self._opened:
            return
        async with self._opening:
            if not self._opened:
                await self._open_topic(self.topic, self.deliver)
                self._opened = True


def honoured_reply_to(message: Record) -> tuple[str, bytes] | None:
    """The reply topic and correlation id ``message`` asks a reply at, if it asks for one
    at a stream reply topic; ``None`` otherwise."""
    reply_to = last_header(message.headers, REPLY_TO)
    if reply_to is None:
        return None
    correlation_id = last_header(message.headers, CORRELATION_ID) or b""
    topic = reply_to.decode(errors="replace")
    if not _REPLY_TOPIC.fullmatch(topic):
        return None
    return topic, correlation_id


def unanswered_reason(message: Record) -> str:
    """Why ``message``'s ``reply_to`` is not answered, for the log."""
    reply_to = safe_text((last_header(message.headers, REPLY_TO) or b"").decode(errors="replace"))
    return (
        f"{message.topic}[{message.partition}]@{message.offset}: not replying to "
        f"reply_to={reply_to!r}: only a stream reply topic (<name>.replies.<uuid hex>) is answered"
    )


def error_reply(
    topic: str, correlation_id: bytes, dead_letter_headers: HeaderItems
) -> OutgoingMessage:
    """The reply telling the requester that its handler failed: no body, the dead letter's
    ``stream.error.type`` and ``stream.error.message``."""
    reason = tuple(
        (name, value)
        for name, value in dead_letter_headers
        if name in (_ERROR_TYPE, _ERROR_MESSAGE)
    )
    return OutgoingMessage(topic, None, None, ((CORRELATION_ID, correlation_id), *reason))


_adapters: dict[Any, TypeAdapter[Any]] = {}


def decode_reply(reply: Message, reply_type: Any, codec: Codec) -> Any:
    """``reply``'s body as ``reply_type``: ``bytes`` and ``str`` raw, anything else by
    ``codec`` (the requesting service's, which its handlers answer in)."""
    if reply_type is bytes:
        return reply.value
    if reply_type is str:
        return None if reply.value is None else reply.value.decode()
    adapter = _adapters.get(reply_type)
    if adapter is None:
        adapter = _adapters[reply_type] = TypeAdapter(reply_type)
    if reply.value is None:
        return adapter.validate_python(None)
    return codec.decoder(adapter)(reply.value)
