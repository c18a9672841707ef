import pytest
from stream.testing import TestBroker

from payment_kinds import Order, Payments, Refund

pytestmark = pytest.mark.anyio


async def test_each_kind_goes_to_its_handler() -> None:
    async with TestBroker(Payments()) as service:
        await service.publish(
            Order(id="o-1", total=9.5), "payments", headers={"type": "order"}
        )
        await service.publish(
            Refund(id="r-1", amount=2.0), "payments", headers={"type": "refund"}
        )
        await service.publish(b"?", "payments", headers={"type": "invoice"})

        service.on_order.mock.assert_called_once_with(
            {"id": "o-1", "total": 9.5}
        )
        service.on_refund.mock.assert_called_once_with(
            {"id": "r-1", "amount": 2.0}
        )
        assert service.on_other.mock.call_count == 1
        assert service.unmatched("on_order") == 0
