"""From service classes to the version-free model: handler specs plus ``describe()``.

Everything here reads what a service declares (its ``HandlerSpec``s) and what its
transport says about itself (``Transport.describe()``); no transport is imported.
"""

from __future__ import annotations

import inspect
import types
from collections import Counter
from collections.abc import Sequence
from typing import Any, Union, get_args, get_origin

from stream.asyncapi._distribution import version_of_module
from stream.asyncapi._model import (
    Api,
    ChannelModel,
    FilterModel,
    KeyModel,
    MessageModel,
    OperationModel,
    ServerModel,
    ServiceModel,
)
from stream.core import Codec, Response, Service
from stream.core.transport import (
    ConsumerSpec,
    HandlerSpec,
    ProduceOptions,
    Transport,
    TransportDescription,
)

__all__ = ("describe",)

_DEFAULT_VERSION = "0.1.0"


def describe(
    *services: type[Service] | Service, title: str | None = None, version: str | None = None
) -> Api:
    """What ``services`` expose, as the model every renderer reads.

    Args:
        *services: Service classes or instances; one document describes them together.
        title: The document's title; by default the service's class name, or the
            names of all services joined.
        version: The document's version; by default the service's own (its class's
            ``version``, else its distribution's, else ``"0.1.0"``).

    Raises:
        TypeError: something given is not a stream service.
        ValueError: no service is given.
        BindError: a handler of a service is wrong.
    """
    classes = _unique_classes(services)
    names = _display_names(classes)
    models = tuple(
        _service_model(service_class, names[service_class], _transport_of(service))
        for service_class, service in classes.items()
    )
    versions = {model.version for model in models}
    return Api(
        title=title or ", ".join(model.name for model in models),
        version=version or (versions.pop() if len(versions) == 1 else _DEFAULT_VERSION),
        description=_joined_descriptions(models),
        services=models,
    )


def _unique_classes(
    services: Sequence[type[Service] | Service],
) -> dict[type[Service], type[Service] | Service]:
    if not services:
        raise ValueError("describe() needs at least one service class or instance")
    found: dict[type[Service], type[Service] | Service] = {}
    for service in services:
        service_class = service if isinstance(service, type) else type(service)
        if not issubclass(service_class, Service):
            raise TypeError(
                f"{service_class.__qualname__} is not a stream service; pass a subclass of "
                "stream.core.Service (or an instance of one)"
            )
        found.setdefault(service_class, service)
    return found


def _display_names(classes: dict[type[Service], Any]) -> dict[type[Service], str]:
    # Two services of the same name (each module's `Service`) are told apart by module.
    counts = Counter(service_class.__name__ for service_class in classes)
    return {
        service_class: service_class.__name__
        if counts[service_class.__name__] == 1
        else f"{service_class.__module__}.{service_class.__qualname__}"
        for service_class in classes
    }


def _transport_of(service: type[Service] | Service) -> TransportDescription | None:
    broker = getattr(service, "broker", None)
    return broker.describe() if isinstance(broker, Transport) else None


def _service_model(
    service_class: type[Service], name: str, transport: TransportDescription | None
) -> ServiceModel:
    operations: list[OperationModel] = []
    client_id = transport.client_id if transport is not None else None
    specs = service_class.handlers()
    filters = _filters(specs)
    for spec in specs:
        operations.extend(_receive_operations(spec, client_id, filters.get(spec.name)))
        operations.extend(_send_operations(spec, client_id))
    return ServiceModel(
        name=name,
        version=_service_version(service_class),
        content_type=service_class.codec.content_type,
        description=_own_docstring(service_class),
        protocol=transport.protocol if transport is not None else None,
        servers=tuple(
            ServerModel(
                host=server.host,
                protocol=server.protocol,
                protocol_version=server.protocol_version,
                description=server.description,
                security=server.security,
            )
            for server in (transport.servers if transport is not None else ())
        ),
        operations=tuple(operations),
        operation_bindings=dict(transport.bindings) if transport is not None else {},
    )


def _filters(specs: Sequence[HandlerSpec]) -> dict[str, FilterModel]:
    """Each filtered handler's place in its subscription (handlers reading the same
    topics in one group share one, tried in class order; binding checked the rest)."""
    shared: dict[tuple[object, ...], list[ConsumerSpec]] = {}
    for spec in specs:
        if isinstance(spec, ConsumerSpec):
            key = (spec.group_id, spec.options.topics, spec.options.pattern)
            shared.setdefault(key, []).append(spec)
    found = {}
    for members in shared.values():
        if all(m.options.filter is None for m in members):
            continue
        names = tuple(m.name for m in members)
        last = members[-1]
        for member in members:
            found[member.name] = FilterModel(
                predicate=_predicate_name(member.options.filter),
                handlers=names,
                fallback=last.name if last.options.filter is None else None,
            )
    return found


def _predicate_name(predicate: object) -> str | None:
    if predicate is None:
        return None
    name = getattr(predicate, "__name__", None) or type(predicate).__name__
    doc = _first_line(inspect.getdoc(predicate)) if name != "<lambda>" else None
    return f"{name}: {doc}" if doc else name


def _receive_operations(
    spec: HandlerSpec, client_id: str | None, filter_model: FilterModel | None = None
) -> list[OperationModel]:
    if not isinstance(spec, ConsumerSpec):
        return []
    options = spec.options
    channels = [ChannelModel(topic=topic) for topic in options.topics] or [
        ChannelModel(pattern=options.pattern)
    ]
    message = MessageModel(
        type=spec.message_type,
        mode="validation",
        content_type=_content_type(spec.message_type, spec.codec),
    )
    dead_letter = options.delivery.dead_letter
    return [
        OperationModel(
            action="receive",
            handler=spec.name,
            channel=channel,
            message=message,
            summary=_first_line(spec.description),
            description=spec.description,
            group_id=spec.group_id,
            client_id=client_id,
            batch=options.batch,
            max_records=options.max_records if options.batch else None,
            guarantee=str(options.delivery.guarantee),
            retry_attempts=options.delivery.retry.attempts,
            dead_letter=None
            if dead_letter is None
            # A pattern's dead-letter topic depends on which topic matched.
            else dead_letter.topic_for(channel.topic or "<topic>"),
            manual_partitions=options.partitions,
            filter=filter_model,
        )
        for channel in channels
    ]


def _send_operations(spec: HandlerSpec, client_id: str | None) -> list[OperationModel]:
    sent_type = _sent_type(spec)
    return [
        OperationModel(
            action="send",
            handler=spec.name,
            channel=ChannelModel(topic=produce.topic),
            message=MessageModel(
                type=sent_type,
                mode="serialization",
                content_type=_content_type(sent_type, spec.codec),
                key=_key_of(produce),
                headers={
                    name: value.decode(errors="replace") if isinstance(value, bytes) else value
                    for name, value in produce.headers.items()
                },
            ),
            summary=_first_line(spec.description),
            description=spec.description,
            client_id=client_id,
        )
        for produce in spec.produces
    ]


def _sent_type(spec: HandlerSpec) -> Any:
    """What one sent message holds: the return type without ``None`` (which sends
    nothing), and for a batch handler returning a list, one element."""
    sent = spec.return_type
    if sent is None or sent is type(None):
        return Any
    if get_origin(sent) in (Union, types.UnionType):
        kept = [arg for arg in get_args(sent) if arg is not type(None)]
        sent = kept[0] if len(kept) == 1 else Union[tuple(kept)]  # noqa: UP007
    is_batch = isinstance(spec, ConsumerSpec) and spec.options.batch
    if is_batch and get_origin(sent) in (list, Sequence) and len(get_args(sent)) == 1:
        sent = get_args(sent)[0]
    # A Response[X] sends an X, with a key, headers or topic of its own.
    if get_origin(sent) is Response:
        return get_args(sent)[0]
    return Any if sent is Response else sent


def _key_of(produce: ProduceOptions) -> KeyModel | None:
    if produce.key is None:
        return None
    if isinstance(produce.key, str):
        return KeyModel(source="field", name=produce.key)
    return KeyModel(source="function", name=getattr(produce.key, "__name__", repr(produce.key)))


def _content_type(body_type: Any, codec: Codec) -> str:
    # bytes and str travel as they are (see stream.core._codec); everything else as the
    # handler's codec encodes it, JSON by default.
    if body_type is bytes:
        return "application/octet-stream"
    if body_type is str:
        return "text/plain"
    return codec.content_type


def _service_version(service_class: type[Service]) -> str:
    declared = getattr(service_class, "version", None)
    if isinstance(declared, str) and declared:
        return declared
    return version_of_module(service_class.__module__) or _DEFAULT_VERSION


def _own_docstring(service_class: type[Service]) -> str | None:
    # inspect.getdoc would inherit stream.core.Service's own docstring; only the class's counts.
    doc = vars(service_class).get("__doc__")
    return inspect.cleandoc(doc) if isinstance(doc, str) and doc.strip() else None


def _first_line(text: str | None) -> str | None:
    return text.strip().splitlines()[0] if text and text.strip() else None


def _joined_descriptions(models: Sequence[ServiceModel]) -> str | None:
    if len(models) == 1:
        return models[0].description
    # Each service's own description goes with its tag; this one says what is together.
    names = [f"**{model.name}**" for model in models]
    return f"{len(models)} services: {', '.join(names[:-1])} and {names[-1]}."
