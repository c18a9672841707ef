import pytest
from stream.core import TopicPartition
from stream.testing import TestBroker

from ledger import Deposit, Ledger

pytestmark = pytest.mark.anyio

DEPOSITS = TopicPartition("deposits", 0)


async def test_a_large_total_pauses_its_partition_until_resumed() -> None:
    ledger = Ledger()
    async with TestBroker(ledger) as service:
        await service.publish(Deposit(account="a", amount=1200.0), "deposits")
        await service.publish(Deposit(account="a", amount=5.0), "deposits")
        assert service.totals == {DEPOSITS: 1200.0}  # the second one waits

        await service.resume("on_deposit")
        assert service.totals == {DEPOSITS: 1205.0}
    # Flushed when the stop revoked the partition.
    assert ledger.store == {DEPOSITS: 1205.0}
