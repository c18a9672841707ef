"""AsyncAPI documents of a service, from Python."""

from pathlib import Path

from stream.asyncapi import asyncapi_document, render_html, to_json, to_yaml

from thermo import Service


def write_docs(folder: Path) -> None:
    document = asyncapi_document(Service)  # AsyncAPI 3.1.0, as a plain dict
    (folder / "asyncapi.yaml").write_text(to_yaml(document))
    (folder / "asyncapi.json").write_text(
        to_json(asyncapi_document(Service, version="3.0.0"))
    )
    (folder / "asyncapi.html").write_text(
        render_html(document)
    )  # one file, opens offline
