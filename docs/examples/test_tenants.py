import pytest
from stream.testing import TestBroker, records

from tenants import Invoicing, Order

pytestmark = pytest.mark.anyio


async def test_the_tenant_travels_with_the_invoice() -> None:
    async with TestBroker(Invoicing()) as service:
        await service.publish(
            Order(id="o-1", amount=10.0),
            "orders",
            headers={"x-tenant": "acme", "x-debug": "on"},
        )

        [invoice] = records(service, "invoices")
        assert invoice.header("x-tenant") == b"acme"
        assert invoice.header("x-debug") is None  # not named: not carried
