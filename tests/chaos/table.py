"""The chaos table's pytest plugin, loaded by tests/conftest.py (``pytest_plugins``).

A scenario's results travel with its test report (``user_properties``), not in the
process that ran it: with ``pytest -n`` the rows run in worker processes and only the
controller prints the summary, so the table is gathered from the reports the controller
receives (a plain run receives its own). The plugin is loaded from the root conftest,
not tests/chaos/conftest.py, because a controller that collects nothing never loads that
one.
"""

from __future__ import annotations

import json

import pytest

from tests.chaos.harness import ROOT, Result
from tests.chaos.report import as_dict, from_dict, markdown, write

__all__ = ("ARTIFACTS", "ChaosTable", "pytest_configure", "record")

ARTIFACTS = ROOT / "artifacts" / "chaos"
PROPERTY = "chaos_result"


def record(item: pytest.Item, results: list[Result]) -> None:
    """Attaches ``results`` to ``item``'s reports, for the table."""
    item.user_properties.extend((PROPERTY, json.dumps(as_dict(r))) for r in results)


class ChaosTable:
    """Gathers the rows from the reports; prints and writes the table at the end."""

    def __init__(self) -> None:
        self.results: list[Result] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Takes the rows a teardown report carries (a test's properties, once)."""
        if report.when == "teardown":
            self.results += [
                from_dict(json.loads(value))
                for name, value in report.user_properties
                if name == PROPERTY
            ]

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """Prints the chaos table and writes it to ``artifacts/chaos/``."""
        if not self.results:
            return
        write(self.results, ARTIFACTS)
        terminalreporter.section("chaos")
        terminalreporter.write(markdown(self.results))
        terminalreporter.write_line(f"written to {ARTIFACTS}/results.md and results.json")


def pytest_configure(config: pytest.Config) -> None:
    """Registers the table (an xdist worker's reports go to the controller, which prints)."""
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(ChaosTable(), "chaos-table")
