"""The saved view: the first frame shows the last session's table from the store (this profile and base
URL only) before the API answers, with the costs and unusable marks of indexed results, says so in the
header, makes keys that need the API wait, restores the cursor; then the first rounds update rows in place,
add new batches and remove deleted ones with a note."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.results.helpers import answer, chunked, jsonl, succeeded
from tests.ui.conftest import SIZE, connect_to, first_round, next_round, table_of, wait_until

from batchboard.core.clock import ManualClock
from batchboard.core.config import Settings
from batchboard.core.gateway.batches import BatchApi
from batchboard.core.results.index import ResultsIndex
from batchboard.core.results.ingest import ingest
from batchboard.core.results.service import ResultsService
from batchboard.core.store import Account, SavedView, Store
from batchboard.emulator import Emulator, EmulatorSettings
from batchboard.ui.app import BatchboardApp, make_app
from batchboard.ui.cells import UNUSABLE_GLYPH
from batchboard.ui.widgets.batch_table import BatchTable
from batchboard.ui.widgets.summary import SummaryBar

EMULATOR_SETTINGS = EmulatorSettings(seed=0, demo=False, batch_duration=600.0)
ACCOUNT = Account.of("default", "http://127.0.0.1:1")


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "batchboard.sqlite"


@pytest.fixture
def world(emulator: Emulator, clock: ManualClock) -> Iterator[dict[str, list[str]]]:
    old = clock.now().replace(hour=0)
    ended = [emulator.add_batch(count=20, created_at=old, duration=60) for _ in range(6)]
    active = [emulator.add_batch(count=20, created_at=clock.now(), duration=600) for _ in range(3)]
    yield {"ended": ended, "active": active}


def held(connect: Callable[[], BatchApi]) -> tuple[Callable[[], BatchApi], threading.Event]:
    """A connect that does not answer until the test lets it."""
    go = threading.Event()

    def waiting() -> BatchApi:
        assert go.wait(30)
        return connect()

    return waiting, go


def header(app: BatchboardApp) -> str:
    return str(app.dashboard.query_one(SummaryBar).render())


def notes(app: BatchboardApp) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


def drawn(table: BatchTable, batch_id: str) -> str:
    """The batch's row as drawn on screen (it must be in view)."""
    first, last = table.rows_in_view()
    row = table.row_keys.index(batch_id)
    assert first <= row < last
    return table.render_line(row - first + 1).text


def index_results(store: Store, batch_id: str) -> None:
    """The batch's results, indexed as a download would: 17 answers and 3 cut short (max_tokens)."""
    (batch,) = [b for b in store.saved_view(ACCOUNT).batches if b.id == batch_id]
    lines = [succeeded(f"ok-{n}") for n in range(17)] + [
        answer(f"cut-{n}", "…", "max_tokens") for n in range(3)
    ]
    ingest(batch_id, ResultsIndex(store), batch=batch, source=chunked(jsonl(lines), 1 << 12))


def opened(store: Store, settings: Settings, clock: ManualClock) -> tuple[SavedView, ResultsService]:
    """What the dashboard command reads in its store-opening thread, before the app is made."""
    results = ResultsService(ResultsIndex(store), settings, clock)
    results.preload()
    return store.saved_view(ACCOUNT), results


async def last_session(
    db_file: Path, emulator: Emulator, clock: ManualClock, settings: Settings, selected: str
) -> None:
    """A first session on this account: one round, the cursor on `selected`, quit."""
    with Store.open(db_file) as store:
        store.use_account(ACCOUNT)
        app = make_app(connect=connect_to(emulator), settings=settings, store=store, clock=clock)
        async with app.run_test(size=SIZE) as pilot:
            await first_round(pilot)
            table_of(app).move_cursor(key=selected)
            await pilot.pause()


async def test_saved_rows_first_then_live_in_place(
    db_file: Path, emulator: Emulator, clock: ManualClock, settings: Settings, world: dict[str, list[str]]
) -> None:
    selected, priced = world["ended"][2], world["ended"][3]
    await last_session(db_file, emulator, clock, settings, selected)
    with Store.open(db_file) as store:
        index_results(store, priced)
    # While the app was closed: an ended batch is deleted, a new one is sent, one ends; time passes.
    emulator.store.delete(world["ended"][0], clock.now())
    new = emulator.add_batch(count=5, created_at=clock.now(), duration=600)
    emulator.store.cancel(world["active"][1], clock.now())
    clock.advance(60)

    first_frame: list[tuple[str, str, str]] = []

    class Probe(BatchboardApp):
        def on_ready(self) -> None:
            table = table_of(self)
            first_frame.append((drawn(table, priced), drawn(table, selected), header(self)))
            super().on_ready()

    with Store.open(db_file) as store:
        saved, results = opened(store, settings, clock)
        connect, go = held(connect_to(emulator))
        app = Probe(
            settings=settings, store=store, clock=clock, connect=connect, saved=saved, results=results
        )
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.pause()
            table = table_of(app)
            # The first frame, before any answer: the indexed batch's cost and its unusable answers' mark,
            # "—" for a batch whose results are not here.
            ((priced_row, selected_row, first_header),) = first_frame
            cost = app.book.cost_text(priced)
            assert cost.startswith("$") and cost in priced_row and UNUSABLE_GLYPH in priced_row
            assert "$" not in selected_row and "—" in selected_row and UNUSABLE_GLYPH not in selected_row
            assert "saved view from 12:00 UTC · connecting…" in first_header
            assert f"spend this month {cost}" in first_header
            # Every saved row, the cursor where it was, the header says what this is.
            assert set(table.row_keys) == set(world["ended"]) | set(world["active"])
            assert table.selected_id == selected
            assert "saved view from 12:00 UTC · connecting…" in header(app)
            assert "running" in drawn(table, world["active"][1])
            # A key that needs the API waits and says so; one that does not works at once.
            table.move_cursor(key=world["active"][0])
            await pilot.press("c")
            await pilot.pause()
            assert any("the cancel will be offered once connected" in n for n in notes(app))
            assert app.screen is app.dashboard
            await pilot.press("3")  # quick filter: ended only
            await pilot.pause()
            assert set(table.row_keys) == set(world["ended"])
            await pilot.press("1")
            table.move_cursor(key=selected)
            await pilot.pause()

            order, cursor, scroll = list(table.row_keys), table.cursor_row, table.scroll_y
            go.set()
            await first_round(pilot)
            assert "saved view" not in header(app)
            assert new in table.row_keys and table.selected_id == selected
            # In place: the canceled batch's row changed where it stands, the rows around it stayed.
            assert "cancel" in drawn(table, world["active"][1])
            assert [b for b in table.row_keys if b != new] == order
            assert (
                table.cursor_row == cursor + (table.row_keys.index(new) < cursor) and table.scroll_y == scroll
            )
            assert cost in drawn(table, priced)
            await next_round(pilot, key="")  # the one full listing of this start finds the deletion
            assert world["ended"][0] not in table.row_keys and table.selected_id == selected
            assert any("no longer on the service" in n for n in notes(app))
        assert world["ended"][0] not in {b.id for b in store.saved_batches()}


async def test_another_profile_or_base_url_does_not_see_the_saved_view(
    db_file: Path, emulator: Emulator, clock: ManualClock, settings: Settings, world: dict[str, list[str]]
) -> None:
    await last_session(db_file, emulator, clock, settings, world["ended"][1])
    for other in (Account.of("work", ACCOUNT.base_url), Account.of("default", "http://127.0.0.1:2")):
        with Store.open(db_file) as store:
            saved = store.saved_view(other)
            assert saved.batches == [] and saved.selected_batch_id is None
            connect, _ = held(connect_to(emulator))
            app = make_app(connect=connect, settings=settings, store=store, clock=clock, saved=saved)
            async with app.run_test(size=SIZE) as pilot:
                await pilot.pause()
                assert list(table_of(app).row_keys) == [] and "saved view" not in header(app)
                assert "connecting…" in header(app)


async def test_refresh_and_submit_wait_for_the_connection(
    db_file: Path, emulator: Emulator, clock: ManualClock, settings: Settings, world: dict[str, list[str]]
) -> None:
    await last_session(db_file, emulator, clock, settings, world["ended"][1])
    with Store.open(db_file) as store:
        connect, go = held(connect_to(emulator))
        saved = store.saved_view(ACCOUNT)
        app = make_app(connect=connect, settings=settings, store=store, clock=clock, saved=saved)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await wait_until(pilot, lambda: bool(app.dashboard.query("#filter")))
            await pilot.press("r")
            await pilot.press("n")
            await pilot.pause()
            said = notes(app)
            assert any("the first refresh runs as soon as it is connected" in n for n in said)
            assert any("submitting will be offered once connected" in n for n in said)
            assert app.screen is app.dashboard
            go.set()
            await first_round(pilot)
