"""Which installed distribution a module belongs to, for a service's default version."""

from __future__ import annotations

import json
import sys
from functools import cache
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

__all__ = ("version_of_module",)


def version_of_module(module_name: str) -> str | None:
    """The version of the distribution that installed ``module_name``, if one did.

    Looks at what each distribution lists as its files, and, for an editable install
    (``uv sync`` in a workspace, ``pip install -e``), at the folder it points to.
    """
    module = sys.modules.get(module_name)
    file = getattr(module, "__file__", None)
    if not isinstance(file, str):
        return None
    return _version_of_file(str(Path(file).resolve()))


@cache
def _version_of_file(file: str) -> str | None:
    path = Path(file)
    best: tuple[int, str] | None = None
    for distribution in metadata.distributions():
        root = _editable_root(distribution)
        if root is not None and path.is_relative_to(root):
            depth = len(root.parts)  # the innermost project wins over an enclosing one
            if best is None or depth > best[0]:
                best = (depth, distribution.version)
        elif root is None and _lists_file(distribution, path):
            return distribution.version
    return best[1] if best is not None else None


def _editable_root(distribution: metadata.Distribution) -> Path | None:
    text = distribution.read_text("direct_url.json")
    if not text:
        return None
    try:
        info = json.loads(text)
    except ValueError:
        return None
    url = info.get("url", "") if isinstance(info, dict) else ""
    editable = isinstance(info, dict) and info.get("dir_info", {}).get("editable", False)
    if not editable or not url.startswith("file:"):
        return None
    return Path(unquote(urlparse(url).path)).resolve()


def _lists_file(distribution: metadata.Distribution, path: Path) -> bool:
    files = distribution.files or []
    # A cheap test on the name first: most distributions hold no file of that name.
    return any(
        entry.name == path.name and Path(str(distribution.locate_file(entry))).resolve() == path
        for entry in files
    )
