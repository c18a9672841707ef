"""``TestBroker``: run a service on the in-memory broker inside a test."""

from __future__ import annotations

import json
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import TypeAdapter

from stream.core import Message, MsgPackCodec, NotRunningError, Service
from stream.core.transport import ConsumerSpec, HandlerCall, HandlerSpec
from stream.testing._memory import MemoryBroker

if TYPE_CHECKING:
    from unittest.mock import MagicMock

__all__ = ("MockedHandler", "TestBroker", "records", "sent")

ServiceT = TypeVar("ServiceT", bound=Service)


class MockedHandler:
    """A consuming handler, as ``TestBroker`` runs it: calling it calls the handler, and
    ``mock`` records each validated input.

    ``mock`` is called with the input as plain Python data (a model becomes its dict),
    so ``service.on_input_data.mock.assert_called_once_with(dict(model))`` reads as the
    message the test published.
    """

    def __init__(self, handler: HandlerCall, spec: ConsumerSpec) -> None:
        self.__wrapped__ = handler
        self._name = spec.qualname
        self._dump = spec.adapter.dump_python
        self._batch = spec.options.batch
        # A MagicMock call costs more than the rest of an in-memory delivery; most tests
        # never look at most handlers' mocks. So the inputs are kept in a list until
        # `mock` is first read, which replays them into a real MagicMock.
        self._inputs: list[Any] = []
        self._mock: MagicMock | None = None

    @property
    def mock(self) -> MagicMock:
        """A ``MagicMock`` that was called once with each input, in order."""
        if self._mock is None:
            from unittest.mock import MagicMock

            mock = MagicMock(name=self._name)
            for value in self._inputs:
                mock(value)
            self._inputs.clear()
            self._mock = mock
        return self._mock

    async def __call__(self, value: Any, /, *args: Any, **kwargs: Any) -> Any:
        dumped = [self._dump(v) for v in value] if self._batch else self._dump(value)
        if self._mock is None:
            self._inputs.append(dumped)
        else:
            # Once read, the mock is called as the input arrives, so a side_effect set
            # on it acts on this call.
            self._mock(dumped)
        return await self.__wrapped__(value, *args, **kwargs)


class TestBroker(Generic[ServiceT]):
    """Runs ``service`` on a fresh :class:`MemoryBroker` for the length of an ``async with``.

    Inside the block each consuming handler of the service is a :class:`MockedHandler`
    (``service.on_input_data.mock``); at the end the service is stopped and is as it was.

    Example:
        >>> async with TestBroker(Service()) as service:
        ...     await service.publish(DataBasic(data=0.2), "input_data")
        ...     service.on_input_data.mock.assert_called_once_with(dict(DataBasic(data=0.2)))
        ...     assert sent(service, "output_data") == [{"data": 1.2}]

    Args:
        service: The service to run; its lifecycle hooks run as in production.
        broker: The in-memory broker to use; a new one with its defaults when omitted
            (pass one to set partitions or to keep committed offsets across restarts).
    """

    __test__ = False  # its name starts with "Test"; it is not a pytest test class

    def __init__(self, service: ServiceT, *, broker: MemoryBroker | None = None) -> None:
        self.service = service
        self.broker = broker if broker is not None else MemoryBroker()

    async def __aenter__(self) -> ServiceT:
        await self.service.start(self.broker, wrap=_with_mock)
        return self.service

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.service.stop()


def _with_mock(spec: HandlerSpec, handler: HandlerCall) -> HandlerCall:
    return MockedHandler(handler, spec) if isinstance(spec, ConsumerSpec) else handler


def _memory_broker(service: Service) -> MemoryBroker:
    try:
        transport = service.transport
    except NotRunningError:
        transport = None
    if not isinstance(transport, MemoryBroker):
        raise NotRunningError(
            f"{type(service).__name__} is not running on the in-memory broker; call this "
            "inside `async with TestBroker(service)`"
        )
    return transport


def records(service: Service, topic: str) -> list[Message]:
    """Every message on ``topic`` of the in-memory broker ``service`` runs on, in publish order."""
    return _memory_broker(service).messages(topic)


def sent(service: Service, topic: str) -> list[Any]:
    """The bodies on ``topic``, decoded: JSON (and MessagePack, by its ``content-type``)
    as Python data, ``None`` for a tombstone, other bytes as they are."""
    return [_body(message) for message in records(service, topic)]


def _body(message: Message) -> Any:
    value = message.value
    if value is None:
        return None
    if message.header("content-type") == _MSGPACK:
        return MsgPackCodec().decode(value, _ANY)
    try:
        return json.loads(value)
    except ValueError:
        return value


_MSGPACK = MsgPackCodec.content_type.encode()
_ANY: TypeAdapter[Any] = TypeAdapter(Any)
