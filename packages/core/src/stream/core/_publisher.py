"""Sending messages from anywhere in a service."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from stream.core._codec import (
    Codec,
    JsonCodec,
    body_encoder,
    content_type_of,
    encode_headers,
    encode_key,
    labelled,
)
from stream.core._messages import HeadersInput, OutgoingMessage
from stream.core._middleware import Middleware, publishing_chain
from stream.core._requests import Replies, Request, decode_reply

if TYPE_CHECKING:
    from stream.core.transport import Transport

__all__ = ("Publisher", "outgoing")


def outgoing(
    value: object,
    topic: str,
    *,
    key: object = None,
    headers: HeadersInput | None = None,
    partition: int | None = None,
    timestamp: int | None = None,
    codec: Codec | None = None,
) -> OutgoingMessage:
    """Encodes ``value`` (and its key and headers) into a message for ``topic``.

    ``codec`` (JSON by default) encodes a body that is not raw; the ``content-type``
    header names how the body was encoded (see :func:`~stream.core._codec.labelled`).
    """
    codec = codec or _JSON
    return OutgoingMessage(
        topic=topic,
        value=body_encoder(codec)(value),
        key=encode_key(key),
        headers=labelled(encode_headers(headers), content_type_of(value, codec)),
        partition=partition,
        timestamp=timestamp,
    )


_JSON = JsonCodec()


class Publisher:
    """Sends messages through the service's transport; each send waits for the broker's ack.

    Annotate a handler parameter with ``Publisher`` to receive the service's one, or
    call ``service.publish(...)``.
    """

    __slots__ = ("_codec", "_on_publish", "_replies", "_transport")

    def __init__(
        self,
        transport: Transport,
        middlewares: Sequence[Middleware] = (),
        *,
        codec: Codec | None = None,
        name: str = "stream",
    ) -> None:
        self._transport = transport
        self._on_publish = publishing_chain(middlewares)
        self._codec = codec or _JSON
        # Nothing is created on the broker until the first request.
        self._replies = Replies(name, transport.open_replies)

    @property
    def reply_topic(self) -> str:
        """This service run's reply topic, ``<service name>.replies.<uuid hex>``: created
        at the first :meth:`request`, deleted when the service stops."""
        return self._replies.topic

    async def publish(
        self,
        value: object,
        topic: str,
        *,
        key: object = None,
        headers: HeadersInput | None = None,
        partition: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        """Sends one message and waits until the broker acknowledged it.

        Args:
            value: The body: a pydantic model or a value the service's codec encodes
                (JSON by default), ``str``, ``bytes``, or ``None`` for a tombstone.
            topic: Where it goes.
            key: The key (``bytes``, or anything whose ``str`` is the key).
            headers: A mapping, or ordered ``(name, value)`` pairs.
            partition: A fixed partition; ``None`` lets the key choose.
            timestamp: Milliseconds since the epoch; ``None`` lets the broker stamp it.
        """
        message = outgoing(
            value,
            topic,
            key=key,
            headers=headers,
            partition=partition,
            timestamp=timestamp,
            codec=self._codec,
        )
        await self._send(message)

    async def publish_many(self, messages: Sequence[OutgoingMessage]) -> None:
        """Sends messages built with :func:`outgoing`, pipelined, and waits for every ack."""
        if self._on_publish is not None:
            on_publish = self._on_publish
            messages = [on_publish(message, None) for message in messages]
        await self._transport.publish_many(messages)

    @property
    def request(self) -> Request:
        """Sends one message that a handler answers, and returns the answer; see
        :class:`~stream.core.Request` for its arguments."""
        return self._request

    async def _request(
        self,
        value: object,
        topic: str,
        *,
        reply_type: Any = None,
        timeout: float = 30.0,
        key: object = None,
        headers: HeadersInput | None = None,
        partition: int | None = None,
    ) -> Any:
        message = outgoing(
            value, topic, key=key, headers=headers, partition=partition, codec=self._codec
        )
        reply = await self._replies.request(message, self._send, timeout)
        return reply if reply_type is None else decode_reply(reply, reply_type, self._codec)

    async def _send(self, message: OutgoingMessage) -> None:
        if self._on_publish is not None:
            message = self._on_publish(message, None)
        await self._transport.publish(message)
