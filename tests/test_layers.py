"""The layers hold: no forbidden import arrow, private machinery stays private, and each
wheel holds only its own package."""

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
    "kafka_local": set(),  # development tooling: standard library only
    "testing": {"core"},  # plus kafka_local, in the plugin's optional real-broker fixture only
    "asyncapi": {"core"},
    "opentelemetry": {"core"},
    "prometheus": {"core"},
    # kafka only lazily, for dev/publish/--bootstrap; kafka_local lazily, for `stream dev`
    # prometheus lazily, for the /metrics of `stream run --http`
    "cli": {"core", "asyncapi", "kafka", "kafka_local", "prometheus"},
}
# import name -> folder under packages/, where the two differ
FOLDERS = {"kafka_local": "kafka-local"}
UV = shutil.which("uv") or "uv"  # the test command runs under uv, so it is on PATH
OPTIONAL_IMPORTS = {("testing", "kafka_local"): {"plugin.py"}}


def source_dir(package: str) -> Path:
    """``packages/<folder>/src/stream/<package>``."""
    return PACKAGES / FOLDERS.get(package, package) / "src" / "stream" / package


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
    for path in source_dir(package).rglob("*.py"):
        for imported in stream_imports(path) - {package}:
            allowed = imported in ALLOWED[package] or path.name in OPTIONAL_IMPORTS.get(
                (package, imported), set()
            )
            assert allowed, f"{path.relative_to(ROOT)} imports stream.{imported}"


PUBLIC_MODULES = {
    "stream.core",  # for service authors
    "stream.core.transport",  # for transport and tool authors
    "stream.kafka",
    "stream.kafka_local",
    "stream.testing",
    "stream.testing.plugin",  # the pytest11 entry point
    "stream.asyncapi",
    "stream.opentelemetry",
    "stream.prometheus",
    "stream.cli",
    "stream.cli.main",  # the `stream` entry point
}
"""Every module a user may import, as the packages' READMEs list them. Every other module
is private: a part of its dotted name starts with ``_``."""


def module_name(path: Path) -> str:
    """``stream.core._dispatch`` for ``packages/core/src/stream/core/_dispatch.py``."""
    src = next(parent for parent in path.parents if parent.name == "src")
    return ".".join(path.relative_to(src).with_suffix("").parts).removesuffix(".__init__")


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name.startswith("stream.")}


def is_private(module: str) -> bool:
    return any(part.startswith("_") for part in module.split("."))


def test_every_module_is_public_by_list_or_private_by_name() -> None:
    unlisted = [
        name
        for path in PACKAGES.glob("*/src/stream/**/*.py")
        if not is_private(name := module_name(path)) and name not in PUBLIC_MODULES
    ]
    assert not unlisted, (
        f"{unlisted} read as public API: name them with a leading underscore, or add them to "
        "PUBLIC_MODULES and to their package's README"
    )


def test_no_module_outside_a_face_is_imported_as_public_api() -> None:
    # Tests, the demo and the bench may reach into internals, but only visibly (a `_`
    # module); a package may reach into its own internals and never another's.
    sources = [*ROOT.glob("tests/**/*.py"), *ROOT.glob("apps/*/src/**/*.py")]
    sources += [*ROOT.glob("bench/**/*.py"), *PACKAGES.glob("*/src/stream/**/*.py")]
    for path in sources:
        own = module_name(path).split(".")[:2] if path.is_relative_to(PACKAGES) else None
        for module in imported_modules(path):
            where = f"{path.relative_to(ROOT)} imports {module}"
            assert module in PUBLIC_MODULES or is_private(module), (
                f"{where}, which is neither public nor private by name"
            )
            if own is not None and is_private(module):
                assert module.split(".")[:2] == own, f"{where}: another package's internals"


def test_kafka_is_imported_lazily_by_the_cli_and_the_testing_plugin() -> None:
    # `pip install stream-cli` (without [kafka]) must still start: no module-level import
    # of stream.kafka or stream.kafka_local (the prefix covers both).
    for package in ("cli", "testing"):
        for path in source_dir(package).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in tree.body:
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    modules = [node.module or ""]
                else:
                    continue
                if any(module.startswith("stream.kafka") for module in modules):
                    pytest.fail(f"{path.relative_to(ROOT)} imports {modules} at module level")


@pytest.mark.parametrize("package", ["core", "kafka", "kafka_local", "testing", "opentelemetry"])
def test_a_wheel_holds_only_its_own_package(package: str, tmp_path: Path) -> None:
    subprocess.run(
        [
            UV,
            "build",
            "--wheel",
            "--quiet",
            "--out-dir",
            str(tmp_path),
            str(PACKAGES / FOLDERS.get(package, package)),
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
    if package == "kafka":
        # Production installs carry no dev tooling that downloads and runs a JVM.
        assert not [n for n in code if "launcher" in n or "kafka_local" in n], code
        assert "stream-kafka-local" not in requires
    if package == "opentelemetry":
        # The API only: a service picks its SDK and exporter.
        assert requires == {"stream-core", "opentelemetry-api"}, requires
    if package == "kafka_local":
        assert not requires, requires  # standard library only: no stream-kafka, no aiokafka
