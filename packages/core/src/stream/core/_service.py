"""``Service``: the class users subclass to write a stream service."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MethodType, TracebackType
from typing import Any, ClassVar, Self

import anyio

from stream.core._binding import handler_specs
from stream.core._codec import Codec, JsonCodec
from stream.core._errors import HookError, NotRunningError
from stream.core._messages import HeadersInput, TopicPartition
from stream.core._middleware import Middleware
from stream.core._publisher import Publisher
from stream.core._requests import Request
from stream.core._routing import SubscriptionHandler
from stream.core._runtime import (
    build_dispatcher,
    in_worker_thread,
    publishing_method,
    subscription_for,
)
from stream.core._specs import ConsumerSpec, HandlerSpec, ProducerSpec
from stream.core._subscriptions import shared_subscriptions
from stream.core._topics import Topic, checked_topics
from stream.core.transport import HandlerCall, HandlerWrapper, Transport, TransportObserver

__all__ = ("Service",)


@dataclass(slots=True)
class _Running:
    transport: Transport
    publisher: Publisher
    stopped: anyio.Event
    installed: tuple[str, ...]
    # Each @consume method's name to its subscription's handler (shared when filtered).
    subscriptions: dict[str, SubscriptionHandler] = field(default_factory=dict)


class Service:
    """Base class of a stream service.

    Subclass it, set ``broker``, and mark async methods with ``@consume`` and
    ``@produce``. Override the lifecycle hooks as plain async methods. A service
    instance runs on one transport at a time: its ``broker``, or the one passed to
    :meth:`start` (the in-memory one in tests).

    Attributes:
        broker: The transport the service runs on, e.g. ``KafkaBroker("localhost:9092")``.
        container: A dependency-injector container instance, for ``Provide[...]``
            parameters of handlers.
        name: Names the consumer groups of handlers without an explicit ``group_id``.
        topics: Topics the service needs, created at start when missing (see
            :class:`Topic`); a dead-letter topic is created like its source.
        middlewares: Wrap handling and publishing for the whole service. One that is
            also a ``TransportObserver`` is given to the transport at start.
    """

    broker: ClassVar[Transport]
    container: ClassVar[Any] = None
    name: ClassVar[str | None] = None
    codec: ClassVar[Codec] = JsonCodec()
    """How bodies travel: what ``publish`` and every handler encode (and handlers decode),
    unless ``@consume(codec=...)`` says otherwise; its content type goes in each output's
    ``content-type`` header."""
    topics: ClassVar[Sequence[Topic]] = ()
    """Topics created at start when missing, with their partitions, replication and
    settings; one that exists is left alone. Declare what the service reads and writes,
    so nothing depends on the broker creating topics on first use."""
    sync_handler_threads: ClassVar[int] = 8
    """How many plain ``def`` handlers may run at once, each in a worker thread (so a
    blocking library does not stall the event loop)."""
    middlewares: ClassVar[Sequence[Middleware]] = ()
    """Wrap every handler and every record the service sends, outermost first (see
    :class:`Middleware`); a handler's own (``@consume(middlewares=...)``) go inside."""
    """Names the service's consumer groups (``"<name>.<method>"``); subclasses inherit it.
    ``None``: the name of the class that defines each handler, so a subclass or a
    module move never silently switches a handler to a new group."""

    _running: _Running | None = None

    # Lifecycle hooks, in the order they run.

    async def on_startup(self) -> None:
        """Runs before the transport starts; a failure here aborts the start."""

    async def after_startup(self) -> None:
        """Runs once the transport is started and handlers are receiving."""

    async def on_shutdown(self) -> None:
        """Runs before the transport stops."""

    async def after_shutdown(self) -> None:
        """Runs after the transport stopped."""

    async def on_partitions_assigned(self, partitions: frozenset[TopicPartition]) -> None:
        """Runs when a subscription gets ``partitions``, before any of their messages is
        handled: at start, and at each rebalance of its group. E.g. load their state.

        Called once per subscription whose assignment changed. A failure stops that
        subscription (nothing of those partitions is handled or committed)."""

    async def on_partitions_revoked(self, partitions: frozenset[TopicPartition]) -> None:
        """Runs when ``partitions`` leave a subscription (a rebalance, or the stop), after
        their work in flight finished and was committed. E.g. flush their state.

        A failure stops that subscription; what was committed stays committed."""

    @classmethod
    def handlers(cls) -> tuple[HandlerSpec, ...]:
        """Every marked method of this class, read and checked (``BindError`` if wrong)."""
        return handler_specs(cls)

    @property
    def logger(self) -> logging.Logger:
        """The service's logger, ``stream.<ServiceClass>``; injected as ``Logger``."""
        return logging.getLogger(f"stream.{type(self).__name__}")

    @property
    def transport(self) -> Transport:
        """The transport the service is running on."""
        return self._require_running().transport

    @property
    def publisher(self) -> Publisher:
        """The service's publisher; injected as ``Publisher``."""
        return self._require_running().publisher

    async def start(
        self, transport: Transport | None = None, *, wrap: HandlerWrapper | None = None
    ) -> None:
        """Binds the handlers, runs ``on_startup``, starts the transport, runs ``after_startup``.

        While the service runs, ``service.<handler>`` is the handler as this run calls
        it: a produce-only method sends its result, and ``wrap`` (if given) has wrapped
        each handler. These instance attributes are removed again at :meth:`stop`; it
        is the one way stream changes a service instance.

        Args:
            transport: Run on this transport instead of ``broker``.
            wrap: Wraps each handler for this run (``TestBroker`` records calls with it).

        Raises:
            BindError: a handler is wrong; nothing was started.
            HookError: a hook raised; the transport is stopped again.
        """
        if self._running is not None:
            raise NotRunningError(f"{type(self).__name__} is already started; stop it first")
        specs = self.handlers()
        declared = checked_topics(type(self).__name__, self.topics)
        transport = transport if transport is not None else self._configured_broker()
        for middleware in self.middlewares:
            # Metrics of commits and lag live on the transport, out of a middleware's sight.
            if isinstance(middleware, TransportObserver):
                transport.observe(middleware)
        publisher = Publisher(
            transport, self.middlewares, codec=self.codec, name=self.name or type(self).__name__
        )
        calls = self._handler_calls(specs, publisher, wrap)
        self._running = _Running(transport, publisher, anyio.Event(), tuple(calls))
        vars(self).update(calls)
        self.logger.info("%s starting...", type(self).__name__)
        try:
            if declared:
                transport.declare_topics(declared)
            self._subscribe(specs, calls, publisher, transport)
            await self._hook("on_startup")
            await transport.start()
            for spec in specs:
                if isinstance(spec, ConsumerSpec):
                    topics = ", ".join(spec.topics) or f"pattern {spec.options.pattern}"
                    self.logger.info(
                        "%s | %s waiting for messages (group %s)", topics, spec.name, spec.group_id
                    )
            await self._hook("after_startup")
        except BaseException:
            # Also for a handler the transport refused: no subscription stays behind.
            with anyio.CancelScope(shield=True):
                await transport.stop()
            self._forget_running()
            raise
        self.logger.info("%s started", type(self).__name__)

    async def stop(self) -> None:
        """Runs ``on_shutdown``, stops the transport (drain, send, commit), runs ``after_shutdown``.

        Safe to call on a service that is not running.
        """
        running = self._running
        if running is None:
            return
        try:
            await self._hook("on_shutdown")
        finally:
            try:
                await running.transport.stop()
            finally:
                # Also when stop() raises (a subscription had failed): the service is stopped.
                self._forget_running()
                running.stopped.set()
        await self._hook("after_shutdown")
        self.logger.info("%s stopped", type(self).__name__)

    async def run(self, transport: Transport | None = None) -> None:
        """Starts, runs until :meth:`request_stop`, cancellation or a transport failure, then
        stops gracefully (``stop`` raises the failure, if there was one)."""
        await self.start(transport)
        running = self._require_running()

        async def stop_when_transport_fails() -> None:
            await running.transport.wait_failed()
            running.stopped.set()

        try:
            async with anyio.create_task_group() as watch:
                watch.start_soon(stop_when_transport_fails)
                await running.stopped.wait()
                watch.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self.stop()

    def request_stop(self) -> None:
        """Asks :meth:`run` to stop the service gracefully."""
        if self._running is not None:
            self._running.stopped.set()

    async def publish(
        self,
        value: object,
        topic: str,
        *,
        key: object = None,
        headers: HeadersInput | None = None,
        partition: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        """Sends one message and waits for the broker's ack; see :meth:`Publisher.publish`."""
        await self.publisher.publish(
            value, topic, key=key, headers=headers, partition=partition, timestamp=timestamp
        )

    async def pause(
        self, handler: str, *, partitions: Iterable[TopicPartition] | None = None
    ) -> None:
        """Stops handing messages to ``handler``'s subscription until :meth:`resume`.

        Callable from a handler, a hook or outside. Messages already handed over finish
        and are committed; the rest wait in the broker, nothing is skipped.

        Args:
            handler: The ``@consume`` method's name. Handlers sharing a subscription
                (filters on one topic and group) pause together.
            partitions: Only these of the partitions it owns. A partition paused by name
                is forgotten when a rebalance revokes it (as Kafka does); ``None``
                pauses every partition, also those assigned later, until resumed.
        """
        running, routed = self._subscription(handler)
        await running.transport.pause(routed.subscription, _partitions(handler, partitions))

    async def resume(
        self, handler: str, *, partitions: Iterable[TopicPartition] | None = None
    ) -> None:
        """Hands messages to ``handler``'s subscription again, from where it paused;
        ``partitions``: only these, ``None``: all. See :meth:`pause`."""
        running, routed = self._subscription(handler)
        await running.transport.resume(routed.subscription, _partitions(handler, partitions))

    def unmatched(self, handler: str) -> int:
        """How many messages of ``handler``'s subscription no handler's ``filter`` took
        since the start (they were skipped and committed), e.g. for a metric."""
        return self._subscription(handler)[1].unmatched

    @property
    def request(self) -> Request:
        """Sends one message that a handler answers, and returns the answer; see
        :class:`~stream.core.Request` for its arguments."""
        return self.publisher.request

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _configured_broker(self) -> Transport:
        broker = getattr(self, "broker", None)
        if not isinstance(broker, Transport):
            raise NotRunningError(
                f"{type(self).__name__} has no broker; set `broker = KafkaBroker(...)` on the "
                "class, or pass a transport to start()"
            )
        return broker

    def _require_running(self) -> _Running:
        if self._running is None:
            raise NotRunningError(
                f"{type(self).__name__} is not started; use `async with service:` or "
                "`await service.start()` first"
            )
        return self._running

    def _subscription(self, handler: str) -> tuple[_Running, SubscriptionHandler]:
        running = self._require_running()
        found = running.subscriptions.get(handler)
        if found is None:
            known = ", ".join(sorted(running.subscriptions)) or "none"
            raise ValueError(
                f"{type(self).__name__} has no @consume method {handler!r}; its handlers: {known}"
            )
        return running, found

    def _subscribe(
        self,
        specs: tuple[HandlerSpec, ...],
        calls: Mapping[str, HandlerCall],
        publisher: Publisher,
        transport: Transport,
    ) -> None:
        running = self._require_running()
        consumers = [spec for spec in specs if isinstance(spec, ConsumerSpec)]
        for shared in shared_subscriptions(type(self).__name__, consumers):
            dispatchers = [
                build_dispatcher(
                    spec,
                    calls[spec.name],
                    self.container,
                    self.logger,
                    publisher,
                    transport,
                    self.middlewares,
                )
                for spec in shared
            ]
            subscription = subscription_for(shared[0])
            handler = SubscriptionHandler(
                subscription,
                dispatchers,
                on_assigned=lambda partitions: self._hook("on_partitions_assigned", partitions),
                on_revoked=lambda partitions: self._hook("on_partitions_revoked", partitions),
                logger=self.logger,
            )
            transport.subscribe(subscription, handler)
            running.subscriptions.update((spec.name, handler) for spec in shared)

    def _handler_calls(
        self,
        specs: tuple[HandlerSpec, ...],
        publisher: Publisher,
        wrap: HandlerWrapper | None,
    ) -> Mapping[str, HandlerCall]:
        calls: dict[str, HandlerCall] = {}
        threads = anyio.CapacityLimiter(self.sync_handler_threads)
        for spec in specs:
            # The class's function, bound here: never an attribute a past run left behind.
            function = getattr(type(self), spec.name)
            call: HandlerCall = MethodType(function, self)
            if not inspect.iscoroutinefunction(function):
                call = in_worker_thread(call, threads)
            if wrap is not None:
                call = wrap(spec, call)
            if isinstance(spec, ProducerSpec):
                call = publishing_method(spec, call, publisher)
            calls[spec.name] = call
        return calls

    def _forget_running(self) -> None:
        running, self._running = self._running, None
        if running is not None:
            for name in running.installed:
                vars(self).pop(name, None)

    async def _hook(self, name: str, *args: object) -> None:
        try:
            await getattr(self, name)(*args)
        except Exception as error:
            raise HookError(
                f"{type(self).__name__}.{name} raised {type(error).__name__}: {error}"
            ) from error


def _partitions(
    handler: str, partitions: Iterable[TopicPartition] | None
) -> frozenset[TopicPartition] | None:
    if partitions is None:
        return None
    chosen = frozenset(partitions)
    for partition in chosen:
        if not isinstance(partition, TopicPartition):
            raise TypeError(
                f"{handler}: partitions take TopicPartition values, e.g. "
                f"TopicPartition('orders', 0), not {partition!r}"
            )
    return chosen
