"""Which errors a subscription rides out, and for how long (issue 11, #3; no broker needed)."""

from __future__ import annotations

import time

import pytest
from aiokafka.errors import (
    CommitFailedError,
    KafkaConnectionError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotCoordinatorForGroupError,
    RequestTimedOutError,
)

from stream.kafka._outage import Outage, is_transient


@pytest.mark.parametrize(
    "error",
    [
        KafkaTimeoutError(),
        KafkaConnectionError(),
        NotCoordinatorForGroupError(),
        RequestTimedOutError(),
        CommitFailedError(),
        TimeoutError(),
        ConnectionResetError(),
    ],
)
def test_errors_the_broker_s_return_clears_are_transient(error: Exception) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error", [MessageSizeTooLargeError(), ValueError("too large"), RuntimeError("handler")]
)
def test_other_errors_are_not(error: Exception) -> None:
    assert not is_transient(error)


def test_an_outage_is_borne_until_its_bound_and_a_commit_in_between_starts_a_new_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    outage = Outage("S.h", limit=300.0)
    assert outage.bear(KafkaTimeoutError(), progress=7)  # begins
    now[0] += 299.0
    assert outage.bear(KafkaTimeoutError(), progress=7)
    assert outage.attempt_timeout() == pytest.approx(1.0)
    now[0] += 2.0
    assert not outage.bear(KafkaTimeoutError(), progress=7)  # 301 s without a commit
    assert outage.bear(KafkaTimeoutError(), progress=8)  # a commit since: a new outage
    assert [outage.backoff() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
