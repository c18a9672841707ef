"""Every public module of every stream package declares a tuple ``__all__`` that is true."""

import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIRS = sorted((ROOT / "packages").glob("*/src/stream/*"))


def public_modules() -> list[str]:
    names = []
    for package_dir in PACKAGE_DIRS:
        if not package_dir.is_dir():
            continue
        package = f"stream.{package_dir.name}"
        names.append(package)
        for info in pkgutil.walk_packages([str(package_dir)], prefix=f"{package}."):
            if not any(part.startswith("_") for part in info.name.split(".")):
                names.append(info.name)
    return names


def test_every_package_is_found() -> None:
    expected = {
        "core",
        "testing",
        "kafka",
        "kafka_local",
        "cli",
        "asyncapi",
        "opentelemetry",
        "prometheus",
    }
    assert {d.name for d in PACKAGE_DIRS} >= expected


def test_no_stream_init_anywhere() -> None:
    # `stream` is a PEP 420 namespace shared by every package.
    assert not list((ROOT / "packages").glob("*/src/stream/__init__.py"))


@pytest.mark.parametrize("name", public_modules())
def test_all_is_a_tuple_of_what_the_module_defines(name: str) -> None:
    module: ModuleType = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert isinstance(exported, tuple), f"{name} has no tuple __all__"
    assert len(set(exported)) == len(exported), f"{name}.__all__ repeats a name"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it does not define: {missing}"
    defined_here = {
        attribute
        for attribute, value in vars(module).items()
        if not attribute.startswith("_")
        and getattr(value, "__module__", None) == name
        and callable(value)
    }
    assert defined_here <= set(exported), (
        f"{name} defines public {defined_here - set(exported)} not in __all__"
    )
