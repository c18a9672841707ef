"""PropagateHeaders: which input headers reach the outputs (the behaviour suite has the
end-to-end case on both brokers)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from stream.core import PropagateHeaders, Publisher, Service, consume, outgoing, produce
from stream.testing import MemoryBroker, TestBroker, records

pytestmark = pytest.mark.anyio


class Reading(BaseModel):
    data: float


HEADERS = (
    ("x-tenant", b"acme"),
    ("traceparent", b"00-abc"),
    ("forwarded.stream.error.type", b"a user's header"),
    ("stream.attempts", b"3"),
    ("x-tenant", b"repeated"),
)


async def test_star_carries_every_header_but_streams_own_in_order() -> None:
    class S(Service):
        middlewares = (PropagateHeaders("*"),)

        @produce("out")
        @consume("in")
        async def handle(self, msg: Reading) -> Reading:
            return msg

    async with TestBroker(S()) as service:
        await service.publish(Reading(data=1), "in", headers=HEADERS)
        [output] = records(service, "out")
    # The output's own content-type comes first and wins over the input's.
    carried = [h for h in HEADERS if h[0] != "stream.attempts"]
    assert list(output.headers) == [("content-type", b"application/json"), *carried]


async def test_a_batch_carries_its_last_messages_headers_and_publishes_carry_none() -> None:
    class S(Service):
        @produce("out")
        @consume("in", batch=True, middlewares=[PropagateHeaders("x-tenant")])
        async def handle(self, msgs: list[Reading], publisher: Publisher) -> Reading:
            await publisher.publish(msgs[0], "side")
            return Reading(data=sum(m.data for m in msgs))

    async with TestBroker(S()) as service:
        # One publish_many: both wait on the topic, so the handler gets them as one batch.
        await service.publisher.publish_many(
            [
                outgoing(Reading(data=1), "in", headers={"x-tenant": "first"}),
                outgoing(Reading(data=2), "in", headers={"x-tenant": "last"}),
            ]
        )
        [output] = records(service, "out")
        [side] = records(service, "side")
    assert output.header("x-tenant") == b"last"
    assert side.headers == (("content-type", b"application/json"),)  # its own only


async def test_dead_letters_keep_the_inputs_headers_once() -> None:
    class S(Service):
        middlewares = (PropagateHeaders("*"),)

        @consume("in")
        async def handle(self, msg: Reading) -> None:
            raise RuntimeError("boom")

    async with TestBroker(S(), broker=MemoryBroker(raise_handler_errors=False)) as service:
        await service.publish(Reading(data=1), "in", headers={"x-tenant": "acme"})
        [letter] = records(service, "in.dlq")
    assert [v for n, v in letter.headers if n == "x-tenant"] == [b"acme"]


@pytest.mark.parametrize("patterns", [(), ("x-*-id",), ("**",)])
def test_a_pattern_it_cannot_read_is_refused_with_what_to_write(
    patterns: tuple[str, ...],
) -> None:
    with pytest.raises(ValueError, match=r"PropagateHeaders: .*(\"x-tenant\"|\"baggage-\*\")"):
        PropagateHeaders(*patterns)
