"""Fixtures for the UI tests: the real emulator in a thread, sharing a ManualClock with the app, and the
helpers the key tests share (selecting a batch, letting batches end, reading reports and the footer).

A test module sets `EMULATOR_SETTINGS` to run its tests against another emulator world (the default is
the seeded demo world).
"""

from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import anthropic
import pytest
from rich.console import Console
from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Static

from batchboard.core.clock import ManualClock
from batchboard.core.config import Settings
from batchboard.core.gateway.batches import BatchApi
from batchboard.core.gateway.client import Connection, make_client
from batchboard.core.store import Store
from batchboard.emulator import Emulator, EmulatorSettings
from batchboard.ui.app import BatchboardApp, make_app
from batchboard.ui.screens.detail import DetailScreen
from batchboard.ui.widgets.batch_table import BatchTable
from batchboard.ui.widgets.key_footer import GAP, KeyFooter

START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SIZE = (160, 45)
API_KEY = "test-key"
#: No demo world, fast batches, half the valid requests failing with retryable errors: for the key tests.
FAILING_WORLD = EmulatorSettings(seed=0, demo=False, batch_duration=60.0, error_rate=0.5)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def emulator(clock: ManualClock, request: pytest.FixtureRequest) -> Iterator[Emulator]:
    world = getattr(request.module, "EMULATOR_SETTINGS", EmulatorSettings(seed=0, demo=True))
    emu = Emulator(world, clock=clock)
    emu.start_in_thread(host="127.0.0.1", port=0)
    try:
        yield emu
    finally:
        emu.stop_in_thread()


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[anthropic.AsyncAnthropic]:
    """The SDK pointed at the emulator, as another tool (or a CLI submit) would use it."""
    async with anthropic.AsyncAnthropic(api_key=API_KEY, base_url=emulator.base_url, max_retries=0) as sdk:
        yield sdk


def connect_to(emulator: Emulator) -> Callable[[], BatchApi]:
    def connect() -> BatchApi:
        assert emulator.base_url is not None
        # No SDK retries: faults must reach the poller at once, and tests must not wait on retry sleeps.
        connection = Connection(base_url=emulator.base_url, api_key=API_KEY, max_retries=0, timeout=10)
        return BatchApi(make_client(connection))

    return connect


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.memory() as s:
        yield s


@pytest.fixture
def settings() -> Settings:
    # Long interval: rounds happen when a test asks (`r` or refresh_now), never on their own. No background
    # fetching of results: these tests (and the snapshots) see costs only where they ask for them.
    return Settings(poll_interval=3600.0, fetch_results_days=0)


@pytest.fixture
def app(emulator: Emulator, clock: ManualClock, store: Store, settings: Settings) -> BatchboardApp:
    app = make_app(connect=connect_to(emulator), settings=settings, store=store, clock=clock, demo=True)
    return record_notices(app)


AppT = TypeVar("AppT", bound=App[Any])


class NoticeRecorder:
    """Stands in for `app.notify`: keeps each notification as (title, message), then shows it."""

    def __init__(self, notify: Callable[..., None]) -> None:
        self.show = notify
        self.kept: list[tuple[str, str]] = []

    def __call__(self, message: str, *, title: str = "", **options: Any) -> None:
        self.kept.append((title, str(message)))
        self.show(message, title=title, **options)


def record_notices(app: AppT) -> AppT:
    """Keep every notification `app` raises, for `notices`. A toast leaves the screen after a few seconds of
    real time, which a loaded machine can spend on one poll round: tests check what the user was told, not
    what is still showing."""
    app.notify = NoticeRecorder(app.notify)  # type: ignore[method-assign]
    return app


def notices(app: App[Any]) -> list[str]:
    """Every notification raised so far, as "title: message" (the app must have gone through
    `record_notices` before it ran)."""
    # Duck-typed: pytest loads this file as `ui.conftest` while tests import `tests.ui.conftest`.
    kept: list[tuple[str, str]] | None = getattr(app.notify, "kept", None)
    if kept is None:
        raise AssertionError("notices(app) needs record_notices(app) before the app runs")
    return [f"{title}: {message}" for title, message in kept]


async def wait_for_notice(pilot: Pilot[None], predicate: Callable[[str], bool]) -> None:
    """Let the app run until a notification matching `predicate` has been raised."""
    await wait_until(pilot, lambda: any(predicate(notice) for notice in notices(pilot.app)))


async def wait_until(pilot: Pilot[None], predicate: Callable[[], bool], limit: float = 15.0) -> None:
    """Let the app run until `predicate()` holds (no fixed sleeps: check between event-loop turns)."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.01)


async def first_round(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, BatchboardApp)
    await wait_until(pilot, lambda: app.controller.poller is not None and app.controller.poller.rounds >= 1)
    await pilot.pause()


async def next_round(pilot: Pilot[None], key: str = "r") -> None:
    """Press `r` (or call refresh) and wait for the round it starts to be drawn."""
    app = pilot.app
    assert isinstance(app, BatchboardApp)
    poller = app.controller.poller
    assert poller is not None
    target = poller.rounds + 1
    if key:
        await pilot.press(key)
    else:
        poller.refresh_now()
    await wait_until(pilot, lambda: poller.rounds >= target)
    await pilot.pause()
    await pilot.pause()


async def back(pilot: Pilot[None], steps: int = 2) -> None:
    """Press escape `steps` times, as separate presses: the app's ManualClock moves past the repeat window
    before each (an escape right after one that closed a screen is the same press: `ui/escape_keys.py`)."""
    from batchboard.ui.escape_keys import ESCAPE_REPEAT_WINDOW

    for _ in range(steps):
        pilot.app.clock.advance(ESCAPE_REPEAT_WINDOW)  # type: ignore[attr-defined]
        await pilot.press("escape")


def table_of(app: BatchboardApp) -> BatchTable:
    return app.dashboard.query_one(BatchTable)


async def select(pilot: Pilot[None], batch_id: str) -> None:
    table = table_of(pilot.app)  # type: ignore[arg-type]
    table.move_cursor(row=table.get_row_index(batch_id))
    await pilot.pause()


async def until_ended(pilot: Pilot[None], app: BatchboardApp, *batch_ids: str) -> None:
    """Let the shared clock run past the batches' duration, then poll until they show as ended."""
    app.clock.advance(120)  # type: ignore[attr-defined]
    await next_round(pilot)
    await wait_until(pilot, lambda: all(app.book.batches[b].is_ended for b in batch_ids))


def report_text(screen: Screen[Any]) -> str:
    """The report lines of a submit, retry or attach screen, as shown."""
    return "\n".join(str(static.render()) for static in screen.query("#report Static").results(Static))


def detail_text(app: BatchboardApp, width: int = 300) -> str:
    screen = app.screen
    assert isinstance(screen, DetailScreen) and screen.current is not None
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(screen.render_batch(screen.current))
    return console.export_text()


def footer_keys(app: BatchboardApp) -> dict[str, int]:
    """The keys shown in the current screen's footer (the key a click presses) and the columns each takes
    with the gap after it."""
    footer = app.screen.query_one(KeyFooter)
    return {entry.press: entry.width + GAP for entry in footer.shown}
