"""Reading handlers off a service class, once: signatures, adapters, options.

Everything here runs when a service starts or is described, never per message. A
mistake in a handler is a ``BindError`` naming the service, the method and the
parameter.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Sequence
from typing import Any, Union, get_args, get_origin, get_type_hints

from pydantic import BaseModel, PydanticSchemaGenerationError, TypeAdapter

from stream.core._codec import Codec, JsonCodec, content_type_check, decoder_for
from stream.core._decorators import marks_of
from stream.core._errors import BindError
from stream.core._injection import Injection, injection_for, provide_marker
from stream.core._messages import Message, OutgoingMessage, Response
from stream.core._options import ConsumeOptions, ProduceOptions
from stream.core._specs import ConsumerSpec, HandlerSpec, ProducerSpec
from stream.core._subscriptions import shared_subscriptions

__all__ = ("handler_specs", "sent_body_type")


_SPECS_ATTRIBUTE = "__stream_handler_specs__"


def handler_specs(service_class: type) -> tuple[HandlerSpec, ...]:
    """Reads and checks every marked method of ``service_class``, in definition order.

    The result is kept on the class itself (not inherited by subclasses), so a class
    is read once however many instances start.

    Raises:
        BindError: a handler's signature or options are wrong.
    """
    cached: tuple[HandlerSpec, ...] | None = vars(service_class).get(_SPECS_ATTRIBUTE)
    if cached is not None:
        return cached
    specs = []
    explicit_name = getattr(service_class, "name", None)
    codec = _checked_codec(
        f"{service_class.__name__}.codec", getattr(service_class, "codec", JsonCodec())
    )
    for name, function, owner in _marked_methods(service_class):
        # The default group is stable: a subclass or another module does not move it.
        group_prefix = explicit_name if isinstance(explicit_name, str) else owner.__name__
        specs.append(_read_handler(service_class.__name__, name, function, group_prefix, codec))
    shared_subscriptions(service_class.__name__, [s for s in specs if isinstance(s, ConsumerSpec)])
    result = tuple(specs)
    setattr(service_class, _SPECS_ATTRIBUTE, result)
    return result


def _marked_methods(service_class: type) -> list[tuple[str, Callable[..., Any], type]]:
    """Each handler's name, function and the class that defines it."""
    found: dict[str, tuple[Callable[..., Any], type]] = {}
    # Base classes first, so a subclass's override replaces its base's handler in place.
    for klass in reversed(service_class.__mro__):
        for name, attribute in vars(klass).items():
            if marks_of(attribute) is not None:
                found[name] = (attribute, klass)
            elif name in found:
                del found[name]  # overridden without marks: no longer a handler
    return [(name, function, owner) for name, (function, owner) in found.items()]


def _read_handler(
    service: str, name: str, function: Callable[..., Any], group_prefix: str, codec: Codec
) -> HandlerSpec:
    where = f"{service}.{name}"
    marks = marks_of(function)
    assert marks is not None
    if inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function):
        raise BindError(
            f"{where}: is a generator; a handler returns its result (`async def {name}`, or "
            f"a plain `def {name}` that runs in a worker thread)"
        )
    try:
        hints = get_type_hints(function, include_extras=True)
    except Exception as error:
        raise BindError(f"{where}: cannot resolve its type annotations ({error})") from error
    return_type = hints.get("return")
    if return_type in (OutgoingMessage, Message):
        raise BindError(
            f"{where}: returns a {return_type.__name__}, which would be sent as a JSON "
            "object; return the body (a model or a value) and set its key with "
            "@produce(key=...), or send it yourself with an injected Publisher"
        )
    consume = marks.consume
    if consume is None:
        if return_type is None or return_type is type(None):
            raise BindError(
                f"{where}: @produce without @consume needs a return annotation naming the "
                "message it sends, e.g. `-> DataBasic`"
            )
        return ProducerSpec(
            service=service,
            name=name,
            produces=marks.produces,
            return_type=return_type,
            description=inspect.getdoc(function),
            codec=codec,
        )
    _check_consume_options(where, consume)
    if consume.codec is not None:
        codec = _checked_codec(f"{where}: @consume(codec=...)", consume.codec)
    message_param, message_type, injections = _read_parameters(where, function, hints)
    element_type = (
        _batch_element(where, message_param, message_type) if consume.batch else message_type
    )
    adapter = _adapter(where, message_param, element_type)
    raw_kind = _raw_kind(element_type)
    for produce in marks.produces:
        _check_key_field(where, produce, return_type)
    return ConsumerSpec(
        service=service,
        name=name,
        options=consume,
        produces=marks.produces,
        group_id=consume.group_id or f"{group_prefix}.{name}",
        message_param=message_param,
        message_type=element_type,
        adapter=adapter,
        decode=decoder_for(adapter, raw_kind, codec),
        check_content_type=content_type_check(codec) if raw_kind is None else None,
        injections=injections,
        return_type=return_type,
        description=inspect.getdoc(function),
        codec=codec,
    )


def _read_parameters(
    where: str, function: Callable[..., Any], hints: dict[str, Any]
) -> tuple[str, Any, tuple[Injection, ...]]:
    parameters = list(inspect.signature(function).parameters.values())[1:]  # past `self`
    unannotated = [
        p.name
        for p in parameters
        if p.name not in hints
        and provide_marker(None, p.default) is None
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if len(unannotated) > 1:
        names = " and ".join(f"`{n}`" for n in unannotated)
        raise BindError(
            f"{where}: parameters {names} have no type annotation; annotate the message "
            "parameter with its model and the others with Logger, Message or Publisher"
        )
    message: tuple[str, Any] | None = None
    injections = []
    for parameter in parameters:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise BindError(
                f"{where}: parameter `{parameter.name}` is variadic; handlers take named "
                "parameters only"
            )
        annotation = hints.get(parameter.name, inspect.Parameter.empty)
        injection = injection_for(parameter.name, annotation, parameter.default)
        if injection is not None:
            injections.append(injection)
        elif annotation is inspect.Parameter.empty:
            raise BindError(
                f"{where}: parameter `{parameter.name}` has no type annotation; annotate it "
                "with the message model"
            )
        elif message is None:
            message = (parameter.name, annotation)
        else:
            raise BindError(
                f"{where}: parameter `{parameter.name}`: cannot inject "
                f"{_type_name(annotation)}, and `{message[0]}` already receives the message; "
                "annotate it with Logger, Message or Publisher, or give it a "
                "dependency-injector `Provide[...]` default"
            )
    if message is None:
        raise BindError(
            f"{where}: no parameter receives the message; add one annotated with the "
            "message model, e.g. `msg: MyModel`"
        )
    return message[0], message[1], tuple(injections)


def _raw_kind(annotation: Any) -> type[Any] | None:
    """``bytes`` or ``str`` for a raw body (also ``bytes | None``: a tombstone is None)."""
    if annotation in (bytes, str):
        return annotation  # type: ignore[no-any-return]
    if get_origin(annotation) in (Union, types.UnionType):
        kept = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(kept) == 1 and kept[0] in (bytes, str):
            return kept[0]  # type: ignore[no-any-return]
    return None


def _batch_element(where: str, param: str, annotation: Any) -> Any:
    if get_origin(annotation) in (list, Sequence) and len(get_args(annotation)) == 1:
        return get_args(annotation)[0]
    raise BindError(
        f"{where}: @consume(batch=True) hands a list, so annotate `{param}` as "
        f"list[...], not {_type_name(annotation)}"
    )


def _adapter(where: str, param: str, annotation: Any) -> TypeAdapter[Any]:
    try:
        return TypeAdapter(annotation)
    except PydanticSchemaGenerationError as error:
        raise BindError(
            f"{where}: parameter `{param}`: pydantic cannot validate {_type_name(annotation)}; "
            "use a pydantic model, a plain type, bytes or str"
        ) from error


def _checked_codec(where: str, codec: object) -> Codec:
    if isinstance(codec, Codec):
        return codec
    if isinstance(codec, type) and issubclass(codec, Codec):
        raise BindError(
            f"{where}: {codec.__name__} is a class; give an instance, {codec.__name__}()"
        )
    raise BindError(
        f"{where}: {codec!r} is not a Codec; use JsonCodec(), MsgPackCodec() or a "
        "subclass of stream.core.Codec"
    )


def _check_consume_options(where: str, options: ConsumeOptions) -> None:
    if not options.topics and options.pattern is None:
        raise BindError(f"{where}: @consume() names no topic; pass a topic or pattern=...")
    if options.topics and options.pattern is not None:
        raise BindError(f"{where}: @consume takes topics or pattern=..., not both")
    if options.partitions is not None and options.pattern is not None:
        raise BindError(
            f"{where}: partitions=... assigns partitions of named topics; it cannot be "
            "combined with pattern=..."
        )
    for field_name in ("max_records", "concurrency"):
        if getattr(options, field_name) < 1:
            raise BindError(f"{where}: {field_name} must be 1 or more")
    if options.max_wait < 0:
        raise BindError(f"{where}: max_wait must be >= 0 seconds")
    if options.filter is not None and options.batch:
        raise BindError(
            f"{where}: filter=... picks single messages; it cannot be combined with batch=True"
        )


def _check_key_field(where: str, produce: ProduceOptions, return_type: Any) -> None:
    if not isinstance(produce.key, str):
        return
    return_type = sent_body_type(return_type)
    is_model = isinstance(return_type, type) and issubclass(return_type, BaseModel)
    if is_model and produce.key not in return_type.model_fields:
        raise BindError(
            f"{where}: @produce({produce.topic!r}, key={produce.key!r}): "
            f"{return_type.__name__} has no field {produce.key!r}"
        )


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or repr(annotation)


def sent_body_type(return_type: Any) -> Any:
    """What a handler returning ``return_type`` sends: ``Response[X]`` sends an ``X``."""
    if get_origin(return_type) is Response:
        return get_args(return_type)[0]
    if return_type is Response:
        return Any
    return return_type
