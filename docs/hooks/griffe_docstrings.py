"""A griffe extension for the API reference: stream's docstrings, rendered as Markdown.

stream's docstrings are Google style with two habits of reStructuredText that griffe's
Google parser leaves as they are:

- ``Example:`` sections, which it does not know and renders as an admonition of
  Markdown (so ``>>> d["channels"]["input_data"]`` reads as reference links): renamed
  ``Examples:``, they render as Python console sessions;
- Sphinx roles such as ``:class:`~stream.core._options.ConsumeOptions```: shown as code,
  with the short name for ``~`` as Sphinx does. They are not made links, since many
  name private modules, which the reference does not render.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_SINGULAR = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)
_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):`(~?)([^`]+)`")


def _code(match: re.Match[str]) -> str:
    short, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


class StreamDocstrings(griffe.Extension):
    """Rewrites ``Example:`` sections and Sphinx roles as docstrings are loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrites ``obj``'s docstring."""
        if obj.docstring is not None:
            value = _SINGULAR.sub(r"\1Examples:", obj.docstring.value)
            obj.docstring.value = _ROLE.sub(_code, value)
