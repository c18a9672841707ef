import pytest
from stream.testing import TestBroker, records, sent

from billing import Billing, Order

pytestmark = pytest.mark.anyio


async def test_a_paid_order_is_invoiced_and_totalled() -> None:
    async with TestBroker(Billing()) as service:
        await service.publish(
            Order(id="o-1", customer="ada", amount=10.0), "orders", key="ada"
        )

        assert sent(service, "invoices") == [
            {"order_id": "o-1", "customer": "ada", "total": 12.0}
        ]
        assert records(service, "invoices")[0].key == b"ada"
        assert sent(service, "totals") == [{"invoices": 1, "total": 12.0}]


async def test_a_free_order_goes_elsewhere() -> None:
    async with TestBroker(Billing()) as service:
        await service.publish(
            Order(id="o-2", customer="bob", amount=0), "orders", key="bob"
        )

        assert sent(service, "invoices") == []
        assert sent(service, "orders.free") == [
            {"id": "o-2", "customer": "bob", "amount": 0.0}
        ]
        assert records(service, "orders.free")[0].key == b"bob"


async def test_a_produce_only_method_sends_what_it_returns() -> None:
    async with TestBroker(Billing()) as service:
        assert await service.audit("closed the books") == "closed the books"

        assert records(service, "audit")[0].value == b"closed the books"
