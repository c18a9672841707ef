"""Request/reply on both brokers: a handler's result goes back to the requester."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from stream.core import (
    DeliveryPolicy,
    Message,
    RequestError,
    RequestTimeoutError,
    Retry,
    Service,
    consume,
    produce,
)
from tests.behaviour.backends import Backend, running, unique

pytestmark = pytest.mark.anyio


class Question(BaseModel):
    number: int


class Answer(BaseModel):
    doubled: int


def answering(source: str, target: str) -> type[Service]:
    class Answering(Service):
        @produce(target)
        @consume(source, delivery=DeliveryPolicy(retry=Retry(attempts=1)))
        async def double(self, msg: Question) -> Answer:
            if msg.number < 0:
                raise ValueError(f"cannot double {msg.number}")
            return Answer(doubled=msg.number * 2)

    return Answering


async def test_a_request_gets_the_handlers_result_which_also_goes_to_its_topic(
    backend: Backend,
) -> None:
    source, target = unique("questions"), unique("answers")
    async with running(answering(source, target)(), backend) as service:
        first = await service.request(Question(number=21), source, reply_type=Answer)
        second = await service.request(Question(number=2), source, timeout=30)
        produced = await backend.read(target, 2)
    assert first == Answer(doubled=42)
    assert isinstance(second, Message)
    assert Answer.model_validate_json(second.value or b"") == Answer(doubled=4)
    assert [Answer.model_validate_json(m.value or b"").doubled for m in produced] == [42, 4]


async def test_a_failing_handler_raises_request_error_with_the_dead_letters_error(
    backend: Backend,
) -> None:
    source, target = unique("questions"), unique("answers")
    async with running(answering(source, target)(), backend) as service:
        with pytest.raises(RequestError, match="cannot double -1") as raised:
            await service.request(Question(number=-1), source)
        [letter] = await backend.read(f"{source}.dlq", 1)
    assert raised.value.error_type == "builtins.ValueError"
    assert letter.header("stream.error.message") == b"cannot double -1"


async def test_a_request_nobody_answers_times_out_naming_the_topic(backend: Backend) -> None:
    nobody = unique("unheard")

    class Asking(Service):
        pass

    async with running(Asking(), backend) as service:
        with pytest.raises(RequestTimeoutError, match=rf"{nobody} within 0\.5s"):
            await service.request(Question(number=1), nobody, timeout=0.5)


async def test_the_reply_topic_is_the_runs_own_and_is_deleted_at_stop(backend: Backend) -> None:
    source, target = unique("questions"), unique("answers")
    service = answering(source, target)()
    async with running(service, backend):
        reply_topic = service.publisher.reply_topic
        await service.request(Question(number=1), source)
        assert reply_topic in await backend.topics()
    assert reply_topic.startswith("Answering.replies.")
    assert reply_topic not in await backend.topics()
