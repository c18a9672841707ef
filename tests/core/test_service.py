"""What a service does with its handlers: binding, injection, outputs, lifecycle."""

import logging

import pytest
from dependency_injector import containers, providers
from dependency_injector.wiring import Provide
from pydantic import BaseModel

from stream.core import (
    HookError,
    Logger,
    Message,
    NotRunningError,
    Publisher,
    Service,
    consume,
    produce,
)
from stream.testing import MemoryBroker, TestBroker, records, sent

pytestmark = pytest.mark.anyio


class Reading(BaseModel):
    data: float


class Keyed(BaseModel):
    id: str
    data: float


async def test_decorators_only_mark_and_services_do_not_see_each_other() -> None:
    class A(Service):
        @consume("a")
        async def handle(self, msg: Reading) -> None: ...

    class B(Service):
        @consume("b")
        async def handle(self, msg: Reading) -> None: ...

    assert [s.topics for s in A.handlers()] == [("a",)]
    assert [s.topics for s in B.handlers()] == [("b",)]
    assert A.handlers() is A.handlers()  # read once per class, adapters built once


async def test_stacked_produce_several_topics_and_several_consumers() -> None:
    class S(Service):
        @produce("x")
        @produce("y")
        @consume("in")
        async def fan_out(self, msg: Reading) -> Reading:
            return Reading(data=msg.data * 2)

        @consume("x")
        async def on_x(self, msg: Reading) -> None: ...

    async with TestBroker(S()) as service:
        await service.publish(Reading(data=2), "in")
        assert sent(service, "x") == [{"data": 4.0}]
        assert sent(service, "y") == [{"data": 4.0}]
        service.on_x.mock.assert_called_once_with({"data": 4.0})


async def test_returning_none_sends_nothing() -> None:
    class S(Service):
        @produce("out")
        @consume("in")
        async def maybe(self, msg: Reading) -> Reading | None:
            return msg if msg.data > 0 else None

    async with TestBroker(S()) as service:
        await service.publish(Reading(data=0), "in")
        await service.publish(Reading(data=1), "in")
        assert sent(service, "out") == [{"data": 1.0}]


@pytest.mark.parametrize(
    ("annotation_value", "body", "expected"),
    [
        ("bytes", b"\x00raw", b"\x00raw"),
        ("str", "text", "text"),
        ("int", b"42", 42),
        ("list[int]", b"[1, 2]", [1, 2]),
        ("dict[str, float]", b'{"a": 1}', {"a": 1.0}),
    ],
)
async def test_plain_and_raw_message_types(
    annotation_value: str, body: bytes, expected: object
) -> None:
    received: list[object] = []
    namespace: dict[str, object] = {"received": received, "consume": consume}
    exec(
        "async def handle(self, msg: "
        + annotation_value
        + ") -> None:\n    received.append(msg)\n",
        namespace,
    )
    S = type("S", (Service,), {"handle": consume("in")(namespace["handle"])})
    async with TestBroker(S()) as service:
        await service.publish(body, "in")
    assert received == [expected]


async def test_tombstone_reaches_an_optional_handler() -> None:
    seen: list[Reading | None] = []

    class S(Service):
        @consume("in")
        async def handle(self, msg: Reading | None, message: Message) -> None:
            seen.append(msg)

    async with TestBroker(S()) as service:
        await service.publish(None, "in", key="k")
        assert records(service, "in")[0].value is None
    assert seen == [None]


async def test_injects_logger_message_and_publisher() -> None:
    got: dict[str, object] = {}

    class S(Service):
        @consume("in")
        async def handle(
            self, msg: Reading, logger: Logger, message: Message, publisher: Publisher
        ) -> None:
            got.update(logger=logger, message=message)
            await publisher.publish(Reading(data=msg.data), "side", key="side-key")

    async with TestBroker(S()) as service:
        await service.publish(Reading(data=1), "in", key="k1", headers={"h": "v"})
        assert sent(service, "side") == [{"data": 1.0}]
        assert records(service, "side")[0].key == b"side-key"
    message = got["message"]
    assert isinstance(message, Message)
    assert (message.topic, message.partition, message.offset) == ("in", 0, 0)
    assert message.key == b"k1"
    assert message.header("h") == b"v"
    assert message.timestamp > 0
    assert isinstance(got["logger"], logging.Logger)
    assert got["logger"] is service.logger


async def test_provide_resolves_per_call_against_the_service_container() -> None:
    counter = iter(range(100))

    class Container(containers.DeclarativeContainer):
        config = providers.Configuration()
        ticket = providers.Factory(lambda: next(counter))

    container = Container()
    container.config.from_dict({"factor": 10})
    seen: list[tuple[int, int]] = []

    class S(Service):
        @consume("in")
        async def handle(
            self,
            msg: Reading,
            ticket: int = Provide[Container.ticket],
            factor: int = Provide[Container.config.factor],
        ) -> None:
            seen.append((ticket, factor))

    S.container = container
    async with TestBroker(S()) as service:
        await service.publish(Reading(data=1), "in")
        await service.publish(Reading(data=1), "in")
        with container.ticket.override(providers.Object(99)):
            await service.publish(Reading(data=1), "in")
    assert seen == [(0, 10), (1, 10), (99, 10)]


async def test_output_key_defaults_to_input_key_or_comes_from_field_or_function() -> None:
    class S(Service):
        @produce("same")
        @produce("by_field", key="id")
        @produce("by_function", key=lambda out: out.id.upper())
        @consume("in")
        async def handle(self, msg: Keyed) -> Keyed:
            return msg

    async with TestBroker(S()) as service:
        await service.publish(Keyed(id="abc", data=1), "in", key="input-key")
        assert [m.key for m in records(service, "same")] == [b"input-key"]
        assert [m.key for m in records(service, "by_field")] == [b"abc"]
        assert [m.key for m in records(service, "by_function")] == [b"ABC"]


async def test_produce_only_method_sends_its_result_when_called() -> None:
    class S(Service):
        @produce("ticks", key="id")
        async def tick(self, value: float) -> Keyed:
            return Keyed(id="t", data=value)

    service = S()
    assert await service.tick(1.0) == Keyed(id="t", data=1.0)  # not started: a plain call
    async with TestBroker(service):
        await service.tick(2.0)
        assert sent(service, "ticks") == [{"id": "t", "data": 2.0}]
        assert records(service, "ticks")[0].key == b"t"


async def test_lifecycle_hooks_run_in_order_around_the_transport() -> None:
    order: list[str] = []

    class Recording(MemoryBroker):
        async def start(self) -> None:
            order.append("transport.start")
            await super().start()

        async def stop(self) -> None:
            order.append("transport.stop")
            await super().stop()

    class S(Service):
        async def on_startup(self) -> None:
            order.append("on_startup")

        async def after_startup(self) -> None:
            order.append("after_startup")

        async def on_shutdown(self) -> None:
            order.append("on_shutdown")

        async def after_shutdown(self) -> None:
            order.append("after_shutdown")

    async with TestBroker(S(), broker=Recording()):
        order.append("running")
    assert order == [
        "on_startup",
        "transport.start",
        "after_startup",
        "running",
        "on_shutdown",
        "transport.stop",
        "after_shutdown",
    ]


async def test_failing_on_startup_stops_cleanly_and_names_the_hook() -> None:
    stopped: list[bool] = []

    class Recording(MemoryBroker):
        async def stop(self) -> None:
            stopped.append(True)
            await super().stop()

    class S(Service):
        async def on_startup(self) -> None:
            raise ConnectionError("database down")

    service = S()
    with pytest.raises(HookError, match=r"S\.on_startup raised ConnectionError: database down"):
        await service.start(Recording())
    assert stopped == [True]
    with pytest.raises(NotRunningError):
        await service.publish(Reading(data=1), "t")


async def test_service_without_broker_says_how_to_set_one() -> None:
    class S(Service):
        pass

    with pytest.raises(NotRunningError, match=r"S has no broker; set `broker = KafkaBroker"):
        await S().start()


async def test_run_until_stop_requested() -> None:
    import anyio

    class S(Service):
        async def after_startup(self) -> None:
            self.request_stop()

    service = S()
    with anyio.fail_after(5):
        await service.run(MemoryBroker())
    with pytest.raises(NotRunningError):
        _ = service.transport


async def test_run_ends_when_the_transport_fails() -> None:
    import anyio

    class Failing(MemoryBroker):
        async def wait_failed(self) -> BaseException:
            return ConnectionError("subscription died")

        async def stop(self) -> None:
            await super().stop()
            raise ConnectionError("subscription died")

    class S(Service):
        pass

    with anyio.fail_after(5), pytest.raises(ConnectionError, match="subscription died"):
        await S().run(Failing())


async def test_a_refused_subscription_leaves_nothing_subscribed() -> None:
    from stream.core import BindError
    from stream.core.transport import Subscription

    class Picky(MemoryBroker):
        def subscribe(self, subscription: Subscription, handler: object) -> None:  # type: ignore[override]
            if subscription.options.topics == ("refused",):
                raise BindError("refused")
            super().subscribe(subscription, handler)  # type: ignore[arg-type]

    class S(Service):
        @consume("accepted")
        async def first(self, msg: Reading) -> None: ...

        @consume("refused")
        async def second(self, msg: Reading) -> None: ...

    broker = Picky()
    with pytest.raises(BindError):
        await S().start(broker)
    assert broker._members == []


async def test_an_output_that_cannot_be_serialized_is_dead_lettered() -> None:
    class Weird(BaseModel):
        value: object

    class S(Service):
        @produce("out")
        @consume("in")
        async def handle(self, msg: Reading) -> Weird:
            return Weird(value=object())  # JSON cannot say what an object() is

    async with TestBroker(S(), broker=MemoryBroker(raise_handler_errors=False)) as service:
        await service.publish(Reading(data=1), "in")
        [letter] = records(service, "in.dlq")
        assert letter.header("stream.error.type") == b"stream.core.EncodeError"
        assert sent(service, "out") == []


async def test_an_outputs_key_counts_towards_the_size_limit() -> None:
    class S(Service):
        @produce("out", key=lambda out: "k" * 400)
        @consume("in")
        async def handle(self, msg: Reading) -> Reading:
            return msg

    broker = MemoryBroker(raise_handler_errors=False, max_message_bytes=300)
    async with TestBroker(S(), broker=broker) as service:
        await service.publish(Reading(data=1), "in")
        assert sent(service, "out") == []
        [letter] = records(service, "in.dlq")
        assert letter.header("stream.error.type") == b"stream.core.EncodeError"
