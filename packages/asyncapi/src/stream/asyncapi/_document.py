"""``asyncapi_document``: services in, an AsyncAPI document (a plain dict) out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stream.asyncapi._build import describe
from stream.asyncapi._model import Api
from stream.asyncapi._render_v3 import VERSIONS as V3_VERSIONS
from stream.asyncapi._render_v3 import render as render_v3
from stream.core import Service

__all__ = ("DEFAULT_VERSION", "VERSIONS", "asyncapi_document", "render")

Renderer = Callable[[Api, str], dict[str, Any]]

_RENDERERS: dict[str, Renderer] = dict.fromkeys(V3_VERSIONS, render_v3)
# Another AsyncAPI version is another renderer of the same model, registered here.

VERSIONS: tuple[str, ...] = tuple(_RENDERERS)
"""The AsyncAPI versions stream writes, newest first."""

DEFAULT_VERSION = VERSIONS[0]
"""The newest version the official AsyncAPI parser validates: ``"3.1.0"``."""


def render(api: Api, version: str = DEFAULT_VERSION) -> dict[str, Any]:
    """The AsyncAPI ``version`` document of an already built model.

    Raises:
        ValueError: ``version`` is not one of :data:`VERSIONS`.
    """
    renderer = _RENDERERS.get(version)
    if renderer is None:
        raise ValueError(f"AsyncAPI {version} is not supported; use one of {', '.join(VERSIONS)}")
    return renderer(api, version)


def asyncapi_document(
    *services: type[Service] | Service,
    version: str = DEFAULT_VERSION,
    title: str | None = None,
    api_version: str | None = None,
) -> dict[str, Any]:
    """The AsyncAPI document of one service, or of several together.

    Args:
        *services: Service classes or instances.
        version: The AsyncAPI version: ``"3.1.0"`` (default) or ``"3.0.0"``.
        title: The document's title; by default the service's class name.
        api_version: The document's ``info.version``; by default the service's
            ``version`` attribute, else its distribution's version, else ``"0.1.0"``.

    Returns:
        The document as plain JSON-compatible data; see :func:`to_json`,
        :func:`to_yaml` and :func:`render_html`.

    Raises:
        ValueError: no service is given, or ``version`` is not supported.
        TypeError: something given is not a stream service.
        BindError: a handler of a service is wrong.

    Example:
        >>> document = asyncapi_document(Service)
        >>> document["channels"]["input_data"]["address"]
        'input_data'
    """
    if version not in _RENDERERS:  # before describing, so a typo fails fast
        raise ValueError(f"AsyncAPI {version} is not supported; use one of {', '.join(VERSIONS)}")
    return render(describe(*services, title=title, version=api_version), version)
