"""What a replicated cluster's promises rest on stays on: acks=all and idempotence.

On a cluster (RF 3, ``min.insync.replicas=2``) an output is safe from a broker's death only
once every in-sync replica has it; a producer with ``acks=1`` would see it acknowledged
by a leader that may die before its followers copy it. So a service under at-least-once
or exactly-once cannot turn ``acks`` down: it fails at start, before connecting, with
the reason. No broker needed.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from stream.core import BindError, DeliveryPolicy, Guarantee, Service, consume, produce
from stream.kafka import KafkaBroker, ProducerOptions
from stream.kafka._options import producer_kwargs
from stream.kafka._transactions import TransactionalSender

pytestmark = pytest.mark.anyio


class Reading(BaseModel):
    data: float


def _service(guarantee: Guarantee, extra: dict[str, Any]) -> Service:
    class Pipeline(Service):
        broker = KafkaBroker("127.0.0.1:1", producer=ProducerOptions(extra=extra))

        @produce("readings-out")
        @consume("readings", delivery=DeliveryPolicy(guarantee=guarantee))
        async def on_reading(self, msg: Reading) -> Reading:
            return msg

    return Pipeline()


@pytest.mark.parametrize("guarantee", [Guarantee.AT_LEAST_ONCE, Guarantee.EXACTLY_ONCE])
@pytest.mark.parametrize(
    "extra", [{"acks": 0}, {"acks": 1}, {"enable_idempotence": False}], ids=str
)
async def test_weakening_the_producer_is_refused_at_start(
    guarantee: Guarantee, extra: dict[str, Any]
) -> None:
    (name,) = extra
    with pytest.raises(BindError, match=f"ProducerOptions.extra: `{name}` cannot be set here"):
        await _service(guarantee, extra).start()


def test_transactional_producers_keep_acks_all_and_idempotence() -> None:
    # Exactly-once runs one transactional producer per input partition, from the same
    # settings as the broker's producer: they must not lose what those settings promise.
    sender = TransactionalSender({}, producer_kwargs(ProducerOptions()), "stream-g-t-0")
    assert sender.producer_kwargs["acks"] == "all"
    assert sender.producer_kwargs["enable_idempotence"] is True
    assert sender.producer_kwargs["transactional_id"] == "stream-g-t-0"
