"""At 80x24 (and as the width changes) the essentials stay on screen: the header's connection state
(STALE and why), each row's status, countdown and cost, a triage item's message. Text that has to be cut
ends in `…`, and a number is dropped whole, never cut."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from tests.results.helpers import chunked, ended_batch, errored, jsonl, succeeded
from textual.app import App
from textual.content import Content

from batchboard.core.results.index import ResultsIndex
from batchboard.core.results.ingest import ingest
from batchboard.core.store import Store
from batchboard.emulator import Emulator
from batchboard.emulator.faults import Fault
from batchboard.ui.app import BatchboardApp
from batchboard.ui.screens.detail import DetailScreen
from batchboard.ui.screens.inspector import InspectorScreen
from batchboard.ui.screens.problems import ItemsTable, ProblemsScreen
from batchboard.ui.widgets.key_footer import KeyFooter
from batchboard.ui.widgets.summary import Part, SummaryBar, fit_parts
from batchboard.ui.widgets.view_bar import ViewBar, ViewState
from conftest import HOSTILE, SHOWN

from .conftest import first_round, next_round, table_of, wait_until

NUMBER = re.compile(r"\$?\d[\d,.]*")


def header_lines(app: BatchboardApp) -> list[str]:
    bar = app.dashboard.query_one(SummaryBar)
    return str(bar.render()).split("\n")


def test_parts_give_way_by_priority_and_numbers_go_whole() -> None:
    def parts() -> dict[str, Part]:
        return {
            "state": Part([Content("updated 3s ago"), Content("3s ago")]),
            "active": Part([Content("6 active")]),
            "flight": Part([Content("17,500 requests in flight"), Content("17,500 in flight"), None]),
            "ended": Part([Content("1 ended today"), None]),
            "spend": Part(
                [Content("spend this month $5.98 · saved $2.99"), Content("$5.98 this month"), None]
            ),
        }

    wide = fit_parts(parts(), 200).plain
    assert wide == (
        "updated 3s ago · 6 active · 17,500 requests in flight · 1 ended today"
        " · spend this month $5.98 · saved $2.99"
    )
    seen = set()
    for width in range(20, 120):
        line = fit_parts(parts(), width).plain
        seen.add(line)
        assert len(line) <= width or line == "3s ago · 6 active", (width, line)
        assert "ago" in line and "6 active" in line  # the state and the active count never go
        for number in NUMBER.findall(line):
            assert number in {"3", "6", "17,500", "1", "$5.98", "$2.99"}, line
    assert "3s ago · 6 active" in seen and len(seen) >= 6  # it shortens step by step


@pytest.mark.parametrize("width", [80, 100, 120])
async def test_header_and_rows_keep_their_essentials(app: BatchboardApp, width: int) -> None:
    async with app.run_test(size=(width, 24), notifications=True) as pilot:
        await first_round(pilot)
        lines = header_lines(app)
        assert len(lines) == 1 and len(lines[0]) <= width - 2
        assert "DEMO" in lines[0] and "updated" in lines[0] and " active" in lines[0]
        table = table_of(app)
        shown = table.column_layout.shown
        for column in ("id", "status", "bar", "deadline", "cost"):
            assert column in shown, (width, shown)
        for key in table.row_keys[:5]:
            row = table.render_line(1 + table.row_keys.index(key)).text
            batch = app.book.batches[key]
            assert batch.outcome.value in row
            assert ("expires" in row) == batch.is_active


async def test_stale_and_why_are_on_screen_at_80x24(app: BatchboardApp, emulator: Emulator) -> None:
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await first_round(pilot)
        emulator.faults.add(Fault(kind="overloaded", path="/v1/messages/batches", times=1_000))
        await next_round(pilot)
        bar = app.dashboard.query_one(SummaryBar)
        lines = header_lines(app)
        assert bar.has_class("-stale") and bar.outer_size.height == len(lines) == 2
        assert lines[0].lstrip().startswith("DEMO") and "STALE" in lines[0] and "active" in lines[0]
        assert "overloaded_error" in lines[1]  # why, on its own line
        assert all(len(line) <= 78 for line in lines)
        await pilot.resize_terminal(200, 24)  # room for everything: one line again
        await pilot.pause()
        lines = header_lines(app)
        assert len(lines) == 1 and "STALE since" in lines[0] and "overloaded_error" in lines[0]
        emulator.faults.clear()


@pytest.fixture
def index(tmp_path: Path) -> Any:
    long = "max_tokens: 900000 > 64000, which is the maximum allowed number of output tokens for this model"
    lines: list[dict[str, Any]] = [succeeded(f"ok-{i:04d}") for i in range(20)]
    lines += [errored(f"invoice-{i:05d}", "invalid_request_error", long) for i in range(10)]
    lines += [errored(HOSTILE, "invalid_request_error", HOSTILE)]
    store = Store.open(tmp_path / "db.sqlite3")
    index = ResultsIndex(store, tmp_path / "results")
    ingest(
        "msgbatch_narrow",
        index,
        batch=ended_batch("msgbatch_narrow", lines),
        source=chunked(jsonl(lines), 4096),
    )
    yield index
    store.close()


class Host(App[None]):
    def __init__(self, index: ResultsIndex) -> None:
        super().__init__()
        self.index = index

    def on_mount(self) -> None:
        self.push_screen(ProblemsScreen(self.index, "msgbatch_narrow"))


async def test_triage_at_80_columns_shows_custom_id_and_message(index: ResultsIndex) -> None:
    app = Host(index)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ProblemsScreen) and screen.has_class("-narrow")
        table = screen.query_one(ItemsTable)
        assert table.column_layout.shown == ["custom_id", "detail"]  # the group's title says the kind
        assert table.region.width == 80  # the group list is above, not beside
        rows = [table.render_line(y).text for y in range(1, 13)]
        row = next(r for r in rows if "invoice-00000" in r)
        assert "invoice-00000" in row and "max_tokens: 900000 >" in row and row.rstrip().endswith("…")
        assert set(re.findall(r"\d+", row)) <= {"00000", "900000", "64000"}  # never a cut number
        assert any(r.lstrip().startswith(SHOWN[:20]) for r in rows)  # the hostile custom_id, as text
        await pilot.resize_terminal(140, 30)
        await pilot.pause()
        assert not screen.has_class("-narrow") and table.region.width < 100


def footer_line(app: App[Any]) -> tuple[str, list[str]]:
    footer = app.screen.query_one(KeyFooter)
    return footer.render().plain, [entry.action for entry in footer.shown]


async def test_at_80x24_an_unreachable_api_leaves_every_essential_on_screen(
    app: BatchboardApp, emulator: Emulator
) -> None:
    """The API cannot be reached (every connection dropped): STALE and why in the header; each row's
    status, countdown and cost; `?` and `q` in the footer."""
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await first_round(pilot)
        emulator.faults.add(Fault(kind="drop_before", path="/v1/messages/batches", times=1_000))
        await next_round(pilot)
        lines = header_lines(app)
        assert "STALE" in lines[0] and any("connect" in line.lower() for line in lines), lines
        assert all(len(line) <= 78 for line in lines)
        table = table_of(app)
        assert table.region.right <= 80
        for y, key in enumerate(table.row_keys[: table.body_height], start=1):
            row = table.render_line(y).text.rstrip()
            batch = app.book.batches[key]
            assert batch.outcome.value in row, row
            assert re.search(r"(expires|archive) \d+[dhms]|archived", row), row
            assert row.endswith(app.book.cost_text(key)), row  # the cost column is the last one
        line, actions = footer_line(app)
        assert len(line) <= 78 and actions[-3:] == ["help", "quit", "command_palette"], line
        assert "? Help" in line and "q Quit" in line
        emulator.faults.clear()


async def test_at_80x24_each_screen_keeps_help_and_quit_in_its_footer(app: BatchboardApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await first_round(pilot)
        partial = next(b.id for b in app.book.batches.values() if b.outcome.value == "partial")
        table = table_of(app)
        table.move_cursor(key=partial)
        await pilot.pause()
        line, actions = footer_line(app)
        assert {"problems", "retry", "help", "quit"} <= set(actions), line  # what to do about this one
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen))
        await pilot.pause()
        line, actions = footer_line(app)
        assert actions[0] == "app.pop_screen" and {"problems", "help", "quit"} <= set(actions), line
        assert len(line) <= 78
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ProblemsScreen) and bool(app.screen.groups))
        await pilot.pause()
        line, actions = footer_line(app)
        assert {"back", "inspect", "app.retry_batch", "help", "quit"} <= set(actions), line
        assert len(line) <= 78
        await pilot.press("i")
        await wait_until(pilot, lambda: isinstance(app.screen, InspectorScreen))
        await pilot.pause()
        line, actions = footer_line(app)
        assert actions[0] == "app.pop_screen" and {"copy", "help", "quit"} <= set(actions), line


async def test_resizing_keeps_the_cursor_and_the_scroll_on_the_same_batch(app: BatchboardApp) -> None:
    async with app.run_test(size=(80, 16)) as pilot:
        await first_round(pilot)
        table = table_of(app)
        assert table.row_count > table.body_height  # some rows are below the fold
        table.scroll_to(y=3, animate=False)  # scrolled down a little, the cursor in the middle of the view
        table.move_cursor(row=5, scroll=False)
        await pilot.pause()
        cursor = table.cursor_key
        top = table.row_keys[3]
        assert table.rows_in_view()[0] == 3
        for width in (120, 100, 200, 80):  # the columns change; the rows stay where they were
            await pilot.resize_terminal(width, 16)
            await pilot.pause()
            assert table.column_layout.view_width == table.view_width
            assert table.cursor_key == cursor and table.row_keys[table.rows_in_view()[0]] == top, width
        await pilot.resize_terminal(80, 12)  # fewer rows: the cursor's row is kept in view
        await pilot.pause()
        first, stop = table.rows_in_view()
        assert table.cursor_key == cursor and first <= table.cursor_row < stop
        await pilot.resize_terminal(100, 30)  # room for every row
        await pilot.pause()
        assert table.cursor_key == cursor and table.rows_in_view()[0] == 0


def test_the_view_bar_gives_way_by_priority_and_keeps_the_counts() -> None:
    state = ViewState(
        sort="created",
        quick="active",
        filter_text="nightly summaries " + HOSTILE,
        shown=3,
        total=17,
        activity="fetching results 4 of 7",
    )
    wide = ViewBar.line(state, 300).plain
    assert wide == (
        f"sort: created · showing: active · matching “nightly summaries {SHOWN}” · 3 of 17 batches"
        " · fetching results 4 of 7"
    )
    lines = [ViewBar.line(state, width).plain for width in range(34, 140)]
    for width, line in zip(range(34, 140), lines, strict=True):
        assert len(line) <= width, (width, line)
        assert "active" in line and "3 of 17" in line  # rows are hidden: it says so at any width
        assert "“nightly" in line
        outside = re.sub("“.*”", "", line)  # the typed filter aside
        assert set(NUMBER.findall(outside)) <= {"3", "17", "4", "7"}, line  # never a cut number
    assert "fetching" not in lines[0] and "…”" in lines[0]
    everything = ViewBar.line(dataclasses.replace(state, quick="all", filter_text="", activity=None), 12)
    assert everything.plain == "3 of 17"  # "all" and the sort drop last
