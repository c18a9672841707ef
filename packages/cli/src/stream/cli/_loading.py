"""Finding the service a ``MODULE:ATTR`` names, with an error that says what to fix."""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from stream.cli._errors import CliError

if TYPE_CHECKING:
    from stream.core import Service

__all__ = ("add_app_dir", "import_module", "load_service", "load_target", "split_target")


def split_target(target: str) -> tuple[str, str]:
    """Splits ``"package.module:Attr"`` into module and attribute path.

    Raises:
        CliError: ``target`` is not of that form.
    """
    module, colon, attribute = target.partition(":")
    if not colon or not module or not attribute:
        raise CliError(
            f"{target!r} is not MODULE:ATTR; name the module and the service in it, "
            "e.g. demo.app:Service"
        )
    return module, attribute


def add_app_dir(app_dir: Path) -> None:
    """Puts ``app_dir`` first on ``sys.path``, as ``python`` does with a script's folder."""
    folder = str(app_dir.resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)


def import_module(name: str, app_dir: Path) -> ModuleType:
    """Imports the user's module ``name``, looking in ``app_dir`` first.

    Raises:
        CliError: the module is missing, has a syntax error, or raised while importing.
    """
    add_app_dir(app_dir)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if missing and (name == missing or name.startswith(f"{missing}.")):
            raise CliError(
                f"cannot import {name!r}: no module named {missing!r} in {app_dir.resolve()} "
                "or the installed packages; check the name, or pass --app-dir"
            ) from None
        # The user's module exists but imports something that does not.
        raise CliError(
            f"importing {name!r} failed at {_where(error)}: {error}; is a dependency missing?"
        ) from None
    except SyntaxError as error:
        # IndentationError and TabError land here too; their own message is the useful part.
        raise CliError(
            f"syntax error in {error.filename}, line {error.lineno}: {error.msg}"
        ) from None
    except Exception as error:
        raise CliError(
            f"importing {name!r} raised {type(error).__name__} at {_where(error)}: {error}"
        ) from None


def load_target(target: str, app_dir: Path) -> Service | type[Service]:
    """Imports ``MODULE:ATTR`` and returns the ``Service`` subclass or instance it names.

    ``ATTR`` may be dotted, for a nested attribute.

    Raises:
        CliError: the module cannot be imported, the attribute is missing, or it is not a
            ``Service`` subclass or instance.
    """
    module_name, attribute = split_target(target)
    module = import_module(module_name, app_dir)
    found: object = module
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise CliError(
                f"module {module_name!r} has no attribute {attribute!r}{_services_hint(module)}"
            ) from None
    # Imported here, not at the top: `stream --version` and `--help` must not pay for it.
    from stream.core import Service

    if isinstance(found, Service):
        return found
    if isinstance(found, type) and issubclass(found, Service) and found is not Service:
        return found
    raise CliError(
        f"{target} is {_describe(found)}, not a stream Service; point at a subclass of "
        f"stream.core.Service or an instance of one{_services_hint(module)}"
    )


def load_service(target: str, app_dir: Path) -> Service:
    """Imports ``MODULE:ATTR`` and returns the service instance it names.

    A ``Service`` subclass is instantiated with no arguments.

    Raises:
        CliError: as :func:`load_target`, or the subclass cannot be instantiated.
    """
    found = load_target(target, app_dir)
    if not isinstance(found, type):
        return found
    try:
        return found()
    except Exception as error:
        raise CliError(
            f"cannot create {target}(): {type(error).__name__}: {error}; give it an "
            "__init__ that needs no arguments, or point at an instance"
        ) from None


def _services_hint(module: ModuleType) -> str:
    from stream.core import Service

    names = sorted(
        name
        for name, value in vars(module).items()
        if (isinstance(value, type) and issubclass(value, Service) and value is not Service)
        or isinstance(value, Service)
    )
    if not names:
        return ""
    listed = ", ".join(f"{module.__name__}:{name}" for name in names)
    return f" (it has {listed})"


def _describe(value: object) -> str:
    if isinstance(value, type):
        return f"the class {value.__qualname__}"
    if isinstance(value, ModuleType):
        return f"the module {value.__name__}"
    return f"a {type(value).__name__}"


def _where(error: BaseException) -> str:
    # The innermost frame that is not importlib's own machinery is the user's line.
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if not frame.filename.startswith("<frozen ")
    ]
    if not frames:
        return "import time"
    frame = frames[-1]
    return f"{frame.filename}, line {frame.lineno}"
