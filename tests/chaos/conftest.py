"""Fixtures of the chaos suite: its own broker (faults restart it), and the results table.

Run the suite alone with ``uv run pytest -m chaos``; the table is printed at the end and
written to ``artifacts/chaos/results.{md,json}`` (worker logs under ``logs/``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stream.kafka_local import LocalKafka, LocalKafkaConfig
from tests.chaos.harness import Result
from tests.chaos.table import ARTIFACTS, record


def pytest_configure(config: pytest.Config) -> None:
    """Registers the ``chaos`` marker (the root pyproject lists only ``kafka``)."""
    config.addinivalue_line(
        "markers",
        "chaos: fault injection against a real broker (tests/chaos); run alone with -m chaos",
    )


@pytest.fixture
def chaos_results(request: pytest.FixtureRequest) -> Iterator[list[Result]]:
    """Where a scenario test puts its results; they reach the table with its report
    (tests/chaos/table.py), from whichever process ran the test."""
    results: list[Result] = []
    yield results
    record(request.node, results)


@pytest.fixture(scope="module")
def artifacts() -> Path:
    """``artifacts/chaos/`` in the repository (gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def chaos_kafka() -> Iterator[LocalKafka]:
    """A broker of the chaos suite's own, so a scenario may restart it: never the session's.

    One for the suite's modules: each scenario has topics and a group of its own, and
    leaves the broker running (a restart or an outage brings it back before the verdict).
    """
    kafka = LocalKafka(LocalKafkaConfig(partitions=4))
    kafka.start()
    try:
        yield kafka
    finally:
        kafka.stop()
