"""A document as text: JSON or YAML, both stable from run to run."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import yaml

__all__ = ("to_json", "to_yaml")


def to_json(document: Mapping[str, Any]) -> str:
    """``document`` as indented JSON, keys in document order, ending in a newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def to_yaml(document: Mapping[str, Any]) -> str:
    """``document`` as block-style YAML, keys in document order; text of several lines
    (docstrings) as literal blocks, so it reads as it was written."""
    # Plain dicts and lists only, as JSON would hold them: SafeDumper knows no Mapping
    # subclasses, and a value JSON cannot hold should fail here as it does in to_json.
    plain = json.loads(json.dumps(document))
    text: str = yaml.dump(plain, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return text


class _Dumper(yaml.SafeDumper):
    pass


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # A literal block cannot hold trailing spaces or some control characters faithfully;
    # such text keeps the default (quoted) style.
    multiline = "\n" in value and not any(line != line.rstrip() for line in value.splitlines())
    style = "|" if multiline else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)
