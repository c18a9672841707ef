"""Every Python example of the documentation site runs.

The pages include their code from ``docs/examples`` (pymdownx.snippets), so what a
reader sees is what runs here. The examples import each other by module name, as the
files of a user's project do, so their folder goes on ``sys.path``. The tests a page
shows (``docs/examples/test_*.py``) are collected here as they are: their fixtures and
markers work as in a user's suite. Services with no test of their own on a page are
exercised below, under ``TestBroker``.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import FunctionType

import pytest
import yaml

from stream.testing import MemoryBroker, TestBroker, sent

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
PAGES = ROOT / "docs"

if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))

pytestmark = pytest.mark.anyio


def _shown_tests() -> dict[str, FunctionType]:
    found = {}
    for path in sorted(EXAMPLES.glob("test_*.py")):
        module = importlib.import_module(path.stem)
        for name, value in vars(module).items():
            if name.startswith("test_") and getattr(value, "__module__", None) == path.stem:
                found[f"test_{path.stem.removeprefix('test_')}__{name.removeprefix('test_')}"] = (
                    value
                )
    return found


# Collected by pytest as tests of this module, under names that say where they come from.
SHOWN_TESTS = _shown_tests()
globals().update(SHOWN_TESTS)


def test_every_example_test_file_has_tests() -> None:
    files = {path.stem for path in EXAMPLES.glob("test_*.py")}
    assert {name.split("__")[0] for name in SHOWN_TESTS} == files


def test_every_example_is_shown_on_a_page() -> None:
    pages = "\n".join(path.read_text() for path in PAGES.rglob("*.md"))
    examples = [
        path
        for path in EXAMPLES.rglob("*")
        if path.is_file()
        and not any(part.startswith((".", "__")) for part in path.relative_to(EXAMPLES).parts)
        and path.name != "ruff.toml"
    ]
    unshown = [p.relative_to(EXAMPLES).as_posix() for p in examples]
    unshown = [name for name in unshown if f'--8<-- "{name}' not in pages]
    assert not unshown, f"examples no page includes: {unshown}"


def test_every_example_module_imports() -> None:
    for path in sorted(EXAMPLES.glob("*.py")):
        importlib.import_module(path.stem)


async def test_the_asyncapi_example_writes_three_documents(tmp_path: Path) -> None:
    from thermo_docs import write_docs

    write_docs(tmp_path)

    assert yaml.safe_load((tmp_path / "asyncapi.yaml").read_text())["asyncapi"] == "3.1.0"
    assert '"asyncapi": "3.0.0"' in (tmp_path / "asyncapi.json").read_text()
    assert "readings.celsius" in (tmp_path / "asyncapi.html").read_text()


async def test_the_declared_topics_and_their_dead_letter_topic_get_their_partitions() -> None:
    from production import Payments

    async with TestBroker(Payments()) as service:
        broker = service.transport
        assert isinstance(broker, MemoryBroker)
        assert broker.partition_count("payments") == 12
        assert broker.partition_count("payments.dlq") == 12


def test_the_production_broker_is_secured_and_drains_within_the_grace_period() -> None:
    from production import MUTUAL_TLS, production_broker

    broker = production_broker()
    description = broker.describe()
    assert [server.protocol for server in description.servers] == ["kafka-secure"] * 3
    assert description.servers[0].security == ({"type": "scramSha512"},)
    assert MUTUAL_TLS.scheme() == {"type": "X509"}
    deployment = yaml.safe_load((EXAMPLES / "deployment.yaml").read_text())
    pod = deployment["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > broker.shutdown_timeout
    assert pod["containers"][0]["command"][:3] == ["stream", "run", "calibrated:Service"]


def test_a_static_member_keeps_one_instance_name_per_pod(monkeypatch: pytest.MonkeyPatch) -> None:
    from production import static_member_broker

    monkeypatch.setenv("POD_NAME", "thermo-2")
    options = static_member_broker().consumer_options
    assert (options.group_instance_id, options.session_timeout_ms) == ("thermo-2", 45_000)


async def test_the_billing_totals_come_in_batches() -> None:
    from billing import Billing, Invoice

    async with TestBroker(Billing()) as service:
        invoices = [Invoice(order_id=f"o-{n}", customer="ada", total=1.5) for n in range(3)]
        for invoice in invoices:
            await service.publish(invoice, "invoices")

        assert sent(service, "totals") == [{"invoices": 1, "total": 1.5}] * 3


async def test_the_delivery_policies_are_the_ones_the_page_describes() -> None:
    from payments import AT_MOST_ONCE, EXACTLY_ONCE, PATIENT, Click, Payments

    from stream.core import Guarantee

    assert PATIENT.guarantee is Guarantee.AT_LEAST_ONCE
    assert [PATIENT.retry.delay(n) for n in range(1, 5)] == [0.5, 1.0, 2.0, 4.0]
    assert PATIENT.dead_letter is not None
    assert PATIENT.dead_letter.topic_for("payments") == "payments.failed"
    assert EXACTLY_ONCE.guarantee is Guarantee.EXACTLY_ONCE
    assert AT_MOST_ONCE.retry.attempts == 1
    async with TestBroker(Payments()) as service:
        await service.publish(Click(page="/"), "clicks")
        service.on_click.mock.assert_called_once_with({"page": "/"})
