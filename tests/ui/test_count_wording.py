"""Counts the TUI shows read in the singular for one: a problems row's output tokens, the inspector's copy
notice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.results.helpers import chunked, ended_batch, jsonl, succeeded
from textual.app import App
from textual.widgets import TabbedContent

from batchboard.core.results.index import GroupKey, ResultsIndex
from batchboard.core.results.ingest import ingest
from batchboard.core.store import Store
from batchboard.ui.screens.inspector import InspectorScreen
from batchboard.ui.screens.problems import item_cells

BATCH = "msgbatch_counts"
TEXTS = ("A", "AB")


@pytest.fixture
def index(tmp_path: Path) -> Iterator[ResultsIndex]:
    lines = [succeeded(f"r{i}", text=text, output_tokens=len(text)) for i, text in enumerate(TEXTS)]
    store = Store.open(tmp_path / "db.sqlite3")
    index = ResultsIndex(store, tmp_path / "results")
    ingest(BATCH, index, batch=ended_batch(BATCH, lines), source=chunked(jsonl(lines), 1 << 16))
    yield index
    store.close()


def test_a_problems_row_counts_output_tokens(index: ResultsIndex) -> None:
    one, two = index.items(BATCH, GroupKey("succeeded"))
    assert str(item_cells(one)[1]) == "claude-sonnet-4-6  ·  1 output token"
    assert str(item_cells(two)[1]) == "claude-sonnet-4-6  ·  2 output tokens"


class Host(App[None]):
    def __init__(self, screen: InspectorScreen) -> None:
        super().__init__()
        self.screen_under_test = screen

    def on_mount(self) -> None:
        self.push_screen(self.screen_under_test)


@pytest.mark.parametrize(("position", "said"), [(0, "1 character"), (1, "2 characters")])
async def test_the_inspector_says_how_many_characters_it_copied(
    index: ResultsIndex, position: int, said: str
) -> None:
    item = index.items(BATCH, GroupKey("succeeded"))[position]
    app = Host(InspectorScreen(index, item))
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await pilot.pause()
        await pilot.press("t", "t")  # result, request, then the output tab
        tabs = app.screen.query_one("#inspector-tabs", TabbedContent)
        assert tabs.active == "inspector-output-tab"
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == TEXTS[position]
        assert [n.message for n in app._notifications] == [f"Copied the output ({said})."]
