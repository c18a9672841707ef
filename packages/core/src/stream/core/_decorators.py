"""``@consume`` and ``@produce``: they only mark a method; binding happens at start."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeVar

from stream.core._codec import Codec
from stream.core._delivery import DeliveryPolicy
from stream.core._middleware import Middleware
from stream.core._options import ConsumeOptions, KeySource, MessageFilter, ProduceOptions

__all__ = ("HandlerMarks", "consume", "marks_of", "produce")

# A handler is a coroutine function, or a plain function that runs in a worker thread.
HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])

_MARKS_ATTRIBUTE = "__stream_marks__"


@dataclass(frozen=True, slots=True)
class HandlerMarks:
    """What the decorators recorded on one method."""

    consume: ConsumeOptions | None = None
    produces: tuple[ProduceOptions, ...] = ()


def marks_of(function: object) -> HandlerMarks | None:
    """The marks ``@consume`` / ``@produce`` left on ``function``, if any."""
    marks = getattr(function, _MARKS_ATTRIBUTE, None)
    return marks if isinstance(marks, HandlerMarks) else None


def _mark(function: HandlerT, update: Callable[[HandlerMarks], HandlerMarks]) -> HandlerT:
    # The marks live on the function object itself: nothing global is registered, so two
    # services in one process never see each other's handlers.
    setattr(function, _MARKS_ATTRIBUTE, update(marks_of(function) or HandlerMarks()))
    return function


def consume(
    *topics: str,
    pattern: str | None = None,
    group_id: str | None = None,
    partitions: tuple[int, ...] | list[int] | None = None,
    auto_offset_reset: Literal["earliest", "latest"] = "earliest",
    batch: bool = False,
    max_records: int = 500,
    max_wait: float = 0.1,
    concurrency: int = 1,
    delivery: DeliveryPolicy | None = None,
    transport_options: Mapping[str, Any] | None = None,
    middlewares: Sequence[Middleware] = (),
    filter: MessageFilter | None = None,
    codec: Codec | None = None,
) -> Callable[[HandlerT], HandlerT]:
    """Marks an async method as the handler of messages from ``topics``.

    The method's parameters say what it receives: one parameter is the message body
    (a pydantic model, a plain type, ``bytes``, ``str``, or ``list[...]`` of one with
    ``batch=True``); the others are injected by annotation (``Logger``, ``Message``,
    ``Publisher``) or by a dependency-injector ``Provide[...]`` default. See
    :class:`~stream.core._options.ConsumeOptions` for the options.

    ``filter=`` splits one topic between handlers by a predicate on the received
    :class:`Message` (e.g. a header); see :class:`~stream.core._options.ConsumeOptions`.

    Example:
        >>> class Service(core.Service):
        ...     @consume("input_data")
        ...     async def on_input_data(self, msg: DataBasic) -> None: ...
    """
    options = ConsumeOptions(
        topics=tuple(topics),
        pattern=pattern,
        group_id=group_id,
        partitions=tuple(partitions) if partitions is not None else None,
        auto_offset_reset=auto_offset_reset,
        batch=batch,
        max_records=max_records,
        max_wait=max_wait,
        concurrency=concurrency,
        delivery=delivery if delivery is not None else DeliveryPolicy(),
        transport_options=dict(transport_options or {}),
        middlewares=tuple(middlewares),
        filter=filter,
        codec=codec,
    )

    def decorate(function: HandlerT) -> HandlerT:
        def update(marks: HandlerMarks) -> HandlerMarks:
            if marks.consume is not None:
                raise TypeError(
                    f"{function.__qualname__}: @consume is applied twice; list every topic "
                    "in one @consume(...)"
                )
            return replace(marks, consume=options)

        return _mark(function, update)

    return decorate


def produce(
    topic: str,
    *,
    key: KeySource = None,
    partition: int | None = None,
    headers: Mapping[str, str | bytes] | None = None,
) -> Callable[[HandlerT], HandlerT]:
    """Marks an async method whose return value is sent to ``topic``.

    Stack it with ``@consume`` to send each result on; stack several to send to
    several topics. Returning ``None`` sends nothing. On a method without
    ``@consume``, calling the method on a started service sends its result.

    Args:
        topic: Where the return value goes.
        key: A field name of the output, a function of it, or ``None`` to reuse the
            received message's key.
        partition: A fixed partition; ``None`` lets the key choose.
        headers: Headers added to every output.
    """
    options = ProduceOptions(topic=topic, key=key, partition=partition, headers=dict(headers or {}))

    def decorate(function: HandlerT) -> HandlerT:
        # Decorators apply bottom-up; prepending keeps the produces in reading order.
        return _mark(function, lambda marks: replace(marks, produces=(options, *marks.produces)))

    return decorate
