"""Header propagation: the tenant and the request id travel with the data."""

from pydantic import BaseModel
from stream import core
from stream.core import PropagateHeaders, consume, produce
from stream.kafka import KafkaBroker


class Order(BaseModel):
    id: str
    amount: float


class Invoice(BaseModel):
    order_id: str
    total: float


class Invoicing(core.Service):
    """Invoices orders, for many tenants."""

    broker = KafkaBroker("localhost:9092")
    # Every handler's outputs carry these headers of their input.
    middlewares = (PropagateHeaders("x-tenant", "x-request-id", "baggage-*"),)

    @produce("invoices")
    @consume("orders")
    async def invoice(self, order: Order) -> Invoice:
        return Invoice(order_id=order.id, total=order.amount * 1.2)
