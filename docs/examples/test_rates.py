import pytest
from dependency_injector import providers
from stream.testing import TestBroker, sent

from rates import Price, Pricing, RateTable

pytestmark = pytest.mark.anyio


async def test_prices_are_converted_with_the_configured_rates() -> None:
    async with TestBroker(Pricing()) as service:
        await service.publish(
            Price(sku="tea", amount=10.8, currency="USD"), "prices"
        )

        assert sent(service, "prices.eur") == [
            {"sku": "tea", "amount": 10.0, "currency": "EUR"}
        ]


async def test_a_provider_can_be_overridden_in_a_test() -> None:
    fake = RateTable({"USD": 2.0})
    with Pricing.container.rates.override(providers.Object(fake)):
        async with TestBroker(Pricing()) as service:
            await service.publish(
                Price(sku="tea", amount=10.0, currency="USD"), "prices"
            )

            assert sent(service, "prices.eur") == [
                {"sku": "tea", "amount": 5.0, "currency": "EUR"}
            ]
