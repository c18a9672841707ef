"""OpenTelemetry's propagator API over Kafka headers, as stream keeps them.

Kafka headers are ordered ``(name, bytes)`` pairs where a name may repeat; W3C trace
context is text. The getter reads every value of a name, the setter replaces a name's
values, so an output never carries two ``traceparent`` headers (the input's, carried by
``PropagateHeaders("*")`` or kept by a dead letter, and its own).
"""

from __future__ import annotations

from opentelemetry.propagators.textmap import Getter, Setter

from stream.core.transport import HeaderItems

__all__ = ("HEADER_GETTER", "HEADER_SETTER", "HeaderList")

HeaderList = list[tuple[str, bytes]]
"""The headers of a record being stamped: a list, so the setter can replace in place."""


class _HeaderGetter(Getter[HeaderItems]):
    def get(self, carrier: HeaderItems, key: str) -> list[str] | None:
        # latin-1 maps every byte: a producer's undecodable bytes are refused by the
        # propagator's own format check, never by an exception here.
        values = [value.decode("latin-1") for name, value in carrier if name == key]
        return values or None

    def keys(self, carrier: HeaderItems) -> list[str]:
        return [name for name, _ in carrier]


class _HeaderSetter(Setter[HeaderList]):
    def set(self, carrier: HeaderList, key: str, value: str) -> None:
        carrier[:] = [(name, old) for name, old in carrier if name != key]
        carrier.append((key, value.encode("latin-1")))


HEADER_GETTER = _HeaderGetter()
HEADER_SETTER = _HeaderSetter()
