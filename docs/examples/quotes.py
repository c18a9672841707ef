from pydantic import BaseModel
from stream import core
from stream.core import consume, produce
from stream.kafka import KafkaBroker


class QuoteRequest(BaseModel):
    sku: str
    quantity: int


class Quote(BaseModel):
    sku: str
    total: float


class Pricing(core.Service):
    broker = KafkaBroker("localhost:9092")

    @produce("quotes.issued")
    @consume("quotes.requested")
    async def quote(self, msg: QuoteRequest) -> Quote:
        if msg.quantity <= 0:
            raise ValueError(f"quantity must be positive, not {msg.quantity}")
        return Quote(sku=msg.sku, total=msg.quantity * 2.5)
