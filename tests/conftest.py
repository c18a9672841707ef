"""Shared test settings: every async test runs on asyncio through anyio's pytest plugin."""

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """stream runs on asyncio (aiokafka needs it)."""
    return "asyncio"
