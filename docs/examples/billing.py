"""Handlers: injections, keys, produce-only methods, batches, hooks."""

from pydantic import BaseModel
from stream import core
from stream.core import Logger, Message, Publisher, consume, produce
from stream.kafka import KafkaBroker


class Order(BaseModel):
    id: str
    customer: str
    amount: float


class Invoice(BaseModel):
    order_id: str
    customer: str
    total: float


class DailyTotal(BaseModel):
    invoices: int
    total: float


# --8<-- [start:service]
class Billing(core.Service):
    """Invoices orders."""

    broker = KafkaBroker("localhost:9092")

    async def on_startup(self) -> None:
        # Runs before the broker starts: open clients, warm caches.
        self.vat = 0.2

    @produce(
        "invoices", key="customer"
    )  # the key: the output's `customer` field
    @consume("orders")
    async def on_order(
        self,
        order: Order,
        message: Message,
        publisher: Publisher,
        logger: Logger,
    ) -> Invoice | None:
        """Invoices a paid order; a free one goes to `orders.free` instead."""
        if order.amount == 0:
            await publisher.publish(order, "orders.free", key=message.key)
            return None  # returning None sends nothing to "invoices"
        logger.info(
            "order %s from %s[%d]@%d",
            order.id,
            message.topic,
            message.partition,
            message.offset,
        )
        total = round(order.amount * (1 + self.vat), 2)
        return Invoice(order_id=order.id, customer=order.customer, total=total)

    @produce("audit")
    async def audit(self, text: str) -> str:
        """Not fed by a topic: calling it sends its result."""
        return text

    @produce("totals")
    @consume("invoices", batch=True, max_records=100, max_wait=1.0)
    async def on_invoices(self, invoices: list[Invoice]) -> DailyTotal:
        """Up to 100 invoices at a time (or what came within a second)."""
        return DailyTotal(
            invoices=len(invoices), total=sum(i.total for i in invoices)
        )


# --8<-- [end:service]
