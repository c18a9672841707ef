"""Codecs: a MessagePack service with a JSON handler; a codec of one's own."""

import base64
from datetime import datetime
from typing import Any

from pydantic import BaseModel, TypeAdapter
from stream import core
from stream.core import Codec, JsonCodec, MsgPackCodec, consume, produce
from stream.kafka import KafkaBroker


# --8<-- [start:service]
class Scan(BaseModel):
    sku: str
    at: datetime
    image: bytes  # MessagePack carries bytes as they are: no base64


class Scanner(core.Service):
    broker = KafkaBroker("localhost:9092")
    codec = MsgPackCodec()  # every handler and publish: application/msgpack

    @produce("scans.checked")
    @consume("scans")
    async def on_scan(self, scan: Scan) -> Scan:
        return scan.model_copy(update={"sku": scan.sku.upper()})

    @produce("scans.audit")  # this handler reads and writes JSON
    @consume("scans.legacy", codec=JsonCodec())
    async def on_legacy_scan(self, scan: Scan) -> Scan:
        return scan


# --8<-- [end:service]
# --8<-- [start:own]
class Base64Json(Codec):
    """JSON, base64-armoured, for a pipe that only carries text."""

    content_type = "application/x-base64-json"

    def encode(self, body: Any) -> bytes:
        return base64.b64encode(JsonCodec().encode(body))

    def decode(self, data: bytes, adapter: TypeAdapter[Any]) -> Any:
        json = base64.b64decode(data, validate=True)
        return adapter.validate_json(json)


class Armoured(core.Service):
    broker = KafkaBroker("localhost:9092")
    codec = Base64Json()

    @produce("scans.armoured.checked")
    @consume("scans.armoured")
    async def check(self, scan: Scan) -> Scan:
        return scan


# --8<-- [end:own]
