import pytest
from stream.core import RequestError
from stream.testing import MemoryBroker, TestBroker, sent

from quotes import Pricing, Quote, QuoteRequest

pytestmark = pytest.mark.anyio


async def test_a_request_gets_the_quote_back() -> None:
    async with TestBroker(Pricing()) as service:
        quote = await service.request(
            QuoteRequest(sku="tea", quantity=4),
            "quotes.requested",
            reply_type=Quote,
            timeout=5,
        )

        assert quote == Quote(sku="tea", total=10.0)
        # The handler's @produce topic gets its result as well.
        assert sent(service, "quotes.issued") == [{"sku": "tea", "total": 10.0}]


async def test_a_failed_request_raises_request_error() -> None:
    # As on Kafka: the handler's error comes back in the reply.
    broker = MemoryBroker(raise_handler_errors=False)
    async with TestBroker(Pricing(), broker=broker) as service:
        with pytest.raises(RequestError, match="quantity must be positive"):
            await service.request(
                QuoteRequest(sku="tea", quantity=0), "quotes.requested"
            )
