"""Whoever can write to a topic can send anything: the cost of rejecting it is bounded,
and what it carries never reaches a log line or a header raw."""

from __future__ import annotations

import json
import logging
import math
import time

import anyio
import pytest
from pydantic import BaseModel, ConfigDict, Field

from stream.core import DeliveryPolicy, Retry, Service, consume, produce
from stream.testing import MemoryBroker, TestBroker, records, sent

pytestmark = pytest.mark.anyio

NO_RETRY = DeliveryPolicy(retry=Retry(attempts=1))


class Items(BaseModel):
    items: list[int]


class Reading(BaseModel):
    data: float


class Nested(BaseModel):
    d: dict[str, int]


def quiet_broker() -> MemoryBroker:
    return MemoryBroker(raise_handler_errors=False)


class ItemsService(Service):
    @consume("in")
    async def handle(self, msg: Items) -> None: ...


async def reject(body: bytes) -> float:
    """Seconds that rejecting ``body`` costs (memory: ``python -m bench.reject``, since
    pydantic builds its errors where tracemalloc does not see them)."""
    async with TestBroker(ItemsService(), broker=quiet_broker()) as service:
        started = time.perf_counter()
        await service.publish(body, "in")
        seconds = time.perf_counter() - started
        assert len(records(service, "in.dlq")) == 1
    return seconds


def items_body(size: int, item: str = "x") -> bytes:
    count = size // (len(json.dumps(item).encode()) + 2)
    return json.dumps({"items": [item] * count}, ensure_ascii=False).encode()


async def test_rejecting_a_message_costs_in_proportion_to_its_size(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR)
    await reject(items_body(10_000))  # warm up: adapters, imports
    small = min([await reject(items_body(250_000)) for _ in range(3)])
    large = min([await reject(items_body(5_000_000)) for _ in range(2)])
    # Linear, not worse: pydantic spends a few microseconds on each element that does not
    # fit (27-34 times for 20 times the size here, caches and a shared machine stretching
    # it); a quadratic cost would be 400 times.
    assert large <= 50 * max(small, 0.005), (small, large)
    longest = max(len(record.getMessage()) for record in caplog.records)
    assert longest < 4096, longest


async def test_the_error_header_stays_under_its_byte_cap() -> None:
    class S(Service):
        @consume("in")
        async def handle(self, msg: Nested) -> None: ...

    async with TestBroker(S(), broker=quiet_broker()) as service:
        await service.publish({"d": {"€" * 3000: "not a number"}}, "in")
        [letter] = records(service, "in.dlq")
    text = letter.header("stream.error.message") or b""
    assert 0 < len(text) <= 2048
    assert b"1 validation error for Nested: d." in text  # it still says where


async def test_many_errors_are_counted_not_listed() -> None:
    async with TestBroker(ItemsService(), broker=quiet_broker()) as service:
        await service.publish(items_body(500_000), "in")
        [letter] = records(service, "in.dlq")
    text = letter.header("stream.error.message") or b""
    assert b"100000 validation errors for Items" in text, text


async def test_a_forged_line_in_a_field_name_stays_on_one_escaped_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class S(Service):
        @consume("in")
        async def handle(self, msg: Nested) -> None: ...

    forged = {"d": {"x\nCRITICAL root: FORGED LINE\x1b[31m": "no"}}
    async with TestBroker(S(), broker=quiet_broker()) as service:
        await service.publish(forged, "in")
        [letter] = records(service, "in.dlq")
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert "\n" not in line and "\x1b" not in line
    assert "FORGED LINE" in line  # escaped, not dropped: an operator still sees it
    header = letter.header("stream.error.message") or b""
    assert b"\n" not in header and b"\x1b" not in header


async def test_a_handler_error_carrying_the_body_is_escaped_and_truncated(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class S(Service):
        @consume("in", delivery=DeliveryPolicy(retry=Retry(attempts=2, backoff=0)))
        async def handle(self, msg: str) -> None:
            raise ValueError(msg)

    body = ("line\n" * 20_000).encode()  # 100 KB, 20,000 lines
    async with TestBroker(S(), broker=quiet_broker()) as service:
        await service.publish(body, "in")
    total = sum(len(r.getMessage()) + len(r.exc_text or "") for r in caplog.records)
    assert total < 16_384, total
    for record in caplog.records:
        message = record.getMessage()
        assert "line\nline" not in message
        assert "line\nline" not in (record.exc_text or "")


async def test_stream_headers_of_the_input_cannot_forge_the_dead_letters() -> None:
    forged = {"stream.error.type": "forged", "stream.source.topic": "elsewhere", "trace": "t"}
    async with TestBroker(ItemsService(), broker=quiet_broker()) as service:
        await service.publish(b"not json", "in", headers=forged)
        [letter] = records(service, "in.dlq")
    names = [name for name, _ in letter.headers]
    assert names.count("stream.error.type") == 1
    assert names.count("stream.source.topic") == 1
    assert letter.header("stream.source.topic") == b"in"
    assert dict(letter.headers)["stream.error.type"] != b"forged"
    assert letter.header("trace") == b"t"  # the producer's own headers are kept
    assert letter.header("forwarded.stream.error.type") == b"forged"


@pytest.mark.parametrize("value", [b"Infinity", b"-Infinity", b"NaN", b"1e309"])
async def test_non_finite_numbers_are_dead_lettered_not_passed_on(value: bytes) -> None:
    class Adder(Service):
        @produce("out")
        @consume("in")
        async def handle(self, msg: Reading) -> Reading:
            return Reading(data=msg.data + 1)

    async with TestBroker(Adder(), broker=quiet_broker()) as service:
        await service.publish(b'{"data": ' + value + b"}", "in")
        assert sent(service, "out") == []
        [letter] = records(service, "in.dlq")
    assert b"finite" in (letter.header("stream.error.message") or b"")


class Lenient(BaseModel):
    model_config = ConfigDict(allow_inf_nan=True)
    data: float


class PerField(BaseModel):
    data: float = Field(allow_inf_nan=True)


async def test_a_model_that_allows_non_finite_numbers_gets_them() -> None:
    seen: list[float] = []

    class S(Service):
        @consume("lenient")
        async def lenient(self, msg: Lenient) -> None:
            seen.append(msg.data)

        @consume("per-field")
        async def per_field(self, msg: PerField) -> None:
            seen.append(msg.data)

    async with TestBroker(S()) as service:
        await service.publish(b'{"data": Infinity}', "lenient")
        await service.publish(b'{"data": NaN}', "per-field")
    assert seen[0] == math.inf
    assert math.isnan(seen[1])


async def test_a_runaway_chain_on_the_memory_broker_stops_with_a_clear_error() -> None:
    class Echo(Service):
        @produce("echo")
        @consume("echo")
        async def again(self, msg: Reading) -> Reading:
            return msg

    with anyio.fail_after(10):
        async with TestBroker(Echo()) as service:
            with pytest.raises(RuntimeError, match="more than 10000 deliveries"):
                await service.publish(Reading(data=1), "echo")


async def test_a_runaway_chain_can_be_interrupted_by_a_timeout() -> None:
    class Echo(Service):
        @produce("echo")
        @consume("echo")
        async def again(self, msg: Reading) -> Reading:
            return msg

    broker = MemoryBroker(max_deliveries=10**9)
    async with TestBroker(Echo(), broker=broker) as service:
        with anyio.move_on_after(0.5) as scope:
            await service.publish(Reading(data=1), "echo")
    assert scope.cancelled_caught


async def test_a_poison_partition_logs_its_first_failures_then_a_summary(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class S(Service):
        @consume("in", delivery=NO_RETRY)
        async def handle(self, msg: Items) -> None: ...

    async with TestBroker(S(), broker=quiet_broker()) as service:
        for _ in range(200):
            await service.publish(b"poison", "in")
        assert len(records(service, "in.dlq")) == 200
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) <= 12, len(errors)


def test_the_failure_log_summarises_each_window_after_its_first_lines(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from stream.core._failure_log import FailureLog

    now = [0.0]
    log = FailureLog(
        logging.getLogger("test"), "S.handle", burst=2, window=10.0, clock=lambda: now[0]
    )
    logged = [log.should_log("in", 3, "in.dlq") for _ in range(1525)]
    assert logged[:2] == [True, True] and not any(logged[2:])
    assert log.pending
    now[0] = 10.0
    log.summarise_due()
    assert not log.pending
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "S.handle: in[3] keeps failing; further messages sent to in.dlq are counted and "
        "summarised every 10s",
        "S.handle: 1523 more messages of in[3] sent to in.dlq in the last 10s",
    ]
    assert log.should_log("in", 3, "in.dlq")  # a new window logs whole again
