"""``python -m bench.lanes``: every row of the table ran and committed what it handled."""

from __future__ import annotations

import pytest
from bench.lanes import main


def test_each_row_commits_messages_and_counts_batches(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--rtt-ms", "2", "--seconds", "0.3"])
    rows = capsys.readouterr().out.splitlines()[2:]
    assert len(rows) == 4  # two handlers, concurrency 1 and 8
    for row in rows:
        cells = row.split("|")
        rate, per_batch = cells[4], cells[6]
        assert float(rate.replace(",", "")) > 0, row
        assert float(per_batch) >= 1, row
