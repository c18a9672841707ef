"""``Service``: the class users subclass to write a stream service."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MethodType, TracebackType
from typing import Any, ClassVar, Self

import anyio

from stream.core._binding import handler_specs
from stream.core._errors import HookError, NotRunningError
from stream.core._messages import HeadersInput
from stream.core._middleware import Middleware
from stream.core._publisher import Publisher
from stream.core._runtime import (
    build_dispatcher,
    in_worker_thread,
    publishing_method,
    subscription_for,
)
from stream.core._specs import ConsumerSpec, HandlerSpec, ProducerSpec
from stream.core.transport import HandlerCall, HandlerWrapper, Transport, TransportObserver

__all__ = ("Service",)


@dataclass(slots=True)
class _Running:
    transport: Transport
    publisher: Publisher
    stopped: anyio.Event
    installed: tuple[str, ...]


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
        middlewares: Wrap handling and publishing for the whole service. One that is
            also a ``TransportObserver`` is given to the transport at start.
    """

    broker: ClassVar[Transport]
    container: ClassVar[Any] = None
    name: ClassVar[str | None] = None
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
        transport = transport if transport is not None else self._configured_broker()
        for middleware in self.middlewares:
            # Metrics of commits and lag live on the transport, out of a middleware's sight.
            if isinstance(middleware, TransportObserver):
                transport.observe(middleware)
        publisher = Publisher(transport, self.middlewares)
        calls = self._handler_calls(specs, publisher, wrap)
        self._running = _Running(transport, publisher, anyio.Event(), tuple(calls))
        vars(self).update(calls)
        self.logger.info("%s starting...", type(self).__name__)
        try:
            for spec in specs:
                if isinstance(spec, ConsumerSpec):
                    dispatcher = build_dispatcher(
                        spec,
                        calls[spec.name],
                        self.container,
                        self.logger,
                        publisher,
                        transport,
                        self.middlewares,
                    )
                    transport.subscribe(subscription_for(spec), dispatcher)
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

    async def _hook(self, name: str) -> None:
        try:
            await getattr(self, name)()
        except Exception as error:
            raise HookError(
                f"{type(self).__name__}.{name} raised {type(error).__name__}: {error}"
            ) from error
