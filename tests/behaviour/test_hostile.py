"""Hostile bodies, keys and headers, seeded: nothing crashes or hangs, every input is
handled or dead-lettered, and the service goes on consuming. On both backends."""

from __future__ import annotations

import json
import random

import anyio
import pytest
from pydantic import BaseModel

from stream.core import DeliveryPolicy, Retry, Service, consume, produce
from tests.behaviour.backends import Backend, running, unique

pytestmark = pytest.mark.anyio

SEED = 20261130
COUNT = 200


class Reading(BaseModel):
    data: float


def hostile_body(rng: random.Random) -> bytes | None:
    kind = rng.randrange(12)
    if kind == 0:
        return json.dumps({"data": rng.uniform(-1e6, 1e6)}).encode()  # fine
    if kind == 1:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))  # not UTF-8
    if kind == 2:
        depth = rng.randrange(100, 20_000)
        return b'{"data":' + b"[" * depth + b"]" * depth + b"}"  # deep nesting
    if kind == 3:
        return b'{"data": 1' + b"0" * rng.randrange(400, 20_000) + b"}"  # huge number
    if kind == 4:
        return rng.choice([b'{"data": NaN}', b'{"data": -Infinity}', b'{"data": 1e999}'])
    if kind == 5:
        key = "".join(chr(rng.randrange(0, 0x3000)) for _ in range(40))
        return json.dumps({"data": 1.0, key: "forged\nCRITICAL x"}).encode()  # extra: fine
    if kind == 6:
        return None  # tombstone
    if kind == 7:
        return b""
    if kind == 8:
        return b'{"data": "\x00\x1b[31m\n"}'
    if kind == 9:
        return json.dumps({"data": ["x"] * rng.randrange(1, 5000)}).encode()
    if kind == 10:
        return b'{"data": 1.5, "data": "twice"}'
    return b"\xef\xbb\xbf" + json.dumps({"data": 2.0}).encode()  # a BOM first


def hostile_key(rng: random.Random) -> bytes | None:
    return rng.choice([None, b"", bytes(rng.randrange(256) for _ in range(8)), b"k\n\x1b"])


def hostile_headers(rng: random.Random) -> tuple[tuple[str, bytes], ...]:
    return rng.choice(
        [
            (),
            (("stream.error.type", b"forged"), ("stream.source.offset", b"-1")),
            (("x\nCRITICAL forged", b"\x00\xff"),),
            (("trace", bytes(rng.randrange(256) for _ in range(16))),) * 3,
        ]
    )


async def test_hostile_input_is_handled_or_dead_lettered_and_consuming_goes_on(
    backend: Backend,
) -> None:
    source, target = unique("hostile-in"), unique("hostile-out")
    handled: list[float] = []
    done = anyio.Event()

    class Target(Service):
        @produce(target)
        @consume(source, delivery=DeliveryPolicy(retry=Retry(attempts=2, backoff=0)))
        async def handle(self, msg: Reading) -> Reading:
            handled.append(msg.data)
            if msg.data == -42.0:
                done.set()
            return msg

    rng = random.Random(SEED)
    async with running(Target(), backend) as service:
        for _ in range(COUNT):
            await service.publish(
                hostile_body(rng), source, key=hostile_key(rng), headers=hostile_headers(rng)
            )
        await service.publish(Reading(data=-42.0), source)  # the sentinel, last in order
        with anyio.fail_after(60):
            await done.wait()
        outputs = await backend.read(target, len(handled))
        letters = await backend.read(f"{source}.dlq", COUNT + 1 - len(handled))
    assert len(outputs) == len(handled)
    assert len(handled) + len(letters) == COUNT + 1
    assert 0 < len(letters) < COUNT
    for letter in letters:
        names = [name for name, _ in letter.headers]
        assert names.count("stream.error.type") == 1
        assert b"\n" not in (letter.header("stream.error.message") or b"")
