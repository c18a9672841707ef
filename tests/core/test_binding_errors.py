"""Every mistake in a handler is a BindError at start that names what to change."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from dependency_injector import containers, providers
from dependency_injector.wiring import Provide
from pydantic import BaseModel

from stream.core import BindError, Logger, Service, consume, produce
from stream.testing import MemoryBroker

pytestmark = pytest.mark.anyio


class Reading(BaseModel):
    data: float


async def bind_error(service_class: type[Service]) -> str:
    with pytest.raises(BindError) as caught:
        await service_class().start(MemoryBroker())
    return str(caught.value)


async def test_no_message_parameter() -> None:
    class S(Service):
        @consume("t")
        async def handle(self, logger: Logger) -> None: ...

    assert await bind_error(S) == (
        "S.handle: no parameter receives the message; add one annotated with the message "
        "model, e.g. `msg: MyModel`"
    )


async def test_unannotated_message_parameter() -> None:
    class S(Service):
        @consume("t")
        async def handle(self, msg) -> None: ...  # type: ignore[no-untyped-def]

    assert await bind_error(S) == (
        "S.handle: parameter `msg` has no type annotation; annotate it with the message model"
    )


async def test_two_unannotated_parameters() -> None:
    class S(Service):
        @consume("t")
        async def handle(self, msg, other) -> None: ...  # type: ignore[no-untyped-def]

    message = await bind_error(S)
    assert message.startswith("S.handle: parameters `msg` and `other` have no type annotation")


async def test_generator_handler() -> None:
    class S(Service):
        @consume("t")
        async def handle(self, msg: Reading) -> AsyncIterator[None]:
            yield None

    assert await bind_error(S) == (
        "S.handle: is a generator; a handler returns its result (`async def handle`, or a "
        "plain `def handle` that runs in a worker thread)"
    )


async def test_produce_without_consume_needs_return_annotation() -> None:
    class S(Service):
        @produce("out")
        async def make(self):  # type: ignore[no-untyped-def]
            return Reading(data=1)

    assert "S.make: @produce without @consume needs a return annotation" in await bind_error(S)


async def test_unknown_injectable() -> None:
    class Database: ...

    class S(Service):
        @consume("t")
        async def handle(self, msg: Reading, db: Database) -> None: ...

    message = await bind_error(S)
    assert message.startswith("S.handle: parameter `db`: cannot inject Database")
    assert "`msg` already receives the message" in message


async def test_same_topic_and_group_twice_without_a_filter_would_starve_the_second() -> None:
    class S(Service):
        @consume("t", group_id="g")
        async def first(self, msg: Reading) -> None: ...

        @consume("t", group_id="g")
        async def second(self, msg: Reading) -> None: ...

    assert await bind_error(S) == (
        "S.second: consumes 't' in group 'g' after S.first, which has no filter and so "
        "takes every message; give S.first a filter=..., or one of them another group_id"
    )


async def test_handlers_sharing_a_subscription_must_read_alike() -> None:
    class S(Service):
        @consume("t", group_id="g", filter=lambda m: m.key == b"a")
        async def first(self, msg: Reading) -> None: ...

        @consume("t", "u", group_id="g")
        async def second(self, msg: Reading) -> None: ...

    assert await bind_error(S) == (
        "S.second: consumes 't' in group 'g' like S.first, so the two share one "
        "subscription, but their topics differ; make them the same, or give one another "
        "group_id"
    )


async def test_a_filter_picks_single_messages_not_batches() -> None:
    class S(Service):
        @consume("t", batch=True, filter=lambda m: True)
        async def handle(self, msgs: list[Reading]) -> None: ...

    assert await bind_error(S) == (
        "S.handle: filter=... picks single messages; it cannot be combined with batch=True"
    )


async def test_batch_needs_a_list_parameter() -> None:
    class S(Service):
        @consume("t", batch=True)
        async def handle(self, msg: Reading) -> None: ...

    assert "annotate `msg` as list[...], not Reading" in await bind_error(S)


async def test_consume_without_topic() -> None:
    class S(Service):
        @consume()
        async def handle(self, msg: Reading) -> None: ...

    assert "S.handle: @consume() names no topic" in await bind_error(S)


async def test_type_pydantic_cannot_validate() -> None:
    class Opaque:
        pass

    class S(Service):
        @consume("t")
        async def handle(self, msg: Opaque) -> None: ...

    assert "S.handle: parameter `msg`: pydantic cannot validate Opaque" in await bind_error(S)


async def test_key_field_must_exist_on_output() -> None:
    class S(Service):
        @produce("out", key="missing")
        @consume("t")
        async def handle(self, msg: Reading) -> Reading:
            return msg

    assert "@produce('out', key='missing'): Reading has no field 'missing'" in await bind_error(S)


async def test_provide_without_container() -> None:
    class Container(containers.DeclarativeContainer):
        value = providers.Object(1)

    class S(Service):
        @consume("t")
        async def handle(self, msg: Reading, value: int = Provide[Container.value]) -> None: ...

    assert "S.handle: parameter `value` asks for a dependency, but S has no `container`" in (
        await bind_error(S)
    )


async def test_provide_of_another_container() -> None:
    class Container(containers.DeclarativeContainer):
        value = providers.Object(1)

    class Other(containers.DeclarativeContainer):
        value = providers.Object(2)

    class S(Service):
        container = Container()

        @consume("t")
        async def handle(self, msg: Reading, value: int = Provide[Other.value]) -> None: ...

    assert "is not a provider of Container" in await bind_error(S)


async def test_consume_applied_twice() -> None:
    with pytest.raises(TypeError, match="@consume is applied twice"):

        class S(Service):
            @consume("a")
            @consume("b")
            async def handle(self, msg: Any) -> None: ...


async def test_nothing_starts_when_binding_fails() -> None:
    broker = MemoryBroker()

    class S(Service):
        started = False

        async def on_startup(self) -> None:
            self.started = True

        @consume("t")
        async def handle(self, msg) -> None: ...  # type: ignore[no-untyped-def]

    service = S()
    with pytest.raises(BindError):
        await service.start(broker)
    assert service.started is False
