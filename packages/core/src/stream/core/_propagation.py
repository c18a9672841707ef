"""Header propagation: carry chosen headers of the input to a handler's outputs.

A middleware, so it takes the one path every outgoing record takes (the trace headers of
``stream.opentelemetry`` take it too), is set per service or per handler like any other,
and costs nothing when unused.
"""

from __future__ import annotations

from stream.core._messages import DeadLetterMessage, HeaderItems, Message, OutgoingMessage
from stream.core._middleware import Middleware

__all__ = ("PropagateHeaders",)

# stream's own headers describe one hop (why a message was dead-lettered, where it came
# from): carried on, they would tell a lie about the next one.
_OWN_PREFIX = "stream."


class PropagateHeaders(Middleware):
    """Copies the input's headers named by ``patterns`` to every output of its handler.

    A pattern is a header name (``"x-tenant"``), a prefix ending in ``*``
    (``"baggage-*"``), or ``"*"`` for every header; stream's own ``stream.*`` headers are
    never carried. A header the output already has (from ``@produce(headers=...)`` or
    ``Response(headers=...)``) wins over the input's of the same name. A batch handler's
    outputs carry its last message's headers. Dead letters keep all of the input's
    headers anyway, and what a handler sends through ``Publisher`` has no input to carry
    from.

    Example:
        >>> class Service(core.Service):
        ...     middlewares = (PropagateHeaders("x-tenant", "x-request-id"),)
    """

    __slots__ = ("_names", "_prefixes")

    def __init__(self, *patterns: str) -> None:
        if not patterns:
            raise ValueError(
                'PropagateHeaders: name the headers to carry, e.g. PropagateHeaders("x-tenant"),'
                ' or PropagateHeaders("*") for all of them'
            )
        names: set[str] = set()
        prefixes: list[str] = []
        for pattern in patterns:
            if "*" in pattern.rstrip("*") or pattern.endswith("**"):
                raise ValueError(
                    f"PropagateHeaders: {pattern!r}: a `*` may only end a pattern "
                    '(e.g. "baggage-*"), once'
                )
            if pattern.endswith("*"):
                prefixes.append(pattern[:-1])
            else:
                names.add(pattern)
        self._names = frozenset(names)
        self._prefixes = tuple(prefixes)

    def carries(self, name: str) -> bool:
        """Whether an input header called ``name`` goes to the outputs."""
        if name.startswith(_OWN_PREFIX):
            return False
        return name in self._names or name.startswith(self._prefixes)

    def publish(self, record: OutgoingMessage, source: Message | None) -> OutgoingMessage:
        if source is None or not source.headers or isinstance(record, DeadLetterMessage):
            return record
        own = {name for name, _ in record.headers}
        carried: HeaderItems = tuple(
            (name, value)
            for name, value in source.headers
            if name not in own and self.carries(name)
        )
        if carried:
            # Each record the dispatcher builds is its own (its headers' tuple may be
            # shared, so it gets a new one): no copy of the record is needed.
            record.headers = record.headers + carried
        return record
