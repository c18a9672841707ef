"""``python -m bench --rtt-ms``: a round trip needs the broker the harness starts itself."""

from __future__ import annotations

import pytest
from bench.__main__ import _direct_only
from bench.broker import local_broker


def test_a_round_trip_on_a_given_broker_says_what_to_drop(monkeypatch: pytest.MonkeyPatch) -> None:
    # The delaying proxy is only in the path when the broker advertises it.
    monkeypatch.delenv("STREAM_KAFKA_BOOTSTRAP", raising=False)
    with (
        pytest.raises(SystemExit, match=r"--rtt-ms needs the harness's own broker.*drop"),
        local_broker("kafka:9092", rtts_ms=(0, 2)),
    ):
        pass


def test_a_given_broker_is_measured_at_rtt_0_unless_round_trips_are_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The full run's default is RTT 0 and 2 ms; on a broker the harness did not start, the
    # 2 ms pass is impossible, so leaving out --rtt-ms must not end in the error above.
    monkeypatch.delenv("STREAM_KAFKA_BOOTSTRAP", raising=False)
    assert _direct_only("kafka:9092") == (0.0,)
    assert _direct_only(None) is None  # the mode's default: its own broker, both passes
    monkeypatch.setenv("STREAM_KAFKA_BOOTSTRAP", "kafka:9092")
    assert _direct_only(None) == (0.0,)
