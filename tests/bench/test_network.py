"""``python -m bench --rtt-ms``: a round trip needs the broker the harness starts itself."""

from __future__ import annotations

import pytest
from bench.broker import local_broker


def test_a_round_trip_on_a_given_broker_says_what_to_drop(monkeypatch: pytest.MonkeyPatch) -> None:
    # The delaying proxy is only in the path when the broker advertises it.
    monkeypatch.delenv("STREAM_KAFKA_BOOTSTRAP", raising=False)
    with (
        pytest.raises(SystemExit, match=r"--rtt-ms needs the harness's own broker.*drop"),
        local_broker("kafka:9092", rtts_ms=(0, 2)),
    ):
        pass
