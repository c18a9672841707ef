"""Filtered handlers sharing a channel: the document says which takes what (issue 17)."""

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from stream.asyncapi import asyncapi_document, to_json
from stream.core import Message, Service, consume
from tests.asyncapi.conftest import Validate


class Order(BaseModel):
    order_id: int


class Refund(BaseModel):
    refund_id: int


def is_refund(message: Message) -> bool:
    """The `type` header says refund."""
    return message.header("type") == b"refund"


class Payments(Service):
    """Orders and refunds share one topic."""

    @consume("payments", group_id="payments", filter=lambda m: m.header("type") == b"order")
    async def orders(self, msg: Order) -> None:
        """Books an order."""

    @consume("payments", group_id="payments", filter=is_refund)
    async def refunds(self, msg: Refund) -> None:
        """Books a refund."""


class WithFallback(Service):
    @consume("payments", group_id="triage", filter=is_refund)
    async def refunds(self, msg: Refund) -> None: ...

    @consume("payments", group_id="triage")
    async def rest(self, msg: bytes) -> None: ...


def test_filtered_handlers_share_the_channel_each_with_its_message() -> None:
    document = asyncapi_document(Payments)
    assert set(document["channels"]["payments"]["messages"]) == {"Order", "Refund"}
    orders = document["operations"]["Payments.orders.receive.payments"]
    refunds = document["operations"]["Payments.refunds.receive.payments"]
    assert orders["channel"] == refunds["channel"] == {"$ref": "#/channels/payments"}
    assert orders["x-stream-filter"] == {
        "predicate": "<lambda>",
        "triedInOrder": ["Payments.orders", "Payments.refunds"],
        "unmatched": "skipped and committed",
    }
    assert refunds["x-stream-filter"]["predicate"] == "is_refund: The `type` header says refund."


def test_a_handler_without_filter_is_named_as_taking_the_rest() -> None:
    operations: dict[str, Any] = asyncapi_document(WithFallback)["operations"]
    rest = operations["WithFallback.rest.receive.payments"]["x-stream-filter"]
    assert rest["predicate"] is None
    assert rest["unmatched"] == "taken by WithFallback.rest"


def test_an_unfiltered_handler_has_no_filter_entry() -> None:
    class Plain(Service):
        @consume("payments")
        async def handle(self, msg: Order) -> None: ...

    [operation] = asyncapi_document(Plain)["operations"].values()
    assert "x-stream-filter" not in operation


def test_the_document_passes_the_official_parser(asyncapi_parser: Validate, tmp_path: Path) -> None:
    path = tmp_path / "payments.json"
    path.write_text(to_json(asyncapi_document(Payments, WithFallback)))
    [result] = asyncapi_parser([path])["results"]
    problems = [d for d in result["diagnostics"] if d["severity"] in ("error", "warning")]
    assert problems == []
    assert result["ok"]
