"""The dashboard moves an older database's result items to per-batch files by itself, in a thread worker once
it is connected, so the first `e` or background fetch does not pay for it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.results.helpers import has_legacy_table, legacy_database, lines_of_batch
from textual.pilot import Pilot

from batchboard.core.clock import ManualClock
from batchboard.core.config import Settings
from batchboard.core.gateway.batches import BatchApi
from batchboard.core.gateway.client import Connection, make_client
from batchboard.core.store import Store
from batchboard.emulator import Emulator, EmulatorSettings
from batchboard.ui.app import make_app

START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    emu = Emulator(EmulatorSettings(seed=2, demo=False), clock=ManualClock(START))
    emu.start_in_thread()
    try:
        yield emu
    finally:
        emu.stop_in_thread()


async def test_an_old_results_database_is_migrated_after_connecting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emulator: Emulator
) -> None:
    monkeypatch.setenv("BATCHBOARD_DATA_DIR", str(tmp_path))
    db_path = legacy_database(tmp_path, {"msgbatch_old": lines_of_batch()})

    def connect() -> BatchApi:
        assert emulator.base_url is not None
        return BatchApi(make_client(Connection(base_url=emulator.base_url, api_key="k", max_retries=0)))

    with Store.open(db_path) as store:
        assert has_legacy_table(store)
        settings = Settings(poll_interval=3600.0, fetch_results_days=0)
        app = make_app(connect=connect, settings=settings, store=store, clock=ManualClock(START))
        async with app.run_test(size=(160, 45)) as pilot:
            await until(pilot, lambda: not has_legacy_table(store))
            assert (tmp_path / "results" / "msgbatch_old.items.sqlite3").exists()
            assert app.controller.results is not None and app.controller.results.is_indexed("msgbatch_old")


async def until(pilot: Pilot[None], predicate: object, limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("the old results table was never migrated")
        await pilot.pause(0.02)
