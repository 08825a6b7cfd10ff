"""SVG snapshots of the table and the detail screen: seeded demo world, ManualClock, fixed size.

Update with `pytest tests/ui/test_snapshots.py --snapshot-update` and look at the report before
committing (Textual is pinned, so the rendering only changes when the app does).
"""

from __future__ import annotations

from typing import Any

from tests.ui.conftest import SIZE, first_round
from textual.pilot import Pilot

from batchboard.ui.app import BatchboardApp
from batchboard.ui.widgets.batch_table import BatchTable


async def settle(pilot: Pilot[None]) -> None:
    await first_round(pilot)
    await pilot.pause()


def test_table_snapshot(app: BatchboardApp, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("j", "j", "j")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_table_filtered_and_sorted_snapshot(app: BatchboardApp, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("2", "s", "s")  # active only, by expiry

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_detail_snapshot(app: BatchboardApp, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        table = app.dashboard.query_one(BatchTable)
        running = next(b.id for b in app.book.batches.values() if b.is_active and b.counts.total == 8000)
        app.book.set_label(running, "nightly summaries")
        table.move_cursor(row=table.get_row_index(running))
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
