"""A handler's Response: the key, headers, partition or topic of one output."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from stream.asyncapi import asyncapi_document
from stream.core import Response, Service, consume, produce
from stream.testing import TestBroker, records

pytestmark = pytest.mark.anyio


class Reading(BaseModel):
    data: float


class S(Service):
    @produce("out", key="data")
    @consume("in")
    async def handle(self, msg: Reading) -> Response[Reading]:
        return Response(body=msg, headers={"h": "1"})

    @produce("announcements")
    async def announce(self, text: str) -> Response[str]:
        return Response(body=text, key="news", topic="urgent")


async def test_a_produce_only_method_may_return_a_response() -> None:
    async with TestBroker(S()) as service:
        await service.announce("hello")
        [sent] = records(service, "urgent")
        assert records(service, "announcements") == []
    assert (sent.value, sent.key) == (b"hello", b"news")


async def test_without_its_own_key_a_response_keeps_the_produce_key_rule() -> None:
    async with TestBroker(S()) as service:
        await service.publish(Reading(data=2.5), "in")
        [output] = records(service, "out")
    assert output.key == b"2.5"  # @produce(key="data"), read from the body
    assert output.header("h") == b"1"


def test_the_asyncapi_document_describes_the_responses_body() -> None:
    document = json.dumps(asyncapi_document(S))
    assert "Reading" in document
    assert "Response" not in document
