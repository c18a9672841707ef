"""How ``pytest -n`` (pytest-xdist, ``--dist loadgroup``) shares the tests out to its workers.

Each test module goes to one worker whole, so a module-scoped broker (the launcher's,
the outage's) starts once, not once per worker. Tests that use a costly session-scoped
broker other than the session's own (the three-node cluster, the broker that creates no
topics, the chaos suite's) go to one worker together, so it starts once in the run. Each
worker starts its own ``kafka_bootstrap`` broker; tests take fresh topic names, so
nothing they check is shared between workers.

Loaded by tests/conftest.py (``pytest_plugins``); a run without ``-n`` ignores the groups.
"""

from __future__ import annotations

import pytest

__all__ = ("SHARED_BROKERS", "pytest_collection_modifyitems")

SHARED_BROKERS = {
    "kafka_cluster": "cluster",
    "strict_kafka": "strict-kafka",
    "chaos_kafka": "chaos",
}
"""Fixture name -> group: the tests that use it run on one worker."""


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Gives every test without an ``xdist_group`` its broker's group, else its module's."""
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue
        fixtures = getattr(item, "fixturenames", ())
        shared = [group for name, group in SHARED_BROKERS.items() if name in fixtures]
        group = shared[0] if shared else item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))
