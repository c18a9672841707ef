"""Services that exercise every feature the AsyncAPI documents describe."""

from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from stream import core
from stream.core import (
    DeadLetter,
    DeliveryPolicy,
    Guarantee,
    Logger,
    Message,
    MsgPackCodec,
    OutgoingMessage,
    consume,
    produce,
)
from stream.core.transport import (
    RecordHandler,
    ServerDescription,
    Subscription,
    Transport,
    TransportDescription,
)
from tests.asyncapi import models_a, models_b


class DescribedTransport(Transport):
    """A transport that only describes itself: documents need nothing else."""

    def __init__(self, description: TransportDescription) -> None:
        self.description = description

    def describe(self) -> TransportDescription:
        return self.description

    def subscribe(self, subscription: Subscription, handler: RecordHandler) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def publish(self, message: OutgoingMessage) -> None:
        raise NotImplementedError

    async def publish_many(self, messages: Sequence[OutgoingMessage]) -> None:
        raise NotImplementedError

    async def ping(self, timeout: float) -> bool:
        raise NotImplementedError


SECURE_KAFKA = DescribedTransport(
    TransportDescription(
        protocol="kafka",
        servers=(
            ServerDescription(
                host="broker-1.example.internal:9093,broker-2.example.internal:9093",
                protocol="kafka",
                protocol_version="4.0",
                security=({"type": "scramSha512", "description": "SASL SCRAM-SHA-512 over TLS"},),
                description="Production cluster",
            ),
        ),
        client_id="orders-service",
    )
)


class Order(BaseModel):
    """An order as the shop submits it."""

    order_id: int = Field(examples=[1001], description="The shop's order number")
    customer: str = Field(examples=["ada@example.org"])
    lines: list[models_a.Item] = Field(min_length=1)
    note: str | None = None


class Shipped(BaseModel):
    kind: Literal["shipped"] = "shipped"
    carrier: str = Field(examples=["DHL"])


class Cancelled(BaseModel):
    kind: Literal["cancelled"] = "cancelled"
    reason: str = Field(examples=["out of stock"])


class OrderEvent(BaseModel):
    """What happened to an order."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"order_id": 1001, "event": {"kind": "shipped", "carrier": "DHL"}},
                {"order_id": 1002, "event": {"kind": "cancelled", "reason": "out of stock"}},
            ]
        }
    )

    order_id: int
    event: Annotated[Shipped | Cancelled, Field(discriminator="kind")]
    position: tuple[float, float] | None = None


class Announcement(BaseModel):
    text: str = Field(examples=["Sale starts at noon"], max_length=280)


def announcement_key(announcement: Announcement) -> str:
    return announcement.text[:8]


class Everything(core.Service):
    """Takes orders, tracks stock and shouts about it.

    Exercises every part of a document: **servers** with security, topics and a
    pattern, batches, keys, headers, raw bodies, a MessagePack handler and models
    shared by name.
    """

    broker = SECURE_KAFKA
    version = "2.3.4"

    @produce("order-events", key="order_id", headers={"source": "orders"})
    @consume("orders", group_id="order-takers")
    async def on_order(self, order: Order, logger: Logger) -> OrderEvent | None:
        """Accepts an order and says it shipped.

        Orders with no lines never validate, so they go to the dead-letter topic.
        """
        return OrderEvent(order_id=order.order_id, event=Shipped(carrier="DHL"))

    @produce("stock-levels")
    @consume("stock", "stock-corrections", batch=True, max_records=100)
    async def on_stock(self, items: list[models_b.Item]) -> list[models_b.Item]:
        """Passes stock levels on, a batch at a time."""
        return items

    @consume(pattern=r"audit\..*", delivery=DeliveryPolicy(dead_letter=DeadLetter(suffix=".dead")))
    async def on_audit(self, line: str, message: Message) -> None:
        """Reads every audit topic as plain text."""

    @consume("blobs", partitions=[0, 1], delivery=DeliveryPolicy(dead_letter=None))
    async def on_blob(self, blob: bytes) -> None:
        """Reads raw bytes from two partitions; a failure stops the subscription."""

    @consume("tombstones", delivery=DeliveryPolicy(guarantee=Guarantee.AT_MOST_ONCE))
    async def on_maybe_order(self, order: Order | None) -> None:
        """Accepts orders and tombstones (null bodies)."""

    @produce("scanned-packed")
    @consume("scanned", codec=MsgPackCodec())
    async def on_scan(self, item: models_a.Item) -> models_a.Item:
        """Passes scanned items on; both sides speak MessagePack."""
        return item

    @produce("announcements", key=announcement_key)
    async def announce(self, text: str) -> Announcement:
        """Sends an announcement when called."""
        return Announcement(text=text)


class Auditor(core.Service):
    """Reads order events for the audit log."""

    broker = SECURE_KAFKA

    @consume("order-events")
    async def on_order_event(self, event: OrderEvent) -> None:
        """Keeps every order event."""
