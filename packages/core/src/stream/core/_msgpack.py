"""MessagePack bodies: ``MsgPackCodec``, needing the optional ``msgpack`` library.

A body is turned into Python data by pydantic (``mode="python"``), then packed. What
MessagePack holds natively travels natively: integers, floats, text, ``bytes`` (as
``bin``, not base64 as in JSON), lists, maps with any keys, and timezone-aware datetimes
(as its standard Timestamp extension, read back as UTC). Everything else (naive
datetimes, dates, UUIDs, decimals, enums, sets...) is written in its JSON form (ISO text,
strings, lists), which pydantic reads back in its default (lax) mode; a model in
strict mode takes only the native kinds. Decoding is the reverse: unpack, then
``validate_python`` with the handler's adapter.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic_core import to_jsonable_python

from stream.core._codec import Codec, adapter_for_type

__all__ = ("MsgPackCodec",)

_INSTALL = "pip install 'stream-core[msgpack]'"


class MsgPackCodec(Codec):
    """MessagePack through pydantic: ``application/msgpack``.

    Needs the ``msgpack`` library (``pip install 'stream-core[msgpack]'``); creating one
    without it raises ``ImportError`` saying so.

    Example:
        >>> class Service(core.Service):
        ...     codec = MsgPackCodec()
    """

    content_type = "application/msgpack"

    def __init__(self) -> None:
        try:
            import msgpack
        except ImportError as error:
            raise ImportError(
                f"MsgPackCodec needs the msgpack library, which is not installed: {_INSTALL}"
            ) from error
        # A packer per call (what packb does): one shared would not be thread-safe.
        self._packb: Callable[[Any], bytes] = partial(
            msgpack.packb, default=to_jsonable_python, datetime=True
        )
        self._unpackb = partial(_unpack, msgpack.unpackb, msgpack.StackError)

    def encode(self, body: Any) -> bytes:
        """``body`` as Python data (pydantic, ``mode="python"``), packed."""
        if isinstance(body, BaseModel):
            data = body.__pydantic_serializer__.to_python(body)
        else:
            data = adapter_for_type(type(body)).dump_python(body)
        return self._packb(data)

    def decode(self, data: bytes, adapter: TypeAdapter[Any]) -> Any:
        """``data`` unpacked (one object, nothing after it), then validated by ``adapter``."""
        return adapter.validate_python(self._unpackb(data))

    def decoder(self, adapter: TypeAdapter[Any]) -> Callable[[bytes], Any]:
        """Unpacks and validates, with the adapter's validator looked up once."""
        unpackb = self._unpackb
        validate_python = adapter.validate_python

        def decode(data: bytes) -> Any:
            return validate_python(unpackb(data))

        return decode


def _unpack(unpackb: Callable[..., Any], stack_error: type[Exception], data: bytes) -> Any:
    # strict_map_key=False: a dict[int, X] travels with integer keys. timestamp=3: a
    # Timestamp comes back as an aware datetime in UTC.
    try:
        return unpackb(data, strict_map_key=False, timestamp=3)
    except stack_error:
        # msgpack's own error says nothing; say what was wrong.
        raise ValueError("MessagePack nested too deeply to be read") from None
