"""Filters: orders and refunds share one topic; a header says which is which."""

from pydantic import BaseModel
from stream import core
from stream.core import Message, consume
from stream.kafka import KafkaBroker


class Order(BaseModel):
    id: str
    total: float


class Refund(BaseModel):
    id: str
    amount: float


# --8<-- [start:service]
def is_order(message: Message) -> bool:
    """The `type` header says order."""
    return message.header("type") == b"order"


async def is_refund(message: Message) -> bool:
    """The `type` header says refund (a filter may be async)."""
    return message.header("type") == b"refund"


class Payments(core.Service):
    broker = KafkaBroker("localhost:9092")

    # One topic, one group: one subscription. Each message goes to the first
    # handler whose filter takes it, in the order they are written here.
    @consume("payments", group_id="payments", filter=is_order)
    async def on_order(self, msg: Order) -> None: ...

    @consume("payments", group_id="payments", filter=is_refund)
    async def on_refund(self, msg: Refund) -> None: ...

    # No filter, so last: it takes what the others leave. Without it, such a
    # message is skipped (committed, counted by service.unmatched("on_order")).
    @consume("payments", group_id="payments")
    async def on_other(self, msg: bytes, message: Message) -> None: ...


# --8<-- [end:service]
