"""The table filter (`/`): debounced on a big book, applied in place at 10,000 rows, cursor kept.

Deterministic: the debounce delay is set to an hour where a test must see keystrokes coalesce (the timer
cannot fire), and the timer's callback (`apply_filter`, also what enter does) is then called by the test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import HOSTILE
from tests.ui.conftest import SIZE, first_round, wait_until
from textual.widgets import Input

from batchboard.core.clock import ManualClock
from batchboard.core.config import Settings
from batchboard.core.gateway.batches import BatchApi
from batchboard.core.models import Batch, RequestCounts
from batchboard.core.store import Store
from batchboard.ui.app import BatchboardApp, make_app
from batchboard.ui.widgets.batch_table import BatchTable

START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def table_of(app: BatchboardApp) -> BatchTable:
    return app.dashboard.query_one(BatchTable)


def row_ids(table: BatchTable) -> list[str]:
    return list(table.row_keys)


def view_text(app: BatchboardApp) -> str:
    return str(app.dashboard.query_one("#view").render())


def count_refilters(table: BatchTable) -> list[int]:
    """Count the table's refills (a spy: the real method still runs)."""
    calls = [0]
    refilter = table.refilter

    def counted() -> None:
        calls[0] += 1
        refilter()

    table.refilter = counted  # type: ignore[method-assign]
    return calls


async def test_a_big_book_refilters_once_when_typing_stops(app: BatchboardApp) -> None:
    app.dashboard.filter_debounce_rows = 0  # the demo's 17 batches count as a big book
    app.dashboard.filter_delay = 3600  # the timer cannot fire during the test
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        table = table_of(app)
        target = row_ids(table)[4]
        app.book.set_label(target, "nightly-eval")
        table.move_cursor(row=4)
        await pilot.pause()
        refilters = count_refilters(table)

        await pilot.press("slash", *"NIGHT")
        assert app.dashboard.filter_pending
        assert refilters[0] == 0 and table.row_count == 17  # nothing applied while typing
        await pilot.press(*"LY")
        assert refilters[0] == 0 and "matching" not in view_text(app)

        app.dashboard.apply_filter()  # what the timer does once typing stops
        await pilot.pause()
        assert refilters[0] == 1 and not app.dashboard.filter_pending
        assert row_ids(table) == [target] and table.selected_id == target
        assert "matching “NIGHTLY”" in view_text(app)

        await pilot.press("backspace", "backspace")
        assert row_ids(table) == [target] and app.dashboard.filter_pending
        await pilot.press("escape")  # clears at once, and nothing pending fires later
        assert not app.dashboard.filter_pending and table.row_count == 17
        assert table.selected_id == target and refilters[0] == 2


async def test_enter_applies_a_pending_filter_at_once(app: BatchboardApp) -> None:
    app.dashboard.filter_debounce_rows = 0
    app.dashboard.filter_delay = 3600
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        table = table_of(app)
        await pilot.press("slash", *"canceling")
        assert table.row_count == 17
        await pilot.press("enter")
        assert not app.dashboard.filter_pending and table.has_focus
        assert table.row_count and {app.book.batches[i].processing_status for i in row_ids(table)} == {
            "canceling"
        }


async def test_the_timer_applies_the_filter_after_the_delay(app: BatchboardApp) -> None:
    app.dashboard.filter_debounce_rows = 0
    app.dashboard.filter_delay = 0.01
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        table = table_of(app)
        target = row_ids(table)[7]
        await pilot.press("slash", *target[-10:].lower())
        await wait_until(pilot, lambda: not app.dashboard.filter_pending)
        await pilot.pause()
        assert row_ids(table) == [target]


async def test_a_small_book_follows_every_keystroke(app: BatchboardApp) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        table = table_of(app)
        await pilot.press("slash", "c")
        assert not app.dashboard.filter_pending
        with_c = row_ids(table)
        await pilot.press(*"ancel")
        assert set(row_ids(table)) < set(with_c)


async def test_hostile_filter_text_is_shown_literally(app: BatchboardApp) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        await pilot.press("slash")
        app.dashboard.query_one("#filter", Input).value = HOSTILE
        await pilot.pause()
        assert table_of(app).row_count == 0
        assert "[@click=app.quit]x[/] list[int]" in view_text(app)
        assert app.is_running


# ------------------------------------------------------------------------------- 10,000 batches


def many(n: int) -> list[Batch]:
    """Newest first, a minute apart; every tenth one is active."""
    batches = []
    for i in range(n):
        created = START - timedelta(minutes=i)
        active = i % 10 == 0
        batches.append(
            Batch(
                id=f"msgbatch_{i:024d}",
                processing_status="in_progress" if active else "ended",
                counts=RequestCounts(processing=10) if active else RequestCounts(succeeded=10),
                created_at=created,
                expires_at=created + timedelta(hours=24),
                ended_at=None if active else created + timedelta(minutes=5),
            )
        )
    return batches


def never_connect() -> BatchApi:
    raise RuntimeError("this test feeds the table directly")


async def test_filtering_10000_rows_in_place_keeps_the_cursor_and_order() -> None:
    app = make_app(
        connect=never_connect,
        settings=Settings(poll_interval=3600),
        store=Store.memory(),
        clock=ManualClock(START),
    )
    app.dashboard.filter_delay = 3600
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        data = many(10_000)
        app.controller.show_batches(data)
        await pilot.pause()
        table = table_of(app)
        everything = row_ids(table)
        assert everything == [b.id for b in data]
        deep = data[5_550].id
        table.move_cursor(row=5_550)
        await pilot.pause()
        listed = table.row_keys  # the book's kept order, shown as it is

        # "55" keeps the selected batch: the cursor stays on it, in view, rows in the same order.
        await pilot.press("slash", "5", "5")
        assert table.row_count == 10_000 and app.dashboard.filter_pending
        app.dashboard.apply_filter()
        await pilot.pause()
        shown = row_ids(table)
        assert shown == [i for i in everything if "55" in i] and deep in shown
        assert table.selected_id == deep
        assert table.scroll_y <= table.cursor_row < table.scroll_y + table.size.height

        # A filter without it: the cursor goes to the top.
        await pilot.press("5", "5")
        app.dashboard.apply_filter()
        await pilot.pause()
        assert row_ids(table) == [i for i in everything if "5555" in i] and deep not in row_ids(table)
        assert table.cursor_row == 0 and table.scroll_y == 0

        # Cleared: every row back, in order, from the same kept order (nothing sorted again).
        await pilot.press("escape")
        assert row_ids(table) == everything
        assert table.row_keys is listed
        assert table.selected_id == data[5_555].id  # the cursor stayed on its batch, in view
        assert table.scroll_y <= table.cursor_row == 5_555 < table.scroll_y + table.size.height

        # The quick filter and the text filter combine.
        await pilot.press("2")
        active = row_ids(table)
        assert active == [b.id for b in data if b.is_active]
