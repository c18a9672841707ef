"""``ConsumerGroups``: a group's lag, and resets to earliest, latest or an offset."""

from __future__ import annotations

import pytest
from tests.kafka.conftest import Kafka

from stream.kafka import ConsumerGroups, KafkaBroker, PlannedReset, UnknownTopicError

pytestmark = [pytest.mark.kafka, pytest.mark.anyio]


async def test_resets_to_earliest_latest_and_a_clamped_offset(kafka: Kafka) -> None:
    topic = await kafka.create_topic("offsets", partitions=2)
    group = kafka.unique("group")
    await kafka.produce_to(topic, *((None, b"x", 0) for _ in range(5)), (None, b"y", 1))
    async with ConsumerGroups(KafkaBroker(kafka.bootstrap)) as groups:
        [first, second] = await groups.lag(group, [topic])
        assert (first.committed, first.end, first.lag) == (None, 5, None)
        assert (second.committed, second.end) == (None, 1)

        await groups.reset(group, await groups.plan_reset(group, [topic], "latest"))
        assert [lag.lag for lag in await groups.lag(group, [topic])] == [0, 0]

        # An offset past a partition's end stops at the end, as Kafka's own tool does.
        plan = await groups.plan_reset(group, [topic], 3)
        assert plan == [PlannedReset(topic, 0, 5, 3), PlannedReset(topic, 1, 1, 1)]
        await groups.reset(group, plan)
        assert [lag.lag for lag in await groups.lag(group, [topic])] == [2, 0]

        earliest = await groups.plan_reset(group, [topic], "earliest")
        assert [(r.current, r.new) for r in earliest] == [(3, 0), (1, 0)]
        # Without a topic named, the group's committed topics are used.
        assert [lag.topic for lag in await groups.lag(group)] == [topic, topic]


async def test_an_unknown_topic_is_named(kafka: Kafka) -> None:
    missing = kafka.unique("missing")
    async with ConsumerGroups(KafkaBroker(kafka.bootstrap)) as groups:
        with pytest.raises(UnknownTopicError, match=missing):
            await groups.lag(kafka.unique("group"), [missing])
