"""``python -m bench.observed``: every job of the path ran its messages, every floor step
was timed, and the middlewares' jobs are the bench job with them set."""

from __future__ import annotations

from bench.observed import floor_us, path_us


def test_each_job_and_each_floor_step_is_measured() -> None:
    path = path_us(messages=500, rounds=2, repeats=1)
    assert list(path) == [
        "plain",
        "a no-op middleware",
        "Metrics",
        "Tracing, SDK at 1%",
        "Tracing 1% + Metrics",
    ]
    assert all(0 < us < float("inf") for us in path.values()), path
    floor = floor_us(number=1_000)
    assert len(floor) == 5
    assert all(us > 0 for us in floor.values()), floor
