"""The background fetcher against the emulator, time compressed by a ManualClock: recent ended batches get
their cost without the user doing anything, older ones do not, 0 turns it off, and a failing fetch is said
once while the app keeps polling."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Static

from batchboard.core.clock import ManualClock
from batchboard.core.config import Settings
from batchboard.core.gateway.batches import BatchApi
from batchboard.core.gateway.client import Connection, make_client
from batchboard.core.models import Batch, RequestCounts
from batchboard.core.results.service import ResultsService
from batchboard.core.store import Store
from batchboard.emulator import Emulator, EmulatorSettings, Fault
from batchboard.ui import results_actions
from batchboard.ui.app import BatchboardApp, make_app
from batchboard.ui.fetcher import ResultsFetcher
from batchboard.ui.widgets.batch_table import BatchTable
from batchboard.ui.widgets.summary import SummaryBar
from batchboard.ui.widgets.view_bar import ViewBar

START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SIZE = (160, 45)
FAILED_TITLE = "Could not fetch results in the background"


@dataclass
class World:
    emulator: Emulator
    hours_old: str
    days_old: str
    too_old: str
    archived: str
    running: str


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def world(clock: ManualClock) -> Iterator[World]:
    emu = Emulator(EmulatorSettings(seed=4, demo=False), clock=clock)

    def ended(age: timedelta, count: int = 200) -> str:
        return emu.add_batch(count=count, created_at=START - age, duration=600, error_rate=0.1)

    world = World(
        emu,
        hours_old=ended(timedelta(hours=3)),
        days_old=ended(timedelta(days=3), count=300),
        too_old=ended(timedelta(days=10)),
        archived=ended(timedelta(days=35)),
        running=emu.add_batch(count=50, created_at=START - timedelta(minutes=1), duration=120),
    )
    emu.start_in_thread()
    try:
        yield world
    finally:
        emu.stop_in_thread()


def app_for(world: World, clock: ManualClock, store: Store, days: int | None = None) -> BatchboardApp:
    def connect() -> BatchApi:
        assert world.emulator.base_url is not None
        connection = Connection(base_url=world.emulator.base_url, api_key="k", max_retries=0, timeout=10)
        return BatchApi(make_client(connection))

    settings = (
        Settings(poll_interval=3600.0)
        if days is None
        else Settings(poll_interval=3600.0, fetch_results_days=days)
    )
    return make_app(connect=connect, settings=settings, store=store, clock=clock)


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.memory() as s:
        yield s


async def wait_until(pilot: Pilot[None], predicate: Callable[[], bool], limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.01)


async def first_round(pilot: Pilot[None], app: BatchboardApp) -> BatchTable:
    await wait_until(pilot, lambda: app.controller.poller is not None and app.controller.poller.rounds >= 1)
    await pilot.pause()
    return app.dashboard.query_one(BatchTable)


async def next_round(pilot: Pilot[None], app: BatchboardApp) -> None:
    poller = app.controller.poller
    assert poller is not None
    target = poller.rounds + 1
    await pilot.press("r")
    await wait_until(pilot, lambda: poller.rounds >= target)
    await pilot.pause()


def cost(table: BatchTable, batch_id: str) -> str:
    return str(table.get_row(batch_id)[-2])


def summary(app: BatchboardApp) -> str:
    return str(app.dashboard.query_one(SummaryBar).render())


def idle(app: BatchboardApp) -> bool:
    fetcher = app.controller.fetcher
    return fetcher is not None and fetcher.idle


def failures(app: BatchboardApp) -> list[str]:
    return [str(n.message) for n in app._notifications if n.title == FAILED_TITLE]


async def test_recent_ended_batches_get_their_cost_without_the_user(
    world: World, clock: ManualClock, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[str] = []
    ingest = results_actions.ingest_in_background

    def spy(app: Any, service: Any, batch: Batch, *args: Any, **kwargs: Any) -> Any:
        started.append(batch.id)
        return ingest(app, service, batch, *args, **kwargs)

    monkeypatch.setattr(results_actions, "ingest_in_background", spy)
    app = app_for(world, clock, store)  # the default: the last 7 days
    assert app.settings.fetch_results_days == 7
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        table = await first_round(pilot, app)
        await wait_until(pilot, lambda: cost(table, world.days_old).startswith("$") and idle(app))
        assert cost(table, world.hours_old).startswith("$")
        # Outside the window, archived, still running: left alone.
        for batch_id in (world.too_old, world.archived, world.running):
            assert cost(table, batch_id) == "—"
        service = app.controller.results  # type: ignore[attr-defined]
        assert not service.is_indexed(world.too_old) and not service.is_indexed(world.running)
        assert "spend this month $" in summary(app) and "fetching results" not in summary(app)
        assert failures(app) == []

        # A batch that ends while the app watches, and one found already ended by a later round, join in.
        late = world.emulator.add_batch(count=80, created_at=START - timedelta(hours=1), duration=60)
        clock.advance(minutes=5)
        await next_round(pilot, app)
        await wait_until(
            pilot,
            lambda: (
                cost(table, world.running).startswith("$") and cost(table, late).startswith("$") and idle(app)
            ),
        )
        assert cost(table, world.too_old) == "—"
    assert started[:2] == [world.hours_old, world.days_old]  # newest first, one at a time


async def test_the_view_line_counts_the_fetches(
    world: World, clock: ManualClock, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_for(world, clock, store)
    shown: list[str] = []
    show = ResultsFetcher._show

    def record(fetcher: ResultsFetcher) -> None:
        show(fetcher)
        shown.append(str(app.dashboard.query_one(ViewBar).render()))

    monkeypatch.setattr(ResultsFetcher, "_show", record)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot, app)
        await wait_until(pilot, lambda: idle(app))
    assert any(line.endswith("5 of 5 batches · fetching results 1 of 2") for line in shown), shown
    assert any(line.endswith("5 of 5 batches · fetching results 2 of 2") for line in shown), shown
    assert shown[-1].endswith("5 of 5 batches")


async def test_zero_days_turns_it_off(world: World, clock: ManualClock, store: Store) -> None:
    app = app_for(world, clock, store, days=0)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        table = await first_round(pilot, app)
        await next_round(pilot, app)
        await pilot.pause(0.2)
        assert cost(table, world.hours_old) == "—" and cost(table, world.days_old) == "—"
        assert not [w for w in app.workers if w.group.startswith(("ingest-", "fetch-results"))]
        assert "spend this month —" in summary(app)


async def test_a_failing_fetch_warns_once_and_the_app_keeps_going(
    world: World, clock: ManualClock, store: Store
) -> None:
    # Every download attempt of the newest batch's results fails (ingest tries three times).
    results_path = f"/v1/messages/batches/{world.hours_old}/results"
    world.emulator.faults.add(Fault(kind="api_error", method="GET", path=results_path, times=50))
    app = app_for(world, clock, store)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        table = await first_round(pilot, app)
        await wait_until(pilot, lambda: cost(table, world.days_old).startswith("$") and idle(app))
        assert cost(table, world.hours_old) == "—"
        assert len(failures(app)) == 1 and world.hours_old in failures(app)[0]
        fetcher = app.controller.fetcher
        assert fetcher is not None and world.hours_old in fetcher.failed

        # Later rounds poll as usual and do not try the failed batch again in this session.
        rounds = app.controller.poller.rounds  # type: ignore[union-attr]
        await next_round(pilot, app)
        await next_round(pilot, app)
        assert app.controller.poller.rounds >= rounds + 2  # type: ignore[union-attr]
        assert app.book.status is not None and app.book.status.ok
        await pilot.pause(0.2)
        assert idle(app) and len(failures(app)) == 1
        assert not [w for w in app.workers if w.group == f"ingest-{world.hours_old}" and not w.is_finished]


async def test_opening_a_batch_being_fetched_does_not_fetch_it_twice(
    world: World, clock: ManualClock, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    release = threading.Event()
    ensure = ResultsService.ensure

    def slow_ensure(service: ResultsService, batch: Batch, **kwargs: Any) -> Any:
        calls.append(batch.id)
        release.wait(10)
        return ensure(service, batch, **kwargs)

    monkeypatch.setattr(ResultsService, "ensure", slow_ensure)
    app = app_for(world, clock, store)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        table = await first_round(pilot, app)
        await wait_until(pilot, lambda: calls == [world.hours_old])  # the fetcher is on the newest
        table.move_cursor(row=table.get_row_index(world.hours_old))
        await pilot.press("enter")  # the detail asks for the same results
        await pilot.pause(0.1)
        assert calls == [world.hours_old]
        assert len([w for w in app.workers if w.group == f"ingest-{world.hours_old}"]) == 1
        release.set()
        await wait_until(pilot, lambda: idle(app) and cost(table, world.days_old).startswith("$"))
        assert cost(table, world.hours_old).startswith("$")
    assert calls == [world.hours_old, world.days_old]


@dataclass
class StalledPacing:
    """The background fetcher's first pause lasts, as a paced download of a big batch would, until
    `resume()` returns True (or 30 s pass); `hurried` tells whether the user's hurry reached it. Later
    pauses take no time."""

    resume: Callable[[threading.Event], bool]
    stalled: threading.Event
    hurried: threading.Event


def stall_background_fetches(
    monkeypatch: pytest.MonkeyPatch, resume: Callable[[threading.Event], bool]
) -> StalledPacing:
    state = StalledPacing(resume, threading.Event(), threading.Event())

    def paced(pace: float, cancelled: threading.Event, hurry: threading.Event | None = None) -> Any:
        assert hurry is not None

        def progress(_: Any) -> None:
            if state.stalled.is_set():  # stalled once already
                return
            state.stalled.set()
            deadline = time.monotonic() + 30
            while not cancelled.is_set() and not resume(hurry) and time.monotonic() < deadline:
                time.sleep(0.01)
            if hurry.is_set():
                state.hurried.set()

        return progress

    monkeypatch.setattr(results_actions, "paced", paced)
    return state


async def test_e_on_a_batch_being_fetched_hurries_that_fetch_and_shows_its_progress(
    world: World, clock: ManualClock, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from batchboard.ui.results_actions import DownloadScreen
    from batchboard.ui.screens.problems import ProblemsScreen

    pacing = stall_background_fetches(monkeypatch, lambda hurry: hurry.is_set())
    shown: list[int] = []
    show_progress = DownloadScreen._progress

    def record(screen: DownloadScreen, progress: Any) -> None:
        shown.append(progress.items_done)
        show_progress(screen, progress)

    monkeypatch.setattr(DownloadScreen, "_progress", record)
    app = app_for(world, clock, store)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        table = await first_round(pilot, app)
        await wait_until(pilot, pacing.stalled.is_set)  # the fetcher's worker is pausing on the newest batch
        table.move_cursor(row=table.get_row_index(world.hours_old))
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, (DownloadScreen, ProblemsScreen))
        await wait_until(pilot, lambda: isinstance(app.screen, ProblemsScreen), limit=10)
        assert pacing.hurried.is_set()  # no pause once the user asked: not the 30 s stall
        assert shown and shown[0] > 0  # the dialog showed the background fetch's progress at once
        assert cost(table, world.hours_old).startswith("$")
        # One download, by the background worker: the dialog did not start its own.
        assert len([w for w in app.workers if w.group == f"ingest-{world.hours_old}"]) <= 1
        await pilot.press("escape")
        await wait_until(pilot, lambda: idle(app) and cost(table, world.days_old).startswith("$"))
        assert failures(app) == []


async def test_d_on_a_batch_being_fetched_can_be_closed_while_it_waits(
    world: World, clock: ManualClock, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from batchboard.ui.results_actions import DownloadScreen

    release = threading.Event()
    pacing = stall_background_fetches(monkeypatch, lambda hurry: release.is_set())
    app = app_for(world, clock, store)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        table = await first_round(pilot, app)
        await wait_until(pilot, pacing.stalled.is_set)
        table.move_cursor(row=table.get_row_index(world.hours_old))
        await pilot.press("d")
        await pilot.pause(0.1)
        dialog = app.screen
        assert isinstance(dialog, DownloadScreen) and dialog.waiting
        assert "in the background" in str(dialog.query_one("#download-hint", Static).render())
        await pilot.press("escape")  # closes at once, although the fetch it waits for is still paused
        await pilot.pause()
        assert app.screen is app.dashboard
        assert cost(table, world.hours_old) == "—"
        background = [w for w in app.workers if w.group == f"ingest-{world.hours_old}"]
        assert len(background) == 1 and not background[0].is_finished and not background[0].is_cancelled
        release.set()  # the background work went on and is not lost
        await wait_until(pilot, lambda: idle(app) and cost(table, world.days_old).startswith("$"))
        assert cost(table, world.hours_old).startswith("$")
        assert pacing.hurried.is_set() and failures(app) == []


def test_hurry_ends_a_pause_and_the_pauses_after_it() -> None:
    cancelled, hurry = threading.Event(), threading.Event()
    pause = results_actions.paced(1e9, cancelled, hurry)  # every pause as long as allowed (1 s)
    time.sleep(0.01)
    threading.Timer(0.1, hurry.set).start()
    started = time.monotonic()
    pause(None)  # type: ignore[arg-type]
    pause(None)  # type: ignore[arg-type]
    assert time.monotonic() - started < 0.5


class CheckedStore:
    """The two store questions the fetcher's thread asks, recorded; `failing` makes the next check fail."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.failing = False

    def is_indexed(self, batch_id: str) -> bool:
        if self.failing:
            self.failing = False
            raise OSError("disk busy")
        self.asked.append(batch_id)
        return False

    def unavailable_reason(self, batch_id: str) -> str | None:
        return "deleted by the API"  # nothing gets queued: only what is looked at matters here


async def test_after_the_first_offer_a_round_costs_what_it_changed(clock: ManualClock) -> None:
    """The first offer looks at every known batch; later ones at the round's changes only (a batch comes to
    qualify by ending), plus those whose check failed: 100,000 batches do not make every round slower."""

    def ended(i: int) -> Batch:
        created = START - timedelta(hours=i + 1)
        return Batch(
            id=f"msgbatch_{i:03d}",
            processing_status="ended",
            counts=RequestCounts(succeeded=1),
            created_at=created,
            expires_at=created + timedelta(hours=24),
            ended_at=created + timedelta(minutes=30),
        )

    book = {b.id: b for b in map(ended, range(5))}
    running = dataclasses.replace(ended(9), processing_status="in_progress", ended_at=None)
    book[running.id] = running
    checked = CheckedStore()
    app = App[None]()
    async with app.run_test():
        fetcher = ResultsFetcher(
            app,
            checked,  # type: ignore[arg-type]
            days=7,
            clock=clock,
            on_ready=lambda _: None,
            on_change=lambda: None,
        )
        fetcher.offer(book.values(), known=book)
        await app.workers.wait_for_complete()
        assert sorted(checked.asked) == [f"msgbatch_{i:03d}" for i in range(5)]

        checked.asked.clear()
        fetcher.offer([], known=book)  # nothing changed: nothing looked at
        await app.workers.wait_for_complete()
        assert checked.asked == [] and fetcher.checking == 0

        book[running.id] = done = ended(9)  # the running batch ends
        checked.failing = True
        fetcher.offer([done], known=book)
        await app.workers.wait_for_complete()
        assert checked.asked == []  # the check failed: looked at again at the next offer
        fetcher.offer([], known=book)
        await app.workers.wait_for_complete()
        assert checked.asked == [done.id]
