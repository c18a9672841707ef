"""Turning a service instance's handler specs into running parts, once per start."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial, wraps
from typing import Any

import anyio
import anyio.to_thread
from dependency_injector.wiring import ProvidersMap

from stream.core._codec import encode_value
from stream.core._dispatch import Dispatcher, Injector, OutputTarget, response_outputs
from stream.core._errors import BindError
from stream.core._injection import Injection
from stream.core._messages import Response
from stream.core._middleware import Middleware
from stream.core._publisher import Publisher
from stream.core._specs import ConsumerSpec, ProducerSpec
from stream.core.transport import HandlerCall, Subscription, Transport

__all__ = ("build_dispatcher", "in_worker_thread", "publishing_method", "subscription_for")


def subscription_for(spec: ConsumerSpec) -> Subscription:
    """What the transport needs to know about ``spec``'s subscription.

    A pattern never matches the subscription's own dead-letter topics: ``orders.*``
    would otherwise read ``orders.x.dlq``, dead-letter it again to ``orders.x.dlq.dlq``,
    and so on without end.
    """
    options = spec.options
    dead_letter = options.delivery.dead_letter
    if options.pattern is not None and dead_letter is not None:
        own = (
            re.escape(dead_letter.topic)
            if dead_letter.topic is not None
            else f".*{re.escape(dead_letter.suffix)}"
        )
        options = replace(options, pattern=rf"(?!{own}\Z)(?:{options.pattern})")
    return Subscription(name=spec.qualname, group_id=spec.group_id, options=options)


def build_dispatcher(
    spec: ConsumerSpec,
    call: HandlerCall,
    container: object | None,
    logger: logging.Logger,
    publisher: Publisher,
    transport: Transport,
    service_middlewares: Sequence[Middleware] = (),
) -> Dispatcher:
    """The dispatcher calling ``call`` for ``spec``; dependencies resolve against ``container``."""
    injectors = [
        (injection.name, _injector(spec, injection, container, logger, publisher))
        for injection in spec.injections
    ]
    # Asked per output only when the transport has limits of its own to tell.
    refuses = type(transport).refusal is not Transport.refusal
    return Dispatcher(
        spec,
        call,
        injectors,
        logger,
        refusal=transport.refusal if refuses else None,
        middlewares=[
            m.for_handler(spec) for m in (*service_middlewares, *spec.options.middlewares)
        ],
    )


def _injector(
    spec: ConsumerSpec,
    injection: Injection,
    container: object | None,
    logger: logging.Logger,
    publisher: Publisher,
) -> Injector:
    if injection.kind == "message":
        return lambda message: message
    if injection.kind == "logger":
        return lambda _message: logger
    if injection.kind == "publisher":
        return lambda _message: publisher
    assert injection.marker is not None
    where = f"{spec.qualname}: parameter `{injection.name}`"
    if container is None:
        raise BindError(
            f"{where} asks for a dependency, but {spec.service} has no `container`; set "
            f"`container = YourContainer()` on the class"
        )
    provider = ProvidersMap(container).resolve_provider(injection.marker.provider)
    if provider is None:
        # A DeclarativeContainer instance is a DynamicContainer; name the class the user wrote.
        named = getattr(container, "declarative_parent", None) or type(container)
        raise BindError(
            f"{where}: {injection.marker.provider!r} is not a provider of "
            f"{named.__name__}; name one of its providers in Provide[...]"
        )
    return lambda _message: provider()


def publishing_method(spec: ProducerSpec, call: HandlerCall, publisher: Publisher) -> HandlerCall:
    """Wraps a produce-only method so that calling it sends its result to its topics."""
    targets = tuple(OutputTarget.from_options(p) for p in spec.produces)

    @wraps(call)
    async def call_and_publish(*args: Any, **kwargs: Any) -> Any:
        result = await call(*args, **kwargs)
        if type(result) is Response:
            await publisher.publish_many(response_outputs(result, targets, None))
        elif result is not None:
            value = encode_value(result)
            await publisher.publish_many([t.message(value, result, None) for t in targets])
        return result

    return call_and_publish


def in_worker_thread(call: Callable[..., Any], threads: anyio.CapacityLimiter) -> HandlerCall:
    """A plain ``def`` handler as a coroutine that runs it in a worker thread, at most
    ``threads`` at a time. A timeout cannot interrupt it: the thread runs to its end."""

    @wraps(call)
    async def run_in_thread(*args: Any, **kwargs: Any) -> Any:
        return await anyio.to_thread.run_sync(partial(call, *args, **kwargs), limiter=threads)

    return run_in_thread
