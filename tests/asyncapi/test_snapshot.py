"""The demo's document, compared with a committed, readable copy.

A change to what the demo's document says shows up as a diff of
``tests/asyncapi/snapshots/*.yaml`` in review. To accept one, regenerate the files:

    STREAM_UPDATE_SNAPSHOTS=1 uv run pytest tests/asyncapi/test_snapshot.py
"""

import os
from pathlib import Path

import pytest

from demo.app import Service as Demo
from stream.asyncapi import asyncapi_document, to_yaml
from stream.core import Service
from tests.asyncapi.services import Everything

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("STREAM_UPDATE_SNAPSHOTS") == "1"


@pytest.mark.parametrize(
    ("name", "service"),
    [("demo", Demo), ("everything", Everything)],
)
def test_document_matches_its_snapshot(name: str, service: type[Service]) -> None:
    path = SNAPSHOTS / f"{name}.asyncapi.yaml"
    rendered = to_yaml(asyncapi_document(service))
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(rendered)
    assert path.exists(), f"{path} is missing; set STREAM_UPDATE_SNAPSHOTS=1 to write it"
    assert rendered == path.read_text(), (
        f"{name}'s AsyncAPI document changed; if that is intended, rerun with "
        f"STREAM_UPDATE_SNAPSHOTS=1 and review the diff of tests/asyncapi/snapshots/{path.name}"
    )
