"""``stream --version``: the version of every installed ``stream-*`` distribution.

Cheap on purpose: it reads the ``*.dist-info`` folders on ``sys.path`` itself, as
``importlib.metadata`` would, without importing that (and the email parser it brings),
or any stream package.
"""

from __future__ import annotations

import os
import re
import sys

__all__ = ("installed_versions", "version_text")

# `stream_cli-0.1.0.dist-info`: the folder name is the normalized name and the version.
_DIST_INFO = re.compile(r"^(stream_[a-z0-9_]+)-([^-]+)\.dist-info$", re.IGNORECASE)


def installed_versions() -> list[tuple[str, str]]:
    """``(distribution, version)`` of every installed ``stream-*`` distribution, by name.

    The first one on ``sys.path`` wins, as it does for imports.
    """
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue  # a zip, or a folder that is gone
        for name in names:
            match = _DIST_INFO.match(name)
            if match is None:
                continue
            distribution = match.group(1).lower().replace("_", "-")
            version = _metadata_version(os.path.join(entry, name)) or match.group(2)
            found.setdefault(distribution, version)
    return sorted(found.items())


def version_text() -> str:
    """One ``name version`` line per distribution, then Python's version."""
    lines = [f"{name} {version}" for name, version in installed_versions()]
    lines.append("Python {}.{}.{}".format(*sys.version_info[:3]))
    return "\n".join(lines)


def _metadata_version(folder: str) -> str | None:
    # The METADATA header is authoritative; the folder name is the fallback.
    try:
        with open(os.path.join(folder, "METADATA"), encoding="utf-8") as metadata:
            for line in metadata:
                if line.startswith("Version:"):
                    return line.partition(":")[2].strip()
                if not line.strip():
                    break  # end of the header
    except OSError:
        return None
    return None
