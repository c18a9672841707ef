"""What a handler can have injected besides the message body."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args, get_origin

from stream.core._messages import Message
from stream.core._publisher import Publisher

__all__ = ("Injection", "Logger", "injection_for", "provide_marker")

Logger = logging.Logger
"""Annotate a handler parameter with ``Logger`` to receive the service's logger."""

Marker = Any
"""A dependency-injector marker, ``Provide[...]`` and kin (their stubs type them loosely)."""

InjectionKind = Literal["logger", "message", "publisher", "provide"]


@dataclass(frozen=True, slots=True)
class Injection:
    """One injected parameter of a handler.

    Attributes:
        name: The parameter's name.
        kind: What is injected.
        marker: The dependency-injector marker, for ``kind == "provide"``.
    """

    name: str
    kind: InjectionKind
    marker: Marker | None = None


def provide_marker(annotation: Any, default: Any) -> Marker | None:
    """The ``Provide[...]`` marker of a parameter, from its default or ``Annotated`` metadata."""
    if _is_marker(default):
        return default
    if get_origin(annotation) is Annotated:
        for extra in get_args(annotation)[1:]:
            if _is_marker(extra):
                return extra
    return None


def injection_for(name: str, annotation: Any, default: Any) -> Injection | None:
    """How parameter ``name`` is injected, or ``None`` when it is not injectable."""
    marker = provide_marker(annotation, default)
    if marker is not None:
        return Injection(name, "provide", marker)
    if annotation is Logger:
        return Injection(name, "logger")
    if annotation is Message:
        return Injection(name, "message")
    if annotation is Publisher:
        return Injection(name, "publisher")
    return None


def _is_marker(value: object) -> bool:
    # dependency-injector flags its markers (Provide, Provider, Closing) this way.
    return getattr(type(value), "__IS_MARKER__", False) is True
