"""The detail screen's cost lines say what the table says: "no price" / "$x+?" for models without a price."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from tests.results.helpers import ended_batch, index_lines, succeeded
from textual.app import App

from batchboard.core.clock import ManualClock
from batchboard.core.config import Settings
from batchboard.core.gateway.batches import BatchApi
from batchboard.core.results.index import ResultsIndex
from batchboard.core.results.service import ResultsService
from batchboard.core.store import Store
from batchboard.ui.book import NO_PRICE, BatchBook
from batchboard.ui.controller import Controller
from batchboard.ui.screens.detail import DetailScreen

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
UNPRICED = "claude-mythos-5-2"  # listed as unknown in core/prices.toml
PRICED, NONE_PRICED, MIXED, PENDING = ("msgbatch_" + c * 24 for c in "pumn")


def no_api() -> BatchApi:
    raise AssertionError("the detail screen must not connect")


class Host(App[None]):
    def __init__(self, book: BatchBook) -> None:
        super().__init__()
        self.controller = Controller(self, book=book, settings=Settings(), connect=no_api)


@pytest.fixture
def book(tmp_path: Path) -> Iterator[BatchBook]:
    batches: dict[str, list[dict[str, Any]]] = {
        PRICED: [succeeded("a", model="claude-sonnet-4-6")],
        NONE_PRICED: [succeeded("a", model=UNPRICED), succeeded("b", model=UNPRICED)],
        MIXED: [succeeded("a", model="claude-sonnet-4-6"), succeeded("b", model=UNPRICED)],
    }
    with Store.memory() as store:
        index = ResultsIndex(store, tmp_path / "results")
        for batch_id, lines in batches.items():
            index_lines(index, batch_id, lines, chunk=64)
        book = BatchBook(ManualClock(NOW), store)
        book.results = ResultsService(index, Settings(), ManualClock(NOW))
        for batch_id in batches:
            book.apply(ended_batch(batch_id, [succeeded("a")]))
        book.apply(ended_batch(PENDING, [succeeded("a")], archived=True))  # archived: no download attempt
        yield book


def cost_lines(screen: DetailScreen) -> dict[str, str]:
    batch = screen.current
    assert batch is not None
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(screen.render_batch(batch))
    lines = console.export_text().splitlines()
    found = {}
    for label in ("Cost (batch price)", "Saved vs standard"):
        line = next(line for line in lines if line.startswith(label))
        found[label] = line.removeprefix(label).strip()
    return found


@pytest.mark.parametrize(
    ("batch_id", "expected"),
    [
        (NONE_PRICED, (NO_PRICE, NO_PRICE)),
        (MIXED, ("+?", "+?")),
        (PRICED, ("$", "$")),
        (PENDING, ("—", "—")),  # not indexed: unknown
    ],
)
async def test_detail_cost_lines_match_the_table(
    book: BatchBook, batch_id: str, expected: tuple[str, str]
) -> None:
    app = Host(book)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = DetailScreen(app.controller, batch_id)
        await app.push_screen(screen)
        await pilot.pause()
        cost, saved = cost_lines(screen).values()
        assert (cost, saved) == (book.cost_text(batch_id), book.savings_text(batch_id))
        if expected[0] == "+?":
            assert cost.startswith("$") and cost.endswith("+?") and saved.endswith("+?")
        elif expected[0] == "$":
            assert cost.startswith("$") and not cost.endswith("?") and cost != "$0.00"
        else:
            assert (cost, saved) == expected
