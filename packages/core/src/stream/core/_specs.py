"""What a service declares: one spec per marked method, read once when it starts.

Two kinds, so neither carries the other's empty fields: a :class:`ConsumerSpec` for a
``@consume`` method (with its ``@produce`` topics), a :class:`ProducerSpec` for a
``@produce`` method that is called, not fed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from stream.core._codec import Codec, Decoder
from stream.core._injection import Injection
from stream.core._messages import HeaderItems
from stream.core._options import ConsumeOptions, ProduceOptions

__all__ = ("ConsumerSpec", "HandlerSpec", "ProducerSpec")


@dataclass(frozen=True, kw_only=True, slots=True)
class HandlerSpec:
    """One marked method of a service class, read and checked.

    Attributes:
        service: The service class's name.
        name: The method's name.
        produces: Where its return value goes.
        return_type: The return annotation, or ``None`` when there is none.
        description: The method's docstring.
        codec: How its outputs are encoded (and, for a consumer, its input decoded):
            ``@consume(codec=...)``, else the service's ``codec``.
    """

    service: str
    name: str
    produces: tuple[ProduceOptions, ...]
    return_type: Any
    description: str | None
    codec: Codec

    @property
    def qualname(self) -> str:
        """``"<Service>.<method>"``."""
        return f"{self.service}.{self.name}"


@dataclass(frozen=True, kw_only=True, slots=True)
class ConsumerSpec(HandlerSpec):
    """A ``@consume`` method: what it reads, how, and what its body parameter takes.

    Attributes:
        options: What ``@consume`` recorded.
        group_id: The consumer group, explicit or derived.
        message_param: The parameter that receives the body.
        message_type: The body's type; for a batch handler, the element type.
        adapter: The pydantic adapter of ``message_type``, built once.
        decode: Raw body to value, built once.
        check_content_type: Raises ``DecodeError`` for an input whose ``content-type``
            header ``codec`` does not read; ``None`` for a raw body, which takes any.
        injections: The other parameters and what fills them.
    """

    options: ConsumeOptions
    group_id: str
    message_param: str
    message_type: Any
    adapter: TypeAdapter[Any]
    decode: Decoder
    check_content_type: Callable[[HeaderItems], None] | None
    injections: tuple[Injection, ...]

    @property
    def topics(self) -> tuple[str, ...]:
        """The topics it consumes (empty for a pattern subscription)."""
        return self.options.topics


@dataclass(frozen=True, kw_only=True, slots=True)
class ProducerSpec(HandlerSpec):
    """A ``@produce`` method without ``@consume``: calling it on a started service sends
    its result to its topics."""
