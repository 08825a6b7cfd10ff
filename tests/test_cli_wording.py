"""Counts in the CLI's own lines read in the singular for one ("1 request", not "1 requests" or
"request(s)"): wait's progress line, the results bar without a total, cost's unusable rows."""

from __future__ import annotations

import sys

import pytest
from tests.conftest import Terminal
from tests.results.helpers import ended_batch, succeeded

from batchboard.commands._results_common import ProgressBar
from batchboard.commands.cost import _print_unusable
from batchboard.commands.wait import _Progress
from batchboard.core.cost import Spend
from batchboard.core.results.ingest import IngestProgress


@pytest.mark.parametrize(("count", "said"), [(1, "1 of 1 request done"), (2, "2 of 2 requests done")])
def test_the_wait_progress_line_counts_requests(
    monkeypatch: pytest.MonkeyPatch, count: int, said: str
) -> None:
    stderr = Terminal()
    monkeypatch.setattr(sys, "stderr", stderr)
    progress = _Progress()
    progress.show([ended_batch("msgbatch_a", [succeeded(f"r{i}") for i in range(count)])], None)
    assert stderr.getvalue() == f"\r\x1b[Kwaiting: 1 of 1 ended, {said}"


@pytest.mark.parametrize(("items", "said"), [(1, "1 result"), (1_200, "1,200 results")])
def test_the_results_bar_without_a_total_counts_results(items: int, said: str) -> None:
    stream = Terminal()
    ProgressBar("downloading", stream)(IngestProgress(2_000_000, items, None, 1))
    assert stream.getvalue() == f"\rdownloading {said} 2.0 MB\x1b[K"


def test_the_unusable_rows_of_cost_count_requests(capsys: pytest.CaptureFixture[str]) -> None:
    _print_unusable({"refused": Spend(cost=0.5, requests=1), "truncated": Spend(cost=1.25, requests=1_500)})
    rows = capsys.readouterr().out.splitlines()[2:]
    assert rows == [
        "    refused           1 request   $0.50 at batch price",
        "    truncated     1,500 requests  $1.25 at batch price",
    ]


def test_submit_help_has_no_parenthesised_plural(capsys: pytest.CaptureFixture[str]) -> None:
    from batchboard.cli import main

    with pytest.raises(SystemExit):
        main(["submit", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "a label for the batches it creates, shown in the dashboard" in help_text
    assert "(es)" not in help_text and "(s)" not in help_text
