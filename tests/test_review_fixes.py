"""Regression tests for the review's findings that span layers (markup in cost rows, unknown prices, CLI)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table
from tests.conftest import HOSTILE
from tests.results.helpers import chunked, ended_batch, jsonl, succeeded

from batchboard.core.clock import ManualClock
from batchboard.core.config import Settings
from batchboard.core.results import ResultsIndex, ingest
from batchboard.core.results_service import ResultsService
from batchboard.core.store import Store

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def indexed_service(tmp_path: Path, batch_id: str, model: str) -> ResultsService:
    lines = [succeeded("a", model=model), succeeded("b", model="claude-sonnet-4-6")]
    batch = ended_batch(batch_id, lines)
    store = Store.memory()
    index = ResultsIndex(store, tmp_path / "results")
    ingest(batch_id, index, batch=batch, source=chunked(jsonl(lines), 64), settings=Settings())
    return ResultsService(index, Settings(), ManualClock(NOW))


def test_cost_breakdown_keeps_a_hostile_model_name_literal(tmp_path: Path) -> None:
    from batchboard.ui.results_actions import cost_breakdown

    batch_id = "msgbatch_" + "h" * 24
    rows = cost_breakdown(indexed_service(tmp_path, batch_id, HOSTILE), batch_id)
    grid = Table.grid(padding=(0, 2))  # as the detail screen lays the rows out
    grid.add_column()
    grid.add_column()
    for label, value in rows:
        grid.add_row(label, value)
    console = Console(width=400, record=True, color_system=None, force_terminal=False)
    console.print(grid)  # a str label would raise MarkupError here
    text = console.export_text()
    assert "[@click=app.quit]x[/] list[int]" in text
    assert "[bold]not bold" in text
    for label, _value in rows:
        assert not label.spans  # never styled (or made clickable) by the name
