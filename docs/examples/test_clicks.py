import pytest
from stream.testing import MemoryBroker, TestBroker, records, sent

from clicks import Click, Enricher

pytestmark = pytest.mark.anyio


async def test_each_users_visits_keep_their_order() -> None:
    broker = MemoryBroker(partitions=4)
    async with TestBroker(Enricher(), broker=broker) as service:
        for n in range(5):
            for user in ("nina", "omar"):
                await service.publish(
                    Click(user=user, page=f"/{n}"), "clicks", key=user
                )

        visits = sent(service, "visits")
        for user in ("nina", "omar"):
            assert [v["page"] for v in visits if v["user"] == user] == [
                "/0",
                "/1",
                "/2",
                "/3",
                "/4",
            ]
        assert {r.key for r in records(service, "visits")} == {b"nina", b"omar"}
