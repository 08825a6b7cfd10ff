"""SVG snapshots of the dashboard, the detail screen and the submit screen: seeded demo world, ManualClock,
fixed sizes (80x24, 100x30 and 120x40 as most terminals are, 160x45 wide).

Update with `pytest tests/ui/test_snapshots.py --snapshot-update` and look at the report before
committing (Textual is pinned, so the rendering only changes when the app does).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.ui.conftest import SIZE, first_round, wait_until
from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.widgets import Input, Static

from batchboard.ui.app import BatchboardApp
from batchboard.ui.screens.submit import SubmitScreen
from batchboard.ui.widgets.batch_table import BatchTable

ROOT = Path(__file__).resolve().parents[2]
SIZES = [pytest.param(size, id=f"{size[0]}x{size[1]}") for size in [(80, 24), (100, 30), (120, 40), SIZE]]
NARROW_SIZES = SIZES[:3]
LONG_LABEL = "nightly summaries of the support queue, second run with the longer system prompt"


async def settle(pilot: Pilot[None]) -> None:
    await first_round(pilot)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_table_snapshot(app: BatchboardApp, snap_compare: Any, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("j", "j", "j")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_table_filtered_and_sorted_snapshot(app: BatchboardApp, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("2", "s", "s")  # active only, by expiry

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_detail_snapshot(app: BatchboardApp, snap_compare: Any, size: tuple[int, int]) -> None:
    """A running batch (an ended one's results URL would show the emulator's port), its long label
    wrapped in full."""

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        table = app.dashboard.query_one(BatchTable)
        running = next(b.id for b in app.book.batches.values() if b.is_active and b.counts.total == 8000)
        app.book.set_label(running, LONG_LABEL if size != SIZE else "nightly summaries")
        table.move_cursor(row=table.get_row_index(running))
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", NARROW_SIZES)
def test_submit_snapshot(
    app: BatchboardApp, snap_compare: Any, size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example file checked and estimated: the estimate in view with the report."""
    monkeypatch.chdir(ROOT)  # a relative path, the same on every machine
    # The estimate's error shows a request id, which the emulator numbers in arrival order: counted one at a
    # time, the requests arrive in file order and the id is the same on every run (with 8 in flight it
    # was not, and the snapshot failed now and then under load).
    monkeypatch.setattr(SubmitScreen, "COUNT_CONCURRENCY", 1)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, SubmitScreen))
        screen = app.screen
        assert isinstance(screen, SubmitScreen)
        path = screen.query_one("#path", Input)
        path.value = "examples/support-tickets.jsonl"
        path.cursor_blink = False
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.ready)
        report = screen.query_one("#report", VerticalScroll)
        summary = next(line for line in report.query(Static) if "requests OK" in str(line.render()))

        def scrolled() -> bool:  # the file's summary at the top, or as far as the report scrolls
            return round(report.scroll_y) == min(summary.virtual_region.y, report.max_scroll_y)

        await wait_until(pilot, scrolled)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
