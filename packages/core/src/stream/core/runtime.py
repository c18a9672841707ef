"""Turning a service instance's handler specs into running parts, once per start."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from dependency_injector.wiring import ProvidersMap

from stream.core.binding import HandlerSpec
from stream.core.codec import encode_value
from stream.core.dispatch import Dispatcher, Injector, OutputTarget
from stream.core.errors import BindError
from stream.core.injection import Injection
from stream.core.publisher import Publisher
from stream.core.transport import Subscription, Transport

__all__ = ("build_dispatcher", "publishing_method", "subscription_for")


def subscription_for(spec: HandlerSpec) -> Subscription:
    """What the transport needs to know about ``spec``'s subscription."""
    options = spec.consume
    assert options is not None and spec.group_id is not None
    return Subscription(
        name=spec.qualname,
        topics=options.topics,
        pattern=options.pattern,
        group_id=spec.group_id,
        partitions=options.partitions,
        auto_offset_reset=options.auto_offset_reset,
        batch=options.batch,
        max_records=options.max_records,
        max_wait=options.max_wait,
        concurrency=options.concurrency,
        delivery=options.delivery,
        transport_options=options.transport_options,
    )


def build_dispatcher(
    spec: HandlerSpec,
    service: object,
    container: object | None,
    logger: logging.Logger,
    publisher: Publisher,
    transport: Transport,
) -> Dispatcher:
    """The dispatcher of ``spec`` on ``service``; dependencies resolve against ``container``."""
    injectors = [
        (injection.name, _injector(spec, injection, container, logger, publisher))
        for injection in spec.injections
    ]
    # Looked up on the instance, so a test double installed on it (TestBroker's mocks) is used.
    call = getattr(service, spec.name)
    return Dispatcher(
        spec,
        call,
        injectors,
        logger,
        max_output_bytes=transport.max_message_bytes,
        wait_backoff=transport.waits_retry_backoff,
    )


def _injector(
    spec: HandlerSpec,
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


def publishing_method(
    spec: HandlerSpec, method: Callable[..., Awaitable[Any]], publisher: Publisher
) -> Callable[..., Awaitable[Any]]:
    """Wraps a produce-only method so that calling it sends its result to its topics."""
    targets = tuple(OutputTarget.from_options(p) for p in spec.produces)

    @wraps(method)
    async def call_and_publish(*args: Any, **kwargs: Any) -> Any:
        result = await method(*args, **kwargs)
        if result is not None:
            value = encode_value(result)
            await publisher.publish_many([t.message(value, result, None) for t in targets])
        return result

    return call_and_publish
