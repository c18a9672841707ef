"""Bodies and keys to and from bytes: a ``Codec`` (JSON through pydantic by default), raw
for ``bytes`` and ``str``, and the ``content-type`` header that says which."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, TypeAdapter

from stream.core._errors import DecodeError, EncodeError
from stream.core._finite import NonFiniteError, non_finite_finder
from stream.core._messages import HeaderItems, HeadersInput, Message, OutgoingMessage
from stream.core._text import safe_text

__all__ = (
    "CONTENT_TYPE",
    "Codec",
    "Decoder",
    "JsonCodec",
    "adapter_for_type",
    "body_encoder",
    "content_type_check",
    "content_type_of",
    "decoder_for",
    "encode_headers",
    "encode_key",
    "encode_value",
    "labelled",
    "media_type",
)

Decoder = Callable[[bytes | None], Any]
"""Turns a raw body into the value a handler receives; raises on bad input."""

CONTENT_TYPE = "content-type"
"""The header naming how a body is encoded, as FastStream and HTTP name it."""

TEXT = "text/plain"
"""The content type of a ``str`` body, sent as UTF-8 whatever the codec."""


class Codec(ABC):
    """How a body that is not raw travels: encoded to bytes, decoded and validated back.

    A service's ``codec`` (``JsonCodec()`` by default) encodes what it sends and decodes
    what its handlers receive; ``@consume(codec=...)`` sets one handler's, for its input
    and its outputs. Raw bodies never reach a codec: ``bytes`` go as they are, ``str`` as
    UTF-8 text (``content-type: text/plain``), ``None`` is a tombstone.

    Attributes:
        content_type: The media type of its bodies, written to every output's
            ``content-type`` header and shown in the AsyncAPI document.
    """

    content_type: str

    @abstractmethod
    def encode(self, body: Any) -> bytes:
        """``body`` (a pydantic model or any value pydantic can serialise) as bytes.

        Raises:
            Exception: the body cannot be encoded; it is dead-lettered with its input.
        """

    @abstractmethod
    def decode(self, data: bytes, adapter: TypeAdapter[Any]) -> Any:
        """``data`` decoded and validated by ``adapter`` (the handler's message type).

        Raises:
            Exception: ``data`` is not a valid body; the message is dead-lettered.
        """

    def decoder(self, adapter: TypeAdapter[Any]) -> Callable[[bytes], Any]:
        """:meth:`decode` bound to ``adapter``, built once per handler; override it to
        prepare per-type work once instead of per message."""
        decode = self.decode
        return lambda data: decode(data, adapter)

    def reads(self, content_type: str) -> bool:
        """Whether a message whose ``content-type`` header is ``content_type`` is one of
        this codec's; by default, the same media type (parameters and case aside)."""
        return media_type(content_type) == media_type(self.content_type)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def media_type(content_type: str) -> str:
    """``"Application/JSON; charset=utf-8"`` -> ``"application/json"``."""
    return content_type.split(";", 1)[0].strip().lower()


_JSON_TYPES = frozenset({"application/json", TEXT})


class JsonCodec(Codec):
    """JSON through pydantic: the default codec, ``application/json``.

    Also reads structured-syntax JSON types (``application/cloudevents+json``,
    ``application/vnd.acme+json``) and ``text/plain``: a JSON document published as a
    ``str`` (by stream or FastStream) is labelled so. Numbers that are not finite are refused unless the
    model allows them (see :mod:`stream.core._finite`).
    """

    content_type = "application/json"

    def encode(self, body: Any) -> bytes:
        """``body`` as JSON, by pydantic."""
        if isinstance(body, BaseModel):
            return body.__pydantic_serializer__.to_json(body)
        return adapter_for_type(type(body)).dump_json(body)

    def decode(self, data: bytes, adapter: TypeAdapter[Any]) -> Any:
        """``data`` parsed and validated by pydantic in one pass."""
        return adapter.validate_json(data)

    def decoder(self, adapter: TypeAdapter[Any]) -> Callable[[bytes], Any]:
        """pydantic-core's JSON validator itself: no call of ours, nor the ``TypeAdapter``
        method's keyword handling, between the bytes and the value."""
        if not adapter.pydantic_complete:
            # Not built yet (a model with defer_build): pydantic builds it at first use.
            return adapter.validate_json
        # TypeAdapter.validate_json only forwards its defaults to this, per message.
        validate_json: Callable[[bytes], Any] = adapter.validator.validate_json
        return validate_json

    def reads(self, content_type: str) -> bool:
        """``application/json``, any ``+json`` type, or ``text/plain``."""
        kind = media_type(content_type)
        return kind in _JSON_TYPES or kind.endswith("+json")


_adapters: dict[type[Any], TypeAdapter[Any]] = {}


def adapter_for_type(value_type: type[Any]) -> TypeAdapter[Any]:
    """The adapter encoding values of ``value_type`` (not a model: models encode themselves)."""
    # Building an adapter costs far more than encoding; keep one per type sent.
    adapter = _adapters.get(value_type)
    if adapter is None:
        adapter = _adapters[value_type] = TypeAdapter(value_type)
    return adapter


def encode_value(value: object) -> bytes | None:
    """Encodes a body: ``None`` is a tombstone, ``bytes`` and ``str`` go as they are,
    anything else as JSON through pydantic."""
    try:
        # Models first: they are what handlers return nearly always. A model can fail too
        # (a field holding what JSON cannot say), and must fail as an EncodeError, the
        # error the dispatcher dead-letters instead of stopping the subscription.
        if isinstance(value, BaseModel):
            return value.__pydantic_serializer__.to_json(value)
        if value is None:
            return None
        if isinstance(value, bytes):
            return value
        if isinstance(value, str):
            return value.encode()
        if isinstance(value, OutgoingMessage | Message):
            raise TypeError(f"a {type(value).__name__} is not a body")
        return adapter_for_type(type(value)).dump_json(value)
    except Exception as error:
        raise EncodeError(
            f"cannot encode a {type(value).__name__} as JSON: {error}; send a pydantic "
            "model, a JSON-compatible value, str or bytes"
        ) from error


def encode_key(key: object) -> bytes | None:
    """Encodes a key: ``bytes`` as they are, anything else as its ``str``."""
    if key is None or isinstance(key, bytes):
        return key
    return str(key).encode()


def encode_headers(headers: HeadersInput | None) -> HeaderItems:
    """Normalises headers to Kafka's ordered ``(name, bytes)`` pairs."""
    if not headers:
        return ()
    items = headers.items() if isinstance(headers, Mapping) else headers
    return tuple(
        (name, value.encode() if isinstance(value, str) else value) for name, value in items
    )


def body_encoder(codec: Codec) -> Callable[[object], bytes | None]:
    """How a handler or publisher encodes a body with ``codec``: ``None`` is a tombstone,
    ``bytes`` and ``str`` go as they are, anything else through ``codec``; a failure is
    an ``EncodeError``. The default codec's is :func:`encode_value` itself."""
    if type(codec) is JsonCodec:
        return encode_value
    encode = codec.encode

    def encode_body(value: object) -> bytes | None:
        if value is None or isinstance(value, bytes | str):
            return encode_value(value)  # raw: the same whatever the codec
        try:
            if isinstance(value, OutgoingMessage | Message):
                raise TypeError(f"a {type(value).__name__} is not a body")
            return encode(value)
        except Exception as error:
            raise EncodeError(
                f"cannot encode a {type(value).__name__} as {codec.content_type} with "
                f"{codec!r}: {error}; send a pydantic model or a value it can encode, str "
                "or bytes"
            ) from error

    return encode_body


def decoder_for(
    adapter: TypeAdapter[Any], raw_kind: type[Any] | None, codec: Codec | None = None
) -> Decoder:
    """The decoder for a handler's message parameter.

    ``raw_kind`` is ``bytes`` or ``str`` for raw bodies; anything else is decoded by
    ``codec`` (JSON by default) and validated by ``adapter``, with non-finite numbers
    refused (see :func:`~stream.core._finite.non_finite_finder`). A tombstone (``None``)
    is offered to the adapter as ``None``, so ``Model | None`` accepts it and ``Model``
    rejects it.
    """
    if raw_kind is bytes:
        return lambda raw: raw if raw is not None else adapter.validate_python(None)
    if raw_kind is str:
        return lambda raw: raw.decode() if raw is not None else adapter.validate_python(None)
    decode_bytes = (codec or JsonCodec()).decoder(adapter)
    validate_python = adapter.validate_python
    find_non_finite = non_finite_finder(adapter.core_schema)
    if find_non_finite is not None:

        def decode_finite(raw: bytes | None) -> Any:
            value = decode_bytes(raw) if raw is not None else validate_python(None)
            where = find_non_finite(value)
            if where is not None:
                raise NonFiniteError(where)
            return value

        return decode_finite

    def decode(raw: bytes | None) -> Any:
        return decode_bytes(raw) if raw is not None else validate_python(None)

    return decode


def content_type_of(body: object, codec: Codec) -> str | None:
    """The ``content-type`` of ``body`` sent with ``codec``: none for a tombstone or raw
    ``bytes`` (opaque: nothing is claimed), ``text/plain`` for ``str``, else the codec's."""
    if body is None or isinstance(body, bytes):
        return None
    if isinstance(body, str):
        return TEXT
    return codec.content_type


def labelled(headers: HeaderItems, content_type: str | None) -> HeaderItems:
    """``headers`` with a ``content-type`` header first, unless there is no content type
    or ``headers`` name their own (a user's own label is kept, never doubled)."""
    if content_type is None or any(name == CONTENT_TYPE for name, _ in headers):
        return headers
    return ((CONTENT_TYPE, content_type.encode()), *headers)


def content_type_check(codec: Codec) -> Callable[[HeaderItems], None]:
    """Checks a received message's ``content-type`` header (the last one, as
    :meth:`Message.header` reads) against ``codec``: no header, or an empty one (what
    FastStream sends with a ``bytes`` body), is taken for the codec's own (most
    producers send none); one the codec does not read is a ``DecodeError``, so the
    message is dead-lettered instead of being parsed as what it is not."""
    own = codec.content_type.encode()
    reads = codec.reads

    def check(headers: HeaderItems) -> None:
        label = None
        for name, value in headers:
            if name == CONTENT_TYPE:
                label = value
        if not label or label == own:
            return
        text = label.decode(errors="replace")
        if not reads(text):
            raise DecodeError(
                f"its content-type is {safe_text(text, 200)!r}, but the handler reads "
                f"{codec.content_type} ({codec!r}); publish it as {codec.content_type}, or "
                "give the handler a codec for that type with @consume(codec=...)"
            )

    return check
