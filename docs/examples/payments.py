"""Delivery policies: retries, dead letters, exactly-once and at-most-once."""

from pydantic import BaseModel
from stream import core
from stream.core import (
    DeadLetter,
    DeliveryPolicy,
    Guarantee,
    Retry,
    consume,
    produce,
)
from stream.kafka import KafkaBroker


class Payment(BaseModel):
    id: str
    amount: float


class Checked(BaseModel):
    id: str
    approved: bool


class Click(BaseModel):
    page: str


class LedgerUnavailableError(Exception):
    """The ledger did not answer; worth another try."""


# --8<-- [start:policies]
PATIENT = DeliveryPolicy(
    retry=Retry(attempts=5, backoff=0.5, multiplier=2.0, max_backoff=10.0),
    dead_letter=DeadLetter(topic="payments.failed"),  # default: "<topic>.dlq"
    timeout=5.0,  # seconds per call; a slower call fails with TimeoutError
)
EXACTLY_ONCE = DeliveryPolicy(guarantee=Guarantee.EXACTLY_ONCE)
AT_MOST_ONCE = DeliveryPolicy(guarantee=Guarantee.AT_MOST_ONCE)  # one attempt
# --8<-- [end:policies]


# --8<-- [start:service]
class Payments(core.Service):
    broker = KafkaBroker("localhost:9092")

    async def on_startup(self) -> None:
        self.ledger_down = False

    @produce("payments.checked")
    @consume("payments", delivery=PATIENT)
    async def on_payment(self, payment: Payment) -> Checked:
        """At-least-once (the default), with more patience than the default."""
        if self.ledger_down:
            raise LedgerUnavailableError("the ledger did not answer")
        return Checked(id=payment.id, approved=payment.amount < 10_000)

    @produce("payments.settled")
    @consume("payments.checked", delivery=EXACTLY_ONCE)
    async def on_checked(self, checked: Checked) -> Checked | None:
        """Outputs, dead letters and the offset commit in one transaction."""
        return checked if checked.approved else None

    @consume("clicks", delivery=AT_MOST_ONCE)
    async def on_click(self, click: Click) -> None:
        """Commits first: a crash may lose a click, never count one twice."""


# --8<-- [end:service]
