"""The arrows DESIGN.md forbids never appear, and each wheel holds only its own package."""

from __future__ import annotations

import ast
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ROOT / "packages"

# package -> the stream packages it may import (itself always allowed)
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "kafka": {"core"},
    "testing": {"core"},  # plus kafka, in the plugin's optional real-broker fixture only
    "asyncapi": {"core"},
    "cli": {"core", "asyncapi", "kafka"},  # kafka only lazily, for dev/publish/--bootstrap
}
UV = shutil.which("uv") or "uv"  # the test command runs under uv, so it is on PATH
OPTIONAL_IMPORTS = {("testing", "kafka"): {"plugin.py"}}


def stream_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        found.update(
            n.split(".")[1] for n in names if n.startswith("stream.") and n.count(".") >= 1
        )
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_no_forbidden_arrow(package: str) -> None:
    for path in (PACKAGES / package / "src" / "stream" / package).rglob("*.py"):
        for imported in stream_imports(path) - {package}:
            allowed = imported in ALLOWED[package] or path.name in OPTIONAL_IMPORTS.get(
                (package, imported), set()
            )
            assert allowed, f"{path.relative_to(ROOT)} imports stream.{imported}"


def test_kafka_is_imported_lazily_by_the_cli_and_the_testing_plugin() -> None:
    # `pip install stream-cli` (without [kafka]) must still start: no module-level import.
    for package in ("cli", "testing"):
        for path in (PACKAGES / package / "src" / "stream" / package).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in tree.body:
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "stream.kafka"
                ):
                    pytest.fail(f"{path.relative_to(ROOT)} imports stream.kafka at module level")


@pytest.mark.parametrize("package", ["core", "kafka", "testing"])
def test_a_wheel_holds_only_its_own_package(package: str, tmp_path: Path) -> None:
    subprocess.run(
        [
            UV,
            "build",
            "--wheel",
            "--quiet",
            "--out-dir",
            str(tmp_path),
            str(PACKAGES / package),
        ],
        check=True,
        cwd=ROOT,
    )
    [wheel] = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = next(
            archive.read(n).decode() for n in names if n.endswith(".dist-info/METADATA")
        )
    code = [n for n in names if ".dist-info/" not in n]
    assert code
    assert all(n.startswith(f"stream/{package}/") for n in code), code
    assert "stream/__init__.py" not in names
    requires = {
        line.split(":", 1)[1].split(">")[0].split(";")[0].strip()
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:")
    }
    assert "typer" not in requires
    if package != "kafka":
        assert "aiokafka" not in requires
