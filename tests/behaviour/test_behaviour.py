"""One behaviour suite, two backends: what a user can observe must not differ."""

from __future__ import annotations

import threading

import anyio
import pytest
from pydantic import BaseModel

from stream.core import (
    DeliveryPolicy,
    Message,
    PropagateHeaders,
    Response,
    Retry,
    Service,
    consume,
    produce,
)
from stream.testing import partition_for_key
from tests.behaviour.backends import Backend, running, unique

pytestmark = pytest.mark.anyio

FAST_RETRY = DeliveryPolicy(retry=Retry(attempts=3, backoff=0.01))


class Reading(BaseModel):
    id: str = ""
    seq: int = 0
    data: float = 0.0


def pipeline(source: str, target: str, **consume_options: object) -> type[Service]:
    class Pipeline(Service):
        @produce(target, headers={"stage": "plus-one"})
        @consume(source, **consume_options)  # type: ignore[arg-type]
        async def plus_one(self, msg: Reading) -> Reading:
            return Reading(id=msg.id, seq=msg.seq, data=msg.data + 1)

    return Pipeline


def per_key(messages: list[Message]) -> dict[bytes | None, list[int]]:
    sequences: dict[bytes | None, list[int]] = {}
    for message in messages:
        assert message.value is not None
        sequences.setdefault(message.key, []).append(Reading.model_validate_json(message.value).seq)
    return sequences


async def test_consume_and_produce_keep_key_and_add_headers(backend: Backend) -> None:
    source, target = unique("in"), unique("out")
    async with running(pipeline(source, target)(), backend) as service:
        await service.publish(Reading(id="a", data=0.2), source, key="k1", headers={"trace": "t1"})
        [output] = await backend.read(target, 1)
    assert Reading.model_validate_json(output.value or b"") == Reading(id="a", data=1.2)
    assert output.key == b"k1"
    assert output.header("stage") == b"plus-one"


async def test_key_picks_the_partition_kafka_would(backend: Backend) -> None:
    topic = unique("keys")
    await backend.create_topic(topic, 4)

    class Sender(Service):
        pass

    keys = [f"key-{i}" for i in range(24)]
    async with running(Sender(), backend) as service:
        for key in keys:
            await service.publish(Reading(id=key), topic, key=key)
        found = await backend.read(topic, len(keys))
    assert {(m.key, m.partition) for m in found} == {
        (key.encode(), partition_for_key(key.encode(), 4)) for key in keys
    }
    for partition in range(4):
        offsets = [m.offset for m in found if m.partition == partition]
        assert offsets == list(range(len(offsets)))


async def test_order_per_key_is_kept_with_concurrency(backend: Backend) -> None:
    source, target = unique("in"), unique("out")
    await backend.create_topic(source, 4)
    keys = [f"k{i}" for i in range(8)]
    async with running(pipeline(source, target, concurrency=4)(), backend) as service:
        for seq in range(25):
            for key in keys:
                await service.publish(Reading(id=key, seq=seq), source, key=key)
        outputs = await backend.read(target, 25 * len(keys))
    assert per_key(outputs) == {key.encode(): list(range(25)) for key in keys}


async def test_each_group_sees_every_message_once(backend: Backend) -> None:
    topic = unique("fanout")
    seen: dict[str, list[int]] = {"audit": [], "billing": []}
    both_done = anyio.Event()

    def consumer(group: str) -> type[Service]:
        class Consumer(Service):
            @consume(topic, group_id=group)
            async def handle(self, msg: Reading) -> None:
                seen[group].append(msg.seq)
                if all(len(v) == 5 for v in seen.values()):
                    both_done.set()

        return Consumer

    async with (
        running(consumer("audit")(), backend) as audit,
        running(consumer("billing")(), backend),
    ):
        for seq in range(5):
            await audit.publish(Reading(seq=seq), topic)
        with anyio.fail_after(30):
            await both_done.wait()
    assert seen == {"audit": [0, 1, 2, 3, 4], "billing": [0, 1, 2, 3, 4]}


async def test_batch_handler_gets_lists(backend: Backend) -> None:
    source, target = unique("in"), unique("out")

    class Batching(Service):
        @produce(target)
        @consume(source, batch=True, max_records=100)
        async def total(self, msgs: list[Reading]) -> list[Reading]:
            return [Reading(seq=m.seq, data=m.data * 10) for m in msgs]

    class Sender(Service):
        pass

    async with running(Sender(), backend) as sender:
        for seq in range(10):
            await sender.publish(Reading(seq=seq, data=seq), source)
        async with running(Batching(), backend):
            outputs = await backend.read(target, 10)
    assert [Reading.model_validate_json(m.value or b"").data for m in outputs] == [
        seq * 10.0 for seq in range(10)
    ]


async def test_transient_failure_is_retried_then_succeeds(backend: Backend) -> None:
    source, target = unique("in"), unique("out")
    attempts: list[int] = []

    class Flaky(Service):
        @produce(target)
        @consume(source, delivery=FAST_RETRY)
        async def handle(self, msg: Reading) -> Reading:
            attempts.append(msg.seq)
            if len(attempts) < 3:
                raise ConnectionError("try again")
            return msg

    async with running(Flaky(), backend) as service:
        await service.publish(Reading(seq=7), source)
        outputs = await backend.read(target, 1)
    assert attempts == [7, 7, 7]
    assert [Reading.model_validate_json(m.value or b"").seq for m in outputs] == [7]


async def test_spent_retries_go_to_the_dead_letter_topic_and_the_partition_moves_on(
    backend: Backend,
) -> None:
    source, target = unique("in"), unique("out")

    class Picky(Service):
        @produce(target)
        @consume(source, delivery=FAST_RETRY)
        async def handle(self, msg: Reading) -> Reading:
            if msg.seq == 1:
                raise ValueError("seq 1 is poison")
            return msg

    async with running(Picky(), backend) as service:
        for seq in range(3):
            await service.publish(Reading(seq=seq), source, key="same", headers={"origin": "test"})
        outputs = await backend.read(target, 2)
        [letter] = await backend.read(f"{source}.dlq", 1)
    assert [Reading.model_validate_json(m.value or b"").seq for m in outputs] == [0, 2]
    assert Reading.model_validate_json(letter.value or b"").seq == 1
    assert letter.key == b"same"
    assert letter.header("origin") == b"test"
    assert letter.header("stream.error.type") == b"builtins.ValueError"
    assert letter.header("stream.error.message") == b"seq 1 is poison"
    assert letter.header("stream.source.topic") == source.encode()
    assert letter.header("stream.source.offset") == b"1"
    assert letter.header("stream.attempts") == b"3"


@pytest.mark.parametrize("bad_value", [b"not json", b'{"seq": "not a number"}', b""])
async def test_undecodable_input_is_dead_lettered_at_once(
    backend: Backend, bad_value: bytes
) -> None:
    source, target = unique("in"), unique("out")
    async with running(pipeline(source, target, delivery=FAST_RETRY)(), backend) as service:
        await service.publish(bad_value, source)
        await service.publish(Reading(seq=5), source)
        outputs = await backend.read(target, 1)
        [letter] = await backend.read(f"{source}.dlq", 1)
    assert letter.value == bad_value
    assert letter.header("stream.error.type") == b"pydantic_core._pydantic_core.ValidationError"
    assert letter.header("stream.attempts") == b"1"
    assert [Reading.model_validate_json(m.value or b"").seq for m in outputs] == [5]


async def test_tombstone_keeps_its_key(backend: Backend) -> None:
    topic = unique("compacted")
    seen: list[tuple[bytes | None, Reading | None]] = []
    done = anyio.Event()

    class Table(Service):
        @consume(topic)
        async def upsert(self, msg: Reading | None, message: Message) -> None:
            seen.append((message.key, msg))
            if len(seen) == 2:
                done.set()

    async with running(Table(), backend) as service:
        await service.publish(Reading(seq=1), topic, key="row")
        await service.publish(None, topic, key="row")
        with anyio.fail_after(30):
            await done.wait()
    assert seen == [(b"row", Reading(seq=1)), (b"row", None)]


async def test_repeated_header_names_keep_their_order(backend: Backend) -> None:
    topic = unique("headers")

    class Sender(Service):
        pass

    async with running(Sender(), backend) as service:
        await service.publish(b"x", topic, headers=(("h", b"1"), ("h", b"2"), ("other", b"3")))
        [message] = await backend.read(topic, 1)
    assert message.headers == (("h", b"1"), ("h", b"2"), ("other", b"3"))
    assert message.header("h") == b"2"


async def test_a_restarted_service_does_not_reprocess_committed_messages(backend: Backend) -> None:
    source, target = unique("in"), unique("out")
    service_class = pipeline(source, target)
    async with running(service_class(), backend) as service:
        for seq in range(3):
            await service.publish(Reading(seq=seq), source)
        await backend.read(target, 3)
    async with running(service_class(), backend) as service:
        await service.publish(Reading(seq=3), source)
        outputs = await backend.read(target, 4)
        # Give a wrongly redelivered message time to show up after the one we waited for.
        extra = await backend.read(target, 5, timeout=1.0)
    assert [Reading.model_validate_json(m.value or b"").seq for m in outputs] == [0, 1, 2, 3]
    assert len(extra) == 4


async def test_an_output_too_large_for_the_broker_is_dead_lettered_and_consuming_goes_on(
    backend: Backend,
) -> None:
    source, target = unique("in"), unique("out")

    class Inflating(Service):
        @produce(target)
        @consume(source, delivery=FAST_RETRY)
        async def inflate(self, msg: Reading) -> Reading:
            # Two mebibytes: above Kafka's default 1 MiB message limit.
            return Reading(id="x" * (2 * 1024 * 1024) if msg.seq == 0 else "small", seq=msg.seq)

    async with running(Inflating(), backend) as service:
        await service.publish(Reading(seq=0), source)
        await service.publish(Reading(seq=1), source)
        outputs = await backend.read(target, 1)
        [letter] = await backend.read(f"{source}.dlq", 1)
    assert [Reading.model_validate_json(m.value or b"").seq for m in outputs] == [1]
    assert Reading.model_validate_json(letter.value or b"").seq == 0
    assert letter.header("stream.error.type") == b"stream.core.EncodeError"
    assert b"over the 1048576 bytes" in (letter.header("stream.error.message") or b"")


async def test_a_response_sets_key_headers_and_partition_of_its_one_output(
    backend: Backend,
) -> None:
    source, target = unique("in"), unique("out")
    await backend.create_topic(target, 3)

    class Responding(Service):
        @produce(target, headers={"stage": "plus-one"})
        @consume(source)
        async def plus_one(self, msg: Reading) -> Response[Reading]:
            return Response(
                body=Reading(id=msg.id, data=msg.data + 1),
                key=f"{msg.id}-out",
                headers={"trace": "t-1"},
                partition=2,
            )

    async with running(Responding(), backend) as service:
        await service.publish(Reading(id="a", data=0.5), source, key="a")
        [output] = await backend.read(target, 1)
    assert Reading.model_validate_json(output.value or b"") == Reading(id="a", data=1.5)
    assert (output.key, output.partition) == (b"a-out", 2)
    assert [(n, v) for n, v in output.headers] == [
        ("content-type", b"application/json"),
        ("stage", b"plus-one"),
        ("trace", b"t-1"),
    ]


async def test_a_response_may_choose_its_topic(backend: Backend) -> None:
    source, usual, special = unique("in"), unique("usual"), unique("special")

    class Routing(Service):
        @produce(usual)
        @consume(source)
        async def route(self, msg: Reading) -> Reading | Response[Reading]:
            return Response(body=msg, topic=special) if msg.data < 0 else msg

    async with running(Routing(), backend) as service:
        await service.publish(Reading(id="neg", data=-1), source)
        await service.publish(Reading(id="pos", data=1), source)
        [routed] = await backend.read(special, 1)
        [kept] = await backend.read(usual, 1)
    assert Reading.model_validate_json(routed.value or b"").id == "neg"
    assert Reading.model_validate_json(kept.value or b"").id == "pos"


async def test_a_plain_def_handler_runs_in_a_worker_thread(backend: Backend) -> None:
    source, target = unique("in"), unique("out")
    threads: list[int] = []

    class Blocking(Service):
        @produce(target)
        @consume(source)
        def plus_one(self, msg: Reading) -> Reading:  # a blocking library's call, say
            threads.append(threading.get_ident())
            return Reading(id=msg.id, data=msg.data + 1)

    async with running(Blocking(), backend) as service:
        await service.publish(Reading(id="a", data=0.5), source)
        [output] = await backend.read(target, 1)
    assert Reading.model_validate_json(output.value or b"") == Reading(id="a", data=1.5)
    assert threads and threads[0] != threading.get_ident()  # not the event loop's thread


async def test_chosen_input_headers_are_carried_to_the_outputs(backend: Backend) -> None:
    source, target = unique("in"), unique("out")

    class Tenanted(Service):
        middlewares = (PropagateHeaders("x-tenant", "baggage-*"),)

        @produce(target, headers={"stage": "plus-one"})
        @consume(source)
        async def plus_one(self, msg: Reading) -> Reading | Response[Reading]:
            if msg.id == "own":
                return Response(body=msg, headers={"x-tenant": "from-response"})
            return msg

    headers = (
        ("x-tenant", b"acme"),
        ("x-secret", b"not carried"),
        ("stage", b"upstream"),
        ("baggage-user", b"u1"),
        ("stream.error.type", b"not ours to carry"),
    )
    async with running(Tenanted(), backend) as service:
        await service.publish(Reading(id="carried"), source, headers=headers)
        await service.publish(Reading(id="own"), source, headers=headers)
        outputs = await backend.read(target, 2)
    by_id = {Reading.model_validate_json(o.value or b"").id: list(o.headers) for o in outputs}
    # The output's own headers (@produce's, the Response's) win over the input's.
    assert by_id["carried"] == [
        ("content-type", b"application/json"),
        ("stage", b"plus-one"),
        ("x-tenant", b"acme"),
        ("baggage-user", b"u1"),
    ]
    assert by_id["own"] == [
        ("content-type", b"application/json"),
        ("stage", b"plus-one"),
        ("x-tenant", b"from-response"),
        ("baggage-user", b"u1"),
    ]
