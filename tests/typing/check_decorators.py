"""Checked by mypy --strict (CI runs it over this file): the decorators keep signatures."""

from collections.abc import Callable, Coroutine
from typing import Any, assert_type

from pydantic import BaseModel, TypeAdapter

from stream.core import (
    Codec,
    JsonCodec,
    Logger,
    Message,
    MsgPackCodec,
    PropagateHeaders,
    Service,
    consume,
    produce,
)
from stream.testing import TestBroker


class DataBasic(BaseModel):
    data: float


class Demo(Service):
    middlewares = (PropagateHeaders("x-tenant", "baggage-*"),)

    @produce("output_data")
    @consume("input_data", middlewares=[PropagateHeaders("*")])
    async def on_input_data(self, msg: DataBasic, logger: Logger) -> DataBasic:
        return DataBasic(data=msg.data + 1.0)

    @produce("ticks")
    async def tick(self) -> DataBasic:
        return DataBasic(data=0)


# The decorated method keeps its exact signature: assignable to the plain callable type...
handler: Callable[[Demo, DataBasic, Logger], Coroutine[Any, Any, DataBasic]] = Demo.on_input_data


async def decorated_methods_stay_plain_coroutines(logger: Logger) -> None:
    # ...and calling it gives exactly what the undecorated method gives.
    assert_type(await Demo().on_input_data(DataBasic(data=1), logger), DataBasic)
    assert_type(await Demo().tick(), DataBasic)


async def broker_yields_the_service_type() -> None:
    async with TestBroker(Demo()) as service:
        assert_type(service, Demo)


class Packed(Service):
    # A service's codec, and a handler's own: the decorated method keeps its signature.
    codec = MsgPackCodec()

    @produce("output_data")
    @consume("input_data", codec=JsonCodec())
    async def on_input_data(self, msg: DataBasic) -> DataBasic:
        return msg


packed_handler: Callable[[Packed, DataBasic], Coroutine[Any, Any, DataBasic]] = Packed.on_input_data


def codecs_are_typed(codec: Codec, adapter: TypeAdapter[DataBasic]) -> None:
    assert_type(codec.content_type, str)
    assert_type(codec.encode(DataBasic(data=1)), bytes)
    assert_type(codec.decoder(adapter), Callable[[bytes], Any])
    assert_type(Service.codec, Codec)


async def a_request_returns_the_reply_or_the_asked_type(service: Demo) -> None:
    assert_type(await service.request(DataBasic(data=1), "input_data"), Message)
    reply = await service.request(DataBasic(data=1), "input_data", reply_type=DataBasic)
    assert_type(reply, DataBasic)
    assert_type(await service.publisher.request(1, "input_data", reply_type=str), str)
