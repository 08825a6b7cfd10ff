"""Pilot tests of the dashboard against the real emulator, with time compressed by a shared ManualClock."""

from __future__ import annotations

import io
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import replace

import pytest
from rich.console import Console
from tests.conftest import HOSTILE, SHOWN
from tests.ui.conftest import (
    SIZE,
    connect_to,
    first_round,
    next_round,
    notices,
    record_notices,
    wait_for_notice,
    wait_until,
)
from textual.widgets import Input, Static

from batchboard.core.clock import ManualClock
from batchboard.core.config import ConfigProblem, Settings
from batchboard.core.gateway.batches import BatchApi
from batchboard.core.gateway.client import MissingApiKeyError
from batchboard.core.gateway.errors import ApiError
from batchboard.core.models import Batch
from batchboard.core.store import Store
from batchboard.emulator import Emulator, Fault
from batchboard.ui.app import BatchboardApp, make_app
from batchboard.ui.modals.cancel import CancelConfirm
from batchboard.ui.modals.label import LabelInput
from batchboard.ui.screens.detail import DetailScreen
from batchboard.ui.screens.help import HelpScreen
from batchboard.ui.screens.no_key import NoKeyScreen
from batchboard.ui.widgets.batch_table import BatchTable
from batchboard.ui.widgets.summary import SummaryBar


def table_of(app: BatchboardApp) -> BatchTable:
    return app.dashboard.query_one(BatchTable)


def summary_text(app: BatchboardApp) -> str:
    return str(app.dashboard.query_one(SummaryBar).render())


def row_ids(table: BatchTable) -> list[str]:
    return list(table.row_keys)


def find(app: BatchboardApp, predicate: Callable[[Batch], bool]) -> Batch:
    return next(b for b in app.book.batches.values() if predicate(b))


async def select(pilot, batch_id: str) -> None:  # type: ignore[no-untyped-def]
    table = table_of(pilot.app)
    table.move_cursor(row=table.get_row_index(batch_id))
    await pilot.pause()


def detail_text(app: BatchboardApp) -> str:
    screen = app.screen
    assert isinstance(screen, DetailScreen) and screen.current is not None
    console = Console(width=160, record=True, file=io.StringIO())
    console.print(screen.render_batch(screen.current))
    return console.export_text()


async def test_first_frame_does_not_wait_for_the_connection(
    emulator: Emulator, clock: ManualClock, store: Store, settings: Settings
) -> None:
    release = threading.Event()
    real = connect_to(emulator)

    def slow_connect() -> BatchApi:
        release.wait(10)  # stands in for the two-second `import anthropic`
        return real()

    app = record_notices(
        make_app(connect=slow_connect, settings=settings, store=store, clock=clock, demo=True)
    )
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        text = summary_text(app)
        assert "DEMO" in text and "connecting…" in text
        release.set()
        await first_round(pilot)
        assert "active" in summary_text(app)


async def test_table_lists_every_batch_newest_first(app: BatchboardApp, emulator: Emulator) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        table = table_of(app)
        assert table.row_count == len(app.book.batches) == 17
        created = [app.book.batches[i].created_at for i in row_ids(table)]
        assert created == sorted(created, reverse=True)
        first = app.book.batches[row_ids(table)[0]]
        cells = [str(c) for c in table.get_row(first.id)]
        assert cells[0].startswith("…") and first.id.endswith(cells[0][1:])
        assert cells[-2:] == ["—", "—"]  # cost and savings: never a made-up number
        # An ended batch where some requests errored reads "partial", not success.
        mixed = find(app, lambda b: b.is_ended and b.counts.errored and b.counts.succeeded)
        assert str(table.get_row(mixed.id)[2]) == "partial"
        summary = summary_text(app)
        active = [b for b in app.book.batches.values() if b.is_active]
        assert f"{len(active)} active" in summary
        assert f"{sum(b.counts.processing for b in active):,} requests in flight" in summary


async def test_cursor_keys(app: BatchboardApp) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        table = table_of(app)
        await pilot.press("j", "j", "down")
        assert table.cursor_row == 3
        await pilot.press("k", "up")
        assert table.cursor_row == 1
        await pilot.press("G")
        assert table.cursor_row == table.row_count - 1
        await pilot.press("g")
        assert table.cursor_row == 0


async def test_filter_by_label_keeps_the_cursor_and_escape_clears(app: BatchboardApp) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        table = table_of(app)
        target = row_ids(table)[4]
        app.book.set_label(target, "nightly-eval")
        await select(pilot, target)
        await pilot.press("slash", *"NIGHTLY")
        assert row_ids(table) == [target]
        assert table.selected_id == target
        await pilot.press("enter")  # keep the filter, back to the table
        assert table.has_focus and row_ids(table) == [target]
        await pilot.press("escape")
        assert table.row_count == 17 and table.selected_id == target
        # By status and by id too.
        await pilot.press("slash", *"canceling", "enter")
        assert {app.book.batches[i].processing_status for i in row_ids(table)} == {"canceling"}
        await pilot.press("escape", "slash", *target[-10:].lower(), "enter")
        assert row_ids(table) == [target]


async def test_quick_filters(app: BatchboardApp) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        table = table_of(app)
        books = app.book.batches.values()
        await pilot.press("2")
        assert set(row_ids(table)) == {b.id for b in books if b.is_active}
        await pilot.press("3")
        assert set(row_ids(table)) == {b.id for b in books if b.is_ended}
        await pilot.press("4")
        assert set(row_ids(table)) == {b.id for b in books if b.counts.errored}
        assert table.row_count > 0
        await pilot.press("1")
        assert table.row_count == 17


async def test_sort_cycles_and_keeps_the_cursor_on_its_batch(app: BatchboardApp) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        table = table_of(app)
        target = row_ids(table)[7]
        await select(pilot, target)
        seen = []
        for _ in range(4):
            await pilot.press("s")
            seen.append(table.sort_mode.value)
            assert table.selected_id == target
            if table.sort_mode.value == "expiry":
                active = [i for i in row_ids(table) if app.book.batches[i].is_active]
                assert row_ids(table)[: len(active)] == active  # soonest expiry first
                expiries = [app.book.batches[i].expires_at for i in active]
                assert expiries == sorted(expiries)
            if table.sort_mode.value == "status":
                assert app.book.batches[row_ids(table)[0]].processing_status == "in_progress"
        assert seen == ["status", "expiry", "cost", "created"]


async def test_detail_screen_and_back(app: BatchboardApp) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        table = table_of(app)
        target = row_ids(table)[2]
        await select(pilot, target)
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, DetailScreen) and screen.batch_id == target
        body = detail_text(app)
        for text in (target, "Created", "Expires", "Elapsed", "ETA", "Results retention", "Lineage"):
            assert text in body
        await pilot.press("escape")
        assert app.screen is app.dashboard and table.selected_id == target


async def test_a_screen_told_of_changes_before_it_is_composed_draws_them_once_mounted(
    app: BatchboardApp, clock: ManualClock
) -> None:
    # A poll round can land between pushing a screen and its compose (a loaded machine): the screen must
    # not be asked to draw into widgets it does not have yet (that crashed the app), nor miss the change.
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        running = find(app, lambda b: b.processing_status == "in_progress")
        app.controller.open_detail(running.id)
        screen = app.screen
        assert isinstance(screen, DetailScreen) and not screen.is_mounted
        canceling = replace(running, processing_status="canceling", cancel_initiated_at=clock.now())
        app.controller.show_batches([canceling])  # the views are told through one helper, whatever changed
        await wait_until(pilot, lambda: screen.is_mounted)
        await pilot.pause()
        assert app.screen is screen
        body = Console(width=160, record=True, file=io.StringIO())
        body.print(screen.query_one("#detail-body", Static).content)
        assert "canceling" in body.export_text().lower()
        assert "canceling" in " ".join(cell.plain for cell in table_of(app).get_row(running.id)).lower()


async def test_cancel_flow_canceling_at_once_then_ended(
    app: BatchboardApp, clock: ManualClock, emulator: Emulator
) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        table = table_of(app)
        target = find(app, lambda b: b.can_cancel and b.counts.total == 8000)
        await select(pilot, target.id)
        assert app.dashboard.check_action("cancel_batch", ()) is True
        await pilot.press("c")
        assert isinstance(app.screen, CancelConfirm)
        assert "not billed" in str(app.screen.query_one("#explain").render())
        await pilot.press("n")  # changed my mind
        assert app.book.batches[target.id].processing_status == "in_progress"
        await pilot.press("c")
        assert isinstance(app.screen, CancelConfirm)
        await pilot.press("y")
        # Optimistic: the row says canceling before the API has answered anything.
        assert str(table.get_row(target.id)[2]) == "canceling"
        await wait_until(
            pilot, lambda: ("POST", f"/v1/messages/batches/{target.id}/cancel") in emulator.request_log
        )
        # (Not workers.wait_for_complete: given no workers it waits for all, the poll loop included.)
        await wait_until(pilot, lambda: not [w for w in app.workers if w.group == "cancel"])
        assert app.book.batches[target.id].processing_status == "canceling"
        assert app.dashboard.check_action("cancel_batch", ()) is False  # not twice
        clock.advance(minutes=10)
        await next_round(pilot)
        done = app.book.batches[target.id]
        assert done.is_ended and done.counts.canceled > 0
        assert str(table.get_row(target.id)[2]) == "canceled"
        await wait_for_notice(pilot, lambda n: "Batch ended" in n and "canceled" in n)


async def test_cancel_is_not_offered_for_an_ended_batch(app: BatchboardApp) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        ended = find(app, lambda b: b.is_ended)
        await select(pilot, ended.id)
        assert app.dashboard.check_action("cancel_batch", ()) is False
        await pilot.press("c")
        assert app.screen is app.dashboard


async def test_batches_ending_and_expiring_are_announced_once(
    app: BatchboardApp, clock: ManualClock, store: Store
) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        assert not [n for n in notices(app) if "Batch ended" in n]  # old ends are old news
        soon = find(app, lambda b: b.is_active and b.counts.total == 600)
        expiring = find(app, lambda b: b.is_active and b.counts.total == 2400)
        table = table_of(app)
        # Look at something else: the end is announced even when the row is not on screen.
        await pilot.press("3")
        assert soon.id not in row_ids(table)
        clock.advance(minutes=4)
        await next_round(pilot)
        await wait_for_notice(pilot, lambda n: "Batch ended" in n and soon.id in n and "succeeded" in n)
        await wait_for_notice(pilot, lambda n: "Batch ended" in n and expiring.id in n and "expired" in n)
        ended_notes = [n for n in notices(app) if "Batch ended" in n]
        expired = app.book.batches[expiring.id]
        assert expired.is_ended and expired.counts.expired > 0
        assert {soon.id, expiring.id} <= store.end_notified_ids()
        count = len(ended_notes)
        await next_round(pilot)
        assert len([n for n in notices(app) if "Batch ended" in n]) == count


async def test_expiry_countdown_turns_critical(app: BatchboardApp, clock: ManualClock) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        table = table_of(app)
        expiring = find(app, lambda b: b.is_active and b.counts.total == 2400)
        deadline = table.render_live(expiring.id, "deadline")
        assert deadline.plain.startswith("expires 2m")
        assert deadline.style == table.palette.bold_error  # under an hour: critical
        relaxed = find(app, lambda b: b.is_active and b.counts.total == 300)
        assert table.render_live(relaxed.id, "deadline").style is None
        clock.advance(hours=20, minutes=30)
        assert table.render_live(relaxed.id, "deadline").style == table.palette.warning


async def test_the_summary_is_drawn_again_only_when_it_reads_differently(
    app: BatchboardApp, clock: ManualClock
) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        bar = app.dashboard.query_one(SummaryBar)
        bar.show_summary()
        before, text = bar.visual, summary_text(app)
        bar.show_summary()  # the same second: nothing to draw (the idle dashboard's every second)
        assert bar.visual is before
        clock.advance(minutes=2)
        bar.show_summary()
        assert bar.visual is not before and summary_text(app) != text


async def test_errors_show_stale_data_and_recover_by_themselves(
    app: BatchboardApp, emulator: Emulator
) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        poller = app.controller.poller
        assert poller is not None
        emulator.faults.add(Fault(kind="overloaded", path="/v1/messages/batches", times=2))
        await next_round(pilot)
        assert "STALE" in summary_text(app) and "overloaded_error" in summary_text(app)
        assert app.dashboard.query_one(SummaryBar).has_class("-stale")
        await wait_for_notice(pilot, lambda n: "stale" in n)
        # Now let the loop retry on its own (short backoff) until it is back.
        poller.interval = 0.02
        poller.refresh_now()
        await wait_until(pilot, lambda: app.book.status is not None and app.book.status.ok)
        await pilot.pause()
        assert "STALE" not in summary_text(app)
        await wait_for_notice(pilot, lambda n: "Back in touch" in n)


async def test_labels_are_kept_in_the_store_and_shown(app: BatchboardApp, store: Store) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        table = table_of(app)
        target = row_ids(table)[1]
        await select(pilot, target)
        await pilot.press("l")
        assert isinstance(app.screen, LabelInput)
        await pilot.press(*"eval-run-7", "enter")
        assert str(table.get_row(target)[1]) == "eval-run-7"
        await store_writes_done(app)
        assert store.label(target) == "eval-run-7"
        await pilot.press("l")
        app.screen.query_one(Input).value = ""
        await pilot.press("enter")
        await store_writes_done(app)
        assert store.label(target) is None


async def store_writes_done(app: BatchboardApp) -> None:
    """Store writes run in thread workers (group "store"): wait for them, not for the poll loop."""
    writes = [w for w in app.workers if w.group == "store"]
    if writes:  # an empty list would mean "every worker", the poll loop included
        await app.workers.wait_for_complete(writes)


async def test_a_locked_store_is_reported_and_the_label_still_shows(
    app: BatchboardApp, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def locked(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(store, "set_label", locked)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        table = table_of(app)
        target = row_ids(table)[0]
        await select(pilot, target)
        await pilot.press("l")
        await pilot.press(*"kept", "enter")
        await store_writes_done(app)
        await pilot.pause()
        assert str(table.get_row(target)[1]) == "kept"
        await wait_for_notice(pilot, lambda n: n.startswith("Local store busy: "))
        assert app.is_running


async def test_hostile_text_is_never_markup(
    emulator: Emulator, clock: ManualClock, store: Store, settings: Settings
) -> None:
    real = connect_to(emulator)
    armed = threading.Event()

    class HostileApi(BatchApi):
        async def list_page(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            if armed.is_set():
                armed.clear()
                raise ApiError(HOSTILE)
            return await super().list_page(*args, **kwargs)

    def connect() -> BatchApi:
        return HostileApi(real().client)

    app = record_notices(make_app(connect=connect, settings=settings, store=store, clock=clock, demo=True))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        table = table_of(app)
        soon = find(app, lambda b: b.is_active and b.counts.total == 600)
        await select(pilot, soon.id)
        await pilot.press("l")
        app.screen.query_one(Input).value = HOSTILE
        await pilot.press("enter")
        assert str(table.get_row(soon.id)[1]) == SHOWN  # the label cell: literal, escapes visible
        # The detail screen shows it verbatim.
        await pilot.press("enter")
        assert SHOWN in detail_text(app)
        await pilot.press("escape")
        # API error text: in the stale line and a notification.
        armed.set()
        await next_round(pilot)
        assert SHOWN in summary_text(app)
        await wait_for_notice(pilot, lambda n: "stale" in n and SHOWN in n)
        # The batch with the hostile label ends: its notification carries the label.
        clock.advance(minutes=3)
        await next_round(pilot)
        await wait_for_notice(pilot, lambda n: "Batch ended" in n and SHOWN in n)
        await pilot.pause()
        assert app.is_running  # [@click=app.quit] did nothing


async def test_help_lists_every_key_and_closes(app: BatchboardApp) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = " ".join(f"{keys} {what} {binding_id}" for keys, what, binding_id in app.screen.rows)
        for words in (
            "Filter",
            "Cancel",
            "Label",
            "Refresh",
            "Sort",
            "Only active",
            "Quit",
            "Detail",
            "dashboard.cancel",
        ):
            assert words in text, words
        await pilot.press("escape")
        assert app.screen is app.dashboard


async def test_keymap_from_settings_remaps_keys(emulator: Emulator, clock: ManualClock, store: Store) -> None:
    settings = Settings(poll_interval=3600.0, keymap={"dashboard.cancel": "x", "dashboard.sort": "o"})
    app = make_app(connect=connect_to(emulator), settings=settings, store=store, clock=clock)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        running = find(app, lambda b: b.can_cancel)
        await select(pilot, running.id)
        await pilot.press("o")
        assert table_of(app).sort_mode.value == "status"
        await pilot.press("x")
        assert isinstance(app.screen, CancelConfirm)


async def test_every_action_is_in_the_command_palette(app: BatchboardApp) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        running = find(app, lambda b: b.can_cancel)
        await select(pilot, running.id)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        for title in (
            "Filter",
            "Show active",
            "Show ended",
            "Errors",
            "Sort",
            "Cancel",
            "Label",
            "Refresh",
            "Help",
            "Quit",
        ):
            assert title in titles, title


async def test_config_problems_are_shown_and_the_app_starts(
    emulator: Emulator, clock: ManualClock, store: Store, settings: Settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    problem = ConfigProblem(tmp_path / "config.toml", "poll_interval", f"expected a number, got {HOSTILE}")
    app = record_notices(
        make_app(
            connect=connect_to(emulator), settings=settings, store=store, clock=clock, problems=[problem]
        )
    )
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        await wait_for_notice(pilot, lambda n: "poll_interval" in n and HOSTILE in n)
        assert table_of(app).row_count == 17


async def test_no_key_screen_offers_the_demo(
    emulator: Emulator, clock: ManualClock, store: Store, settings: Settings
) -> None:
    def no_key() -> BatchApi:
        raise MissingApiKeyError("ANTHROPIC_API_KEY")

    app = make_app(
        connect=no_key, demo_connect=connect_to(emulator), settings=settings, store=store, clock=clock
    )
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, NoKeyScreen))
        await pilot.pause()
        text = " ".join(str(s.render()) for s in app.screen.query("Static"))
        assert "ANTHROPIC_API_KEY" in text and "demo" in text
        await pilot.press("d")
        await first_round(pilot)
        assert app.screen is app.dashboard and "DEMO" in summary_text(app)
        assert table_of(app).row_count == 17


async def test_refresh_key_polls_and_quit(app: BatchboardApp, emulator: Emulator) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        before = len(emulator.request_log)
        await next_round(pilot, "r")
        assert len(emulator.request_log) > before
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running
