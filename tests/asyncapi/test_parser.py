"""The documents pass the official AsyncAPI parser with no error and no warning.

Every document is written as JSON and as YAML, in each supported version; one run of
the parser checks them all (a Node.js start costs more than a document).
"""

from pathlib import Path
from typing import Any

import pytest

from demo.app import Service as Demo
from stream.asyncapi import VERSIONS, asyncapi_document, to_json, to_yaml
from stream.core import Service
from tests.asyncapi.conftest import Validate
from tests.asyncapi.services import Auditor, Everything

DOCUMENTS: dict[str, tuple[type[Service], ...]] = {
    "demo": (Demo,),
    "everything": (Everything,),
    "together": (Everything, Auditor),
}
FORMATS = {"json": to_json, "yaml": to_yaml}
CASES = [(name, version, fmt) for name in DOCUMENTS for version in VERSIONS for fmt in FORMATS]


@pytest.fixture(scope="module")
def parser_report(
    asyncapi_parser: Validate, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("asyncapi")
    files: list[Path] = []
    for name, version, fmt in CASES:
        path = folder / f"{name}-{version}.{fmt}"
        path.write_text(FORMATS[fmt](asyncapi_document(*DOCUMENTS[name], version=version)))
        files.append(path)
    report = asyncapi_parser(files)
    report["by_name"] = {Path(result["file"]).name: result for result in report["results"]}
    return report


def test_the_newest_version_is_the_default() -> None:
    assert VERSIONS == ("3.1.0", "3.0.0")
    assert asyncapi_document(Demo)["asyncapi"] == "3.1.0"


@pytest.mark.parametrize(("name", "version", "fmt"), CASES)
def test_document_passes_the_official_parser(
    parser_report: dict[str, Any], name: str, version: str, fmt: str
) -> None:
    result = parser_report["by_name"][f"{name}-{version}.{fmt}"]
    problems = [d for d in result["diagnostics"] if d["severity"] in ("error", "warning")]
    assert problems == [], f"@asyncapi/parser {parser_report['parser']}: {problems}"
    assert result["ok"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_only_the_older_version_is_told_to_upgrade(parser_report: dict[str, Any], fmt: str) -> None:
    # The one diagnostic a 3.0.0 document may get is the parser's "info" that 3.1.0
    # exists; 3.1.0 documents get none at all.
    older = parser_report["by_name"][f"demo-3.0.0.{fmt}"]["diagnostics"]
    newer = parser_report["by_name"][f"demo-3.1.0.{fmt}"]["diagnostics"]
    assert [d["code"] for d in older] == ["asyncapi-latest-version"]
    assert newer == []


def test_the_check_rejects_broken_documents(asyncapi_parser: Validate, tmp_path: Path) -> None:
    # The check itself is checked: a wrong example, and a dangling ref, each fail it.
    wrong_example = asyncapi_document(Everything)
    order = wrong_example["channels"]["orders"]["messages"]["Order"]
    order["examples"][0]["payload"]["order_id"] = "not a number"
    dangling = asyncapi_document(Everything)
    dangling["operations"]["Everything.on_order.receive.orders"]["channel"] = {
        "$ref": "#/channels/nowhere"
    }
    paths = [tmp_path / "wrong_example.json", tmp_path / "dangling.json"]
    for path, document in zip(paths, (wrong_example, dangling), strict=True):
        path.write_text(to_json(document))
    first, second = asyncapi_parser(paths)["results"]
    assert not first["ok"]
    assert [(d["code"], d["path"]) for d in first["diagnostics"]] == [
        ("stream-example-invalid", "channels/orders/messages/Order/examples/0/payload")
    ]
    assert not second["ok"]
    assert "invalid-ref" in {d["code"] for d in second["diagnostics"]}
