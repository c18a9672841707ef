"""Dependency injection: Provide[Container.x] in a handler."""

from dependency_injector import containers, providers
from dependency_injector.wiring import Provide
from pydantic import BaseModel
from stream import core
from stream.core import consume, produce
from stream.kafka import KafkaBroker


class Price(BaseModel):
    sku: str
    amount: float
    currency: str


# --8<-- [start:container]
class RateTable:
    """Exchange rates; in real life a client of a rates service, opened once."""

    def __init__(self, rates: dict[str, float]) -> None:
        self.rates = rates

    async def to_eur(self, amount: float, currency: str) -> float:
        return round(amount / self.rates[currency], 2)


class Container(containers.DeclarativeContainer):
    config = providers.Configuration()
    rates = providers.Singleton(RateTable, rates=config.rates)


# --8<-- [end:container]
# --8<-- [start:service]
class Pricing(core.Service):
    broker = KafkaBroker("localhost:9092")
    container = Container()

    async def on_startup(self) -> None:
        # Or from the service's settings, a file, the environment...
        self.container.config.from_dict(
            {"rates": {"EUR": 1.0, "USD": 1.08}, "rounding": 2}
        )

    @produce("prices.eur")
    @consume("prices")
    async def on_price(
        self,
        price: Price,
        table: RateTable = Provide[Container.rates],
        rounding: int = Provide[Container.config.rounding],
    ) -> Price:
        amount = round(
            await table.to_eur(price.amount, price.currency), rounding
        )
        return Price(sku=price.sku, amount=amount, currency="EUR")


# --8<-- [end:service]
