"""Middlewares: the one seam around handling a message and publishing a record.

Tracing, metrics and a user's own cross-cutting concerns are middlewares; core knows the
seam, not OpenTelemetry or Prometheus. Retries, timeouts and dead-lettering stay the
dispatcher's: a middleware sees each attempt of a handler, and every record sent
(outputs, dead letters, and what the service's publisher sends).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from stream.core._messages import Message, OutgoingMessage

if TYPE_CHECKING:
    from stream.core._specs import ConsumerSpec

__all__ = ("CallNext", "Middleware", "handling_chain", "publishing_chain")

CallNext = Callable[[], Awaitable[Any]]
"""Runs the rest of the chain (the next middleware, at the end the handler) and returns
the handler's result."""


class Middleware:
    """Wraps handling one message and publishing one record; override either method.

    Set them on a service (``middlewares = (Tracing(), Metrics())``) and per handler
    (``@consume(..., middlewares=[Audit()])``). The service's come first, then the
    handler's, in the order listed; the first is outermost. A service without any pays
    nothing per message.
    """

    def for_handler(self, spec: ConsumerSpec) -> Middleware:
        """The middleware that wraps the handler ``spec``, asked once per handler when the
        service starts: ``self`` by default, or a copy that knows the handler (its name,
        its consumer group) so that nothing per message has to look it up. Records the
        service's publisher sends go through the service's middlewares as they are."""
        return self

    async def handle(self, message: Message, body: Any, call_next: CallNext) -> Any:
        """Around one attempt of the handler: ``body`` is the decoded message (a list for
        a batch handler, whose ``message`` is the batch's last). Return what
        ``call_next()`` returns; an exception it raises takes the retry path."""
        return await call_next()

    def publish(self, record: OutgoingMessage, source: Message | None) -> OutgoingMessage:
        """Around one record about to be sent: return it, or a changed copy (e.g. more
        headers). ``source`` is the message being handled, ``None`` for a publish from
        outside a handler."""
        return record


def handling_chain(
    middlewares: Sequence[Middleware],
) -> Callable[[Message, Any, CallNext], Awaitable[Any]] | None:
    """``middlewares``' ``handle`` methods as one call, or ``None`` when none overrides it."""
    handlers = [m.handle for m in middlewares if type(m).handle is not Middleware.handle]
    if not handlers:
        return None
    if len(handlers) == 1:
        return handlers[0]  # one coroutine frame less per message for the usual single one

    outermost_last = handlers[::-1]

    async def run(message: Message, body: Any, call: CallNext) -> Any:
        for handle in outermost_last:
            # partial, not a lambda: made and called in C, once per middleware per message.
            call = partial(handle, message, body, call)
        return await call()

    return run


def publishing_chain(
    middlewares: Sequence[Middleware],
) -> Callable[[OutgoingMessage, Message | None], OutgoingMessage] | None:
    """``middlewares``' ``publish`` methods as one call, or ``None`` when none overrides it."""
    publishers = [m.publish for m in middlewares if type(m).publish is not Middleware.publish]
    if not publishers:
        return None
    if len(publishers) == 1:
        return publishers[0]

    def run(record: OutgoingMessage, source: Message | None) -> OutgoingMessage:
        for publish in publishers:
            record = publish(record, source)
        return record

    return run
