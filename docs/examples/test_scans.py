import base64
from datetime import UTC, datetime

import pytest
from stream.testing import MemoryBroker, TestBroker, records, sent

from scans import Armoured, Scan, Scanner

pytestmark = pytest.mark.anyio

SCAN = Scan(
    sku="tea-1", at=datetime(2026, 5, 1, 12, tzinfo=UTC), image=b"\x89P"
)


async def test_scans_travel_as_msgpack_with_their_content_type() -> None:
    async with TestBroker(Scanner()) as service:
        await service.publish(SCAN, "scans")

        [output] = records(service, "scans.checked")
        assert output.header("content-type") == b"application/msgpack"
        # sent() reads MessagePack by that header, as Python data.
        assert sent(service, "scans.checked") == [
            {"sku": "TEA-1", "at": SCAN.at, "image": b"\x89P"}
        ]


async def test_a_json_input_to_a_msgpack_handler_is_dead_lettered() -> None:
    broker = MemoryBroker(
        raise_handler_errors=False
    )  # dead-letter, don't raise
    async with TestBroker(Scanner(), broker=broker) as service:
        await service.publish(
            '{"sku": "tea-1", "at": "2026-05-01T12:00:00Z", "image": "PNG"}',
            "scans",
            headers={"content-type": "application/json"},
        )

        [letter] = records(service, "scans.dlq")
        assert letter.header("stream.error.type") == b"stream.core.DecodeError"
        assert sent(service, "scans.checked") == []


async def test_a_codec_of_ones_own() -> None:
    async with TestBroker(Armoured()) as service:
        # JSON inside: bytes that are not UTF-8 could not travel.
        scan = SCAN.model_copy(update={"image": b"PNG"})
        await service.publish(scan, "scans.armoured")

        [output] = records(service, "scans.armoured.checked")
        assert output.header("content-type") == b"application/x-base64-json"
        json = base64.b64decode(output.value or b"")
        assert Scan.model_validate_json(json) == scan
