"""A chaos result survives the trip from a worker process to the table (no broker)."""

from __future__ import annotations

import json

from tests.chaos.checker import Counts
from tests.chaos.harness import Fault, Result
from tests.chaos.report import as_dict, from_dict, markdown


def test_a_result_read_back_from_its_json_gives_the_same_row() -> None:
    counts = Counts(
        messages=10, lost=0, duplicates=2, order_violations=0, dead_lettered=1,
        letter_duplicates=0, bad_letters=0, unexpected=0, lost_items=[],
    )  # fmt: skip
    faults = [Fault("SIGKILL", at=100.0, ended=100.5, recovery=3.0)]
    result = Result(
        scenario="SIGKILL once", guarantee="at_least_once", counts=counts, faults=faults,
        crashes=0, worker_starts=2, seconds=9.0, seed=7, completed=True, poison_delay=1.5,
    )  # fmt: skip

    back = from_dict(json.loads(json.dumps(as_dict(result))))

    assert back == result
    assert markdown([back]) == markdown([result])
