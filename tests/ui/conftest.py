"""Fixtures for the UI tests: the real emulator in a thread, sharing a ManualClock with the app."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from textual.pilot import Pilot

from batchboard.core.api import BatchApi
from batchboard.core.client import Connection, make_client
from batchboard.core.clock import ManualClock
from batchboard.core.config import Settings
from batchboard.core.store import Store
from batchboard.emulator import Emulator, EmulatorSettings
from batchboard.ui.app import BatchboardApp, make_app

START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SIZE = (160, 45)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def emulator(clock: ManualClock) -> Iterator[Emulator]:
    emu = Emulator(EmulatorSettings(seed=0, demo=True), clock=clock)
    emu.start_in_thread(host="127.0.0.1", port=0)
    try:
        yield emu
    finally:
        emu.stop_in_thread()


def connect_to(emulator: Emulator) -> Callable[[], BatchApi]:
    def connect() -> BatchApi:
        assert emulator.base_url is not None
        # No SDK retries: faults must reach the poller at once, and tests must not wait on retry sleeps.
        connection = Connection(base_url=emulator.base_url, api_key="test-key", max_retries=0, timeout=10)
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
    return make_app(connect=connect_to(emulator), settings=settings, store=store, clock=clock, demo=True)


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
    await wait_until(pilot, lambda: app.dashboard.poller is not None and app.dashboard.poller.rounds >= 1)
    await pilot.pause()


async def next_round(pilot: Pilot[None], key: str = "r") -> None:
    """Press `r` (or call refresh) and wait for the round it starts to be drawn."""
    app = pilot.app
    assert isinstance(app, BatchboardApp)
    poller = app.dashboard.poller
    assert poller is not None
    target = poller.rounds + 1
    if key:
        await pilot.press(key)
    else:
        poller.refresh_now()
    await wait_until(pilot, lambda: poller.rounds >= target)
    await pilot.pause()
    await pilot.pause()
