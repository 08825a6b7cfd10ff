"""Unusable answers outside triage: the Outcome bar marks them (in the table at 80 columns and on the detail
screen) and the detail screen's Succeeded line counts them by class; counts come from the index, read once for
every batch, and a later ingest or recheck shows up on the next tick."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from tests.results.helpers import (
    answer,
    ended_batch,
    errored,
    index_lines,
    params,
    schema_params,
    succeeded,
)
from textual.app import App, ComposeResult

from batchboard.core.clock import ManualClock
from batchboard.core.config import Settings
from batchboard.core.gateway.batches import BatchApi
from batchboard.core.results.index import ResultsIndex
from batchboard.core.results.service import ResultsService
from batchboard.core.store import Store
from batchboard.ui.book import BatchBook
from batchboard.ui.cells import UNUSABLE_GLYPH, bar_text
from batchboard.ui.controller import Controller
from batchboard.ui.palette import Palette
from batchboard.ui.screens.detail import DetailScreen
from batchboard.ui.widgets.batch_table import BatchTable

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
MARKED, PLAIN, LATER = ("msgbatch_" + c * 24 for c in "mpl")
#: 40 usable answers, 12 truncated, 3 invalid, 1 refused and 4 errors: a sixteenth of the bar is unusable.
MARKED_LINES: list[dict[str, Any]] = (
    [succeeded(f"ok-{i:02}") for i in range(40)]
    + [answer(f"cut-{i:02}", "stops in the mi", "max_tokens") for i in range(11)]
    + [answer("window-0", "long", "model_context_window_exceeded")]
    + [answer(f"json-{i}", '{"customer": "Ada"}') for i in range(3)]  # "items" missing: invalid
    + [answer("no-0", "", "refusal")]
    + [errored(f"err-{i}") for i in range(4)]
)
PLAIN_LINES = [succeeded(f"ok-{i:02}") for i in range(60)]


def no_api() -> BatchApi:
    raise AssertionError("these tests never connect")


class Host(App[None]):
    def __init__(self, book: BatchBook) -> None:
        super().__init__()
        self.book = book
        self.settings = Settings()
        self.controller = Controller(self, book=book, settings=self.settings, connect=no_api)

    def compose(self) -> ComposeResult:
        yield BatchTable(self.book)


@pytest.fixture
def book(tmp_path: Path) -> Iterator[BatchBook]:
    with Store.memory() as store:
        index = ResultsIndex(store, tmp_path / "results")
        # The requests as if sent from batchboard: the json-* ones asked for a JSON schema.
        requests = {
            line["custom_id"]: schema_params() if "json" in line["custom_id"] else params()
            for line in MARKED_LINES
        }
        index_lines(index, MARKED, MARKED_LINES, requests=requests)
        index_lines(index, PLAIN, PLAIN_LINES)
        book = BatchBook(ManualClock(NOW), store)
        book.results = ResultsService(index, Settings(), ManualClock(NOW))
        for batch_id, lines in ((MARKED, MARKED_LINES), (PLAIN, PLAIN_LINES), (LATER, MARKED_LINES)):
            book.apply(ended_batch(batch_id, lines))
        yield book


def drawn(table: BatchTable, batch_id: str) -> str:
    first, last = table.rows_in_view()
    row = table.row_keys.index(batch_id)
    assert first <= row < last
    return table.render_line(row - first + 1).text


async def test_the_outcome_bar_marks_unusable_answers_at_80_columns(book: BatchBook) -> None:
    app = Host(book)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(BatchTable)
        await pilot.pause()
        assert " Outcome " in table.render_line(0).text
        marked = table.get_cell(MARKED, "bar")
        assert marked.plain.count(UNUSABLE_GLYPH) == 3  # 16 of 60 in 12 cells
        assert marked.plain.index(UNUSABLE_GLYPH) > marked.plain.index("█")  # beside the usable ones
        styles = [s.style for s in marked.spans]  # usable, unusable, errored
        assert styles == [table.palette.success, table.palette.warning, table.palette.error]
        assert marked.plain in drawn(table, MARKED)
        plain = table.get_cell(PLAIN, "bar").plain
        assert plain == "█" * 12 and plain in drawn(table, PLAIN)
        assert UNUSABLE_GLYPH not in table.get_cell(LATER, "bar").plain  # not indexed yet: no mark

        # Indexed later (a background ingest, in a thread): the row shows the mark on the next tick.
        version = book.results_version
        index_lines(book.results.index, LATER, MARKED_LINES, chunk=999)
        book.results.changed()
        assert book.results_version > version
        table.tick()
        await pilot.pause()
        assert UNUSABLE_GLYPH in drawn(table, LATER)
        assert book.unusable(LATER) == {"truncated": 12, "refused": 1}  # no requests stored: not checked


def test_one_unusable_answer_in_ten_thousand_still_shows() -> None:
    batch = ended_batch(PLAIN, [succeeded("a")] * 9_990 + [errored("e")] * 10)
    palette = Palette.from_variables({})
    assert bar_text(batch, 12, palette).plain == "█" * 11 + "█"
    bar = bar_text(batch, 12, palette, unusable=1).plain
    assert bar.count(UNUSABLE_GLYPH) == 1 and len(bar) == 12 and bar.endswith(UNUSABLE_GLYPH + "█")
    assert bar_text(batch, 12, palette, unusable=20_000).plain.count("█") == 1  # never more than succeeded


def test_one_query_serves_every_batch(book: BatchBook, monkeypatch: pytest.MonkeyPatch) -> None:
    index = book.results.index
    calls: list[None] = []
    read_all = index.all_unusable_counts
    monkeypatch.setattr(index, "all_unusable_counts", lambda: calls.append(None) or read_all())
    monkeypatch.setattr(index, "unusable_counts", lambda _b: pytest.fail("no per-batch query"))
    for _ in range(3):
        assert book.unusable(MARKED) == {"truncated": 12, "invalid_output": 3, "refused": 1}
        assert book.unusable(PLAIN) == {} and book.unusable(LATER) == {}
    assert len(calls) == 1
    book.results.changed()
    book.unusable(PLAIN)
    assert len(calls) == 2


def detail_lines(screen: DetailScreen, width: int = 160) -> list[str]:
    batch = screen.current
    assert batch is not None
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(screen.render_batch(batch))
    return console.export_text().splitlines()


async def test_the_detail_screen_counts_them_by_class(book: BatchBook) -> None:
    app = Host(book)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = DetailScreen(app.controller, MARKED)
        await app.push_screen(screen)
        await pilot.pause()
        lines = detail_lines(screen)
        succeeded_line = next(line for line in lines if line.startswith("Succeeded"))
        assert succeeded_line.split(None, 1)[1].rstrip() == (
            f"56 ({UNUSABLE_GLYPH} 12 truncated, 3 invalid, 1 refused)"
        )
        assert any(UNUSABLE_GLYPH in line and "█" in line for line in lines)  # the bar, marked
        await pilot.resize_terminal(80, 24)  # the bar narrows to fit, so its mark is not cut off
        await pilot.pause()
        body = screen.query_one("#detail-body")
        lines = detail_lines(screen, body.content_size.width)
        bar = next(line for line in lines if "█" in line).strip()
        assert bar.endswith(UNUSABLE_GLYPH + "███") and "…" not in bar
        await app.pop_screen()

        screen = DetailScreen(app.controller, PLAIN)
        await app.push_screen(screen)
        await pilot.pause()
        lines = detail_lines(screen)
        assert next(line for line in lines if line.startswith("Succeeded")).split()[1:] == ["60"]
        assert not any(UNUSABLE_GLYPH in line for line in lines)
