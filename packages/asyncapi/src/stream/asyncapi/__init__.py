"""AsyncAPI 3 documents of stream services, as JSON, YAML and a self-contained HTML page.

Example:
    >>> from stream.asyncapi import asyncapi_document, render_html, to_yaml
    >>> document = asyncapi_document(Service)            # AsyncAPI 3.1.0
    >>> older = asyncapi_document(Service, version="3.0.0")
    >>> print(to_yaml(document))
    >>> Path("docs.html").write_text(render_html(document))
"""

from stream.asyncapi._build import describe
from stream.asyncapi._document import DEFAULT_VERSION, VERSIONS, asyncapi_document, render
from stream.asyncapi._model import (
    Api,
    ChannelModel,
    KeyModel,
    MessageModel,
    OperationModel,
    ServerModel,
    ServiceModel,
)
from stream.asyncapi._output import to_json, to_yaml
from stream.asyncapi._page import render_html
from stream.asyncapi._serve import DocsServer, make_server, serve

__all__ = (
    "DEFAULT_VERSION",
    "VERSIONS",
    "Api",
    "ChannelModel",
    "DocsServer",
    "KeyModel",
    "MessageModel",
    "OperationModel",
    "ServerModel",
    "ServiceModel",
    "asyncapi_document",
    "describe",
    "make_server",
    "render",
    "render_html",
    "serve",
    "to_json",
    "to_yaml",
)
