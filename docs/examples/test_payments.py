import pytest
from stream.testing import MemoryBroker, TestBroker, records, sent

from payments import LedgerUnavailableError, Payment, Payments

pytestmark = pytest.mark.anyio


async def test_a_payment_is_checked_then_settled() -> None:
    async with TestBroker(Payments()) as service:
        await service.publish(Payment(id="p-1", amount=25.0), "payments")

        assert sent(service, "payments.checked") == [
            {"id": "p-1", "approved": True}
        ]
        assert sent(service, "payments.settled") == [
            {"id": "p-1", "approved": True}
        ]


# --8<-- [start:dead-letter]
async def test_a_failing_payment_is_retried_then_dead_lettered() -> None:
    broker = MemoryBroker(
        raise_handler_errors=False
    )  # look at the dead letter instead
    async with TestBroker(Payments(), broker=broker) as service:
        service.ledger_down = True
        await service.publish(
            Payment(id="p-2", amount=5.0), "payments", key="p-2"
        )

        assert (
            service.on_payment.mock.call_count == 5
        )  # Retry(attempts=5): five tries
        [letter] = records(service, "payments.failed")
        assert letter.key == b"p-2"  # the original key, value and headers...
        assert (
            letter.value
            == Payment(id="p-2", amount=5.0).model_dump_json().encode()
        )
        assert (
            letter.header("stream.error.type")
            == b"payments.LedgerUnavailableError"
        )
        assert (
            letter.header("stream.error.message")
            == b"the ledger did not answer"
        )
        assert letter.header("stream.source.topic") == b"payments"
        assert letter.header("stream.source.partition") == b"0"
        assert letter.header("stream.source.offset") == b"0"
        assert letter.header("stream.handler") == b"Payments.on_payment"
        assert letter.header("stream.attempts") == b"5"
        assert sent(service, "payments.checked") == []


# --8<-- [end:dead-letter]
async def test_the_error_reaches_the_test_by_default() -> None:
    async with TestBroker(Payments()) as service:
        service.ledger_down = True
        with pytest.raises(LedgerUnavailableError):
            await service.publish(Payment(id="p-3", amount=5.0), "payments")
        assert (
            len(sent(service, "payments.failed")) == 1
        )  # dead-lettered all the same


async def test_a_message_that_does_not_validate_is_dead_lettered_at_once() -> (
    None
):
    broker = MemoryBroker(raise_handler_errors=False)
    async with TestBroker(Payments(), broker=broker) as service:
        await service.publish({"id": "p-4"}, "payments")  # no amount

        # Retrying cannot fix bad input: the handler is never called.
        service.on_payment.mock.assert_not_called()
        [letter] = records(service, "payments.failed")
        assert (
            letter.header("stream.error.type")
            == b"pydantic_core._pydantic_core.ValidationError"
        )
        assert letter.header("stream.attempts") == b"1"
