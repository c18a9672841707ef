"""Where ``--http`` listens, alone and under ``--workers``."""

from __future__ import annotations

import re

import pytest

from stream.cli._errors import CliError
from stream.cli._http import parse_address, worker_address


@pytest.mark.parametrize(
    ("address", "parsed"),
    [
        ("0.0.0.0:8080", ("0.0.0.0", 8080)),
        (":9000", ("0.0.0.0", 9000)),
        ("[::1]:8080", ("::1", 8080)),
        ("localhost:0", ("localhost", 0)),
    ],
)
def test_addresses_that_parse(address: str, parsed: tuple[str, int]) -> None:
    assert parse_address(address) == parsed


@pytest.mark.parametrize("address", ["localhost", "host:", "host:http", "host:70000"])
def test_addresses_that_do_not_say_what_to_write(address: str) -> None:
    with pytest.raises(CliError, match=re.escape("give HOST:PORT, e.g. 0.0.0.0:8080")):
        parse_address(address)


def test_each_worker_listens_on_its_own_port() -> None:
    assert worker_address("0.0.0.0:8080", None) == "0.0.0.0:8080"
    assert [worker_address("0.0.0.0:8080", i) for i in (1, 2, 3)] == [
        "0.0.0.0:8080",
        "0.0.0.0:8081",
        "0.0.0.0:8082",
    ]
    assert worker_address("[::1]:8080", 2) == "[::1]:8081"
    assert worker_address("127.0.0.1:0", 2) == "127.0.0.1:0"  # each picks a free port
