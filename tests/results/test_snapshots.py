"""SVG snapshots of the problems screen and the inspector (fixed results, fixed size).

Update with `pytest tests/results/test_snapshots.py --snapshot-update` and look at the report first.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.results.helpers import ScreenHost, errored, index_lines, other, succeeded
from textual.pilot import Pilot

from batchboard.core.results.index import ResultsIndex
from batchboard.ui.screens.problems import ProblemsScreen

BATCH = "msgbatch_snapshot0000000000000"
SIZE = (120, 32)
SIZES = [pytest.param(size, id=f"{size[0]}x{size[1]}") for size in [(80, 24), (100, 30), (120, 40)]]


@pytest.fixture
def index(index: ResultsIndex) -> ResultsIndex:
    """The empty index, with BATCH's results: 40 succeeded, errors of two types (long messages among them)
    and one expired."""
    lines: list[dict[str, Any]] = [succeeded(f"doc-{i:04d}", text=f"Summary {i}.") for i in range(40)]
    lines += [errored(f"doc-{i:04d}") for i in range(40, 52)]
    lines += [
        errored(f"doc-{i:04d}", "invalid_request_error", "max_tokens: must be <= 128000") for i in (52, 53)
    ]
    lines += [other("doc-0054", "expired")]
    long = "max_tokens: 900000 > 64000, which is the maximum allowed number of output tokens for this model"
    lines += [errored(f"doc-{i:04d}", "invalid_request_error", long) for i in (55, 56)]
    index_lines(index, BATCH, lines, chunk=1 << 16)
    return index


@pytest.mark.parametrize("size", SIZES)
def test_problems_snapshot(index: ResultsIndex, snap_compare: Any, size: tuple[int, int]) -> None:
    """The triage at the sizes most terminals have: stacked under 100 columns, messages cut with `…`."""
    app = ScreenHost(lambda: ProblemsScreen(index, BATCH))

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.press("right_square_bracket", "j")  # the invalid requests, with their long messages

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_inspector_snapshot(index: ResultsIndex, snap_compare: Any) -> None:
    app = ScreenHost(lambda: ProblemsScreen(index, BATCH))

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.press("right_square_bracket", "enter")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
