"""Shared test settings: every async test runs on asyncio through anyio's pytest plugin."""

import os
from collections.abc import Iterator

import pytest

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
