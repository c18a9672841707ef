"""Shared test settings: every async test runs on asyncio through anyio's pytest plugin."""

import os
import re
from collections.abc import Iterator

import pytest

from stream.kafka_local import LocalKafka
from tests.cluster import healed, start_cluster

# The chaos table, gathered from the reports of whichever process ran its rows (pytest -n).
pytest_plugins = ("tests.chaos.table",)

# C1 alone: the brokers a test run starts live for seconds to minutes, where the C2
# compiler's warm-up only competes for the two cores; each start is ~40% faster without it.
QUICK_JVM = "-XX:TieredStopAtLevel=1"


@pytest.fixture
def anyio_backend() -> str:
    """stream runs on asyncio (aiokafka needs it)."""
    return "asyncio"


@pytest.fixture(scope="session", autouse=True)
def quick_jvm_start() -> Iterator[None]:
    """Every JVM the tests start (Kafka brokers, their storage tool, Maven) skips C2.

    Given through ``JAVA_TOOL_OPTIONS``, so it reaches brokers started by subprocesses too
    (``stream dev``, the launcher's command line); a value set by the caller is kept.
    """
    with pytest.MonkeyPatch.context() as patch:
        if "JAVA_TOOL_OPTIONS" not in os.environ:
            patch.setenv("JAVA_TOOL_OPTIONS", QUICK_JVM)
        yield


@pytest.fixture(scope="session")
def _session_cluster() -> Iterator[LocalKafka]:
    """One three-node cluster behind a fault proxy for every ``cluster`` test (tests/cluster.py)."""
    kafka = start_cluster()
    try:
        yield kafka
    finally:
        kafka.stop()


@pytest.fixture
def kafka_cluster(_session_cluster: LocalKafka) -> Iterator[LocalKafka]:
    """The session's cluster; whatever a test takes down is up and in sync again after it."""
    yield from healed(_session_cluster)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leaves ``@pytest.mark.extended`` tests out unless ``-m`` names one of their markers.

    Extended tests are the long rows (a 90 s broker outage, most of the cluster's faults) a
    plain ``pytest`` skips to stay within CI's time: ``-m extended`` runs them all,
    ``-m cluster`` every cluster test, ``-m chaos`` the whole chaos suite.
    """
    expression = config.option.markexpr or ""
    named = set(re.findall(r"[A-Za-z_]+", expression))
    kept, extended = [], []
    for item in items:
        asked = named & {marker.name for marker in item.iter_markers()}
        left_out = item.get_closest_marker("extended") is not None and not asked
        (extended if left_out else kept).append(item)
    if extended:
        config.hook.pytest_deselected(items=extended)
        items[:] = kept
