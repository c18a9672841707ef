"""Bodies and keys to and from bytes: JSON through pydantic, raw for ``bytes`` and ``str``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, TypeAdapter

from stream.core._errors import EncodeError
from stream.core._finite import NonFiniteError, non_finite_finder
from stream.core._messages import HeaderItems, HeadersInput, Message, OutgoingMessage

__all__ = (
    "Decoder",
    "decoder_for",
    "encode_headers",
    "encode_key",
    "encode_value",
)

Decoder = Callable[[bytes | None], Any]
"""Turns a raw body into the value a handler receives; raises on bad input."""


_adapters: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter_for_type(value_type: type[Any]) -> TypeAdapter[Any]:
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
        return _adapter_for_type(type(value)).dump_json(value)
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


def decoder_for(adapter: TypeAdapter[Any], raw_kind: type[Any] | None) -> Decoder:
    """The decoder for a handler's message parameter.

    ``raw_kind`` is ``bytes`` or ``str`` for raw bodies; anything else is JSON
    validated by ``adapter``, with non-finite numbers refused (see
    :func:`~stream.core._finite.non_finite_finder`). A tombstone (``None``) is offered
    to the adapter as ``None``, so ``Model | None`` accepts it and ``Model`` rejects it.
    """
    if raw_kind is bytes:
        return lambda raw: raw if raw is not None else adapter.validate_python(None)
    if raw_kind is str:
        return lambda raw: raw.decode() if raw is not None else adapter.validate_python(None)
    validate_json = adapter.validate_json
    validate_python = adapter.validate_python
    find_non_finite = non_finite_finder(adapter.core_schema)
    if find_non_finite is not None:

        def decode_finite(raw: bytes | None) -> Any:
            value = validate_json(raw) if raw is not None else validate_python(None)
            where = find_non_finite(value)
            if where is not None:
                raise NonFiniteError(where)
            return value

        return decode_finite

    def decode(raw: bytes | None) -> Any:
        return validate_json(raw) if raw is not None else validate_python(None)

    return decode
