"""The results wiring in the dashboard, against the emulator: `e` opens a batch's problems (downloading
first), `d` downloads and saves a copy, a batch that ends is ingested, and costs fill in."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console
from tests.ui.conftest import back
from textual.pilot import Pilot
from textual.widgets import Input, Static

from batchboard.core.clock import ManualClock
from batchboard.core.config import Settings
from batchboard.core.gateway.batches import BatchApi
from batchboard.core.gateway.client import Connection, make_client
from batchboard.core.store import Store
from batchboard.emulator import Emulator, EmulatorSettings
from batchboard.ui.app import BatchboardApp, make_app
from batchboard.ui.results_actions import DownloadScreen
from batchboard.ui.screens.detail import DetailScreen
from batchboard.ui.screens.inspector import InspectorScreen
from batchboard.ui.screens.problems import ProblemsScreen
from batchboard.ui.widgets.batch_table import BatchTable
from batchboard.ui.widgets.summary import SummaryBar

START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SIZE = (160, 45)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def world(clock: ManualClock) -> Iterator[tuple[Emulator, str, str]]:
    emu = Emulator(EmulatorSettings(seed=2, demo=False), clock=clock)
    ended = emu.add_batch(count=400, created_at=START - timedelta(hours=2), duration=600, error_rate=0.2)
    running = emu.add_batch(count=50, created_at=START - timedelta(minutes=1), duration=120)
    emu.start_in_thread()
    try:
        yield emu, ended, running
    finally:
        emu.stop_in_thread()


@pytest.fixture
def app(world: tuple[Emulator, str, str], clock: ManualClock) -> Iterator[BatchboardApp]:
    emu = world[0]

    def connect() -> BatchApi:
        assert emu.base_url is not None
        return BatchApi(
            make_client(Connection(base_url=emu.base_url, api_key="k", max_retries=0, timeout=10))
        )

    with Store.memory() as store:
        # No background fetching: these tests fill costs by opening, downloading or ending a batch.
        settings = Settings(poll_interval=3600.0, fetch_results_days=0)
        yield make_app(connect=connect, settings=settings, store=store, clock=clock)


async def wait_until(pilot: Pilot[None], predicate: Callable[[], bool], limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.01)


async def ready(pilot: Pilot[None], app: BatchboardApp) -> BatchTable:
    await wait_until(pilot, lambda: app.controller.poller is not None and app.controller.poller.rounds >= 1)
    await pilot.pause()
    return app.dashboard.query_one(BatchTable)


async def test_e_downloads_then_opens_problems_and_costs_fill_in(
    app: BatchboardApp, world: tuple[Emulator, str, str]
) -> None:
    _, ended, running = world
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        table = await ready(pilot, app)
        assert [str(c) for c in table.get_row(ended)][-2:] == ["—", "—"]
        assert "spend this month — · saved —" in str(app.dashboard.query_one(SummaryBar).render())
        table.move_cursor(row=table.get_row_index(running))
        await pilot.pause()
        assert app.dashboard.check_action("problems", ()) is False  # no results before the end
        table.move_cursor(row=table.get_row_index(ended))
        await pilot.pause()
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ProblemsScreen))
        problems = app.screen
        assert isinstance(problems, ProblemsScreen)
        await wait_until(pilot, lambda: bool(problems.groups))  # the groups load in a worker
        assert problems.groups[0].key.result_type == "errored" and problems.groups[0].retryable
        await pilot.press("enter")  # the inspector, asking the submit store for the request (none here)
        assert isinstance(app.screen, InspectorScreen)
        assert "Not stored locally" in app.screen.request_text
        await back(pilot)
        await wait_until(pilot, lambda: app.screen is app.dashboard)
        cost_cell, saved_cell = (str(c) for c in table.get_row(ended)[-2:])
        assert cost_cell.startswith("$") and saved_cell == cost_cell  # batch price is half of standard
        summary = str(app.dashboard.query_one(SummaryBar).render())
        assert f"spend this month {cost_cell} (today {cost_cell}, all time {cost_cell})" in summary

        await pilot.press("enter")  # the detail screen shows the breakdown, and e works there too
        assert isinstance(app.screen, DetailScreen)
        screen = app.screen
        assert screen.current is not None
        console = Console(width=160, record=True, file=io.StringIO())
        console.print(screen.render_batch(screen.current))
        text = console.export_text()
        assert "claude-haiku-5-5" in text and "only succeeded requests are billed" in text
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ProblemsScreen))


async def test_d_downloads_and_saves_a_copy(
    app: BatchboardApp, world: tuple[Emulator, str, str], tmp_path: Path
) -> None:
    _, ended, _ = world
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        table = await ready(pilot, app)
        table.move_cursor(row=table.get_row_index(ended))
        await pilot.press("d")
        await wait_until(
            pilot, lambda: isinstance(app.screen, DownloadScreen) and app.screen.report is not None
        )
        dialog = app.screen
        assert isinstance(dialog, DownloadScreen)
        path_input = dialog.query_one("#download-path", Input)
        target = tmp_path / "out" / "copy.jsonl"
        path_input.value = str(target)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is app.dashboard)
        assert len(target.read_bytes().splitlines()) == 400
        assert any("Results saved" in (n.title or "") for n in app._notifications)


async def test_the_download_dialog_fits_80_columns_and_keeps_the_file_name_whole(
    app: BatchboardApp, world: tuple[Emulator, str, str]
) -> None:
    _, ended, _ = world
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        table = await ready(pilot, app)
        table.move_cursor(row=table.get_row_index(ended))
        await pilot.press("d")
        await wait_until(
            pilot, lambda: isinstance(app.screen, DownloadScreen) and app.screen.report is not None
        )
        dialog = app.screen
        assert isinstance(dialog, DownloadScreen) and dialog.report is not None
        status = dialog.query_one("#download-status", Static)
        assert dialog.query_one("#download-dialog").region.right <= 80
        lines = str(status.render()).split("\n")
        assert len(lines) == 2 and len(lines[1]) <= status.content_size.width
        path = str(dialog.report.path)
        assert lines[1] == path or ("…" in lines[1] and lines[1].endswith(path.rsplit("/", 1)[-1][-20:]))


async def test_a_batch_that_ends_is_ingested_and_priced(
    app: BatchboardApp, world: tuple[Emulator, str, str], clock: ManualClock
) -> None:
    _, _, running = world
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        table = await ready(pilot, app)
        clock.advance(minutes=5)
        rounds = app.controller.poller.rounds  # type: ignore[union-attr]
        await pilot.press("r")
        await wait_until(pilot, lambda: app.controller.poller.rounds > rounds)  # type: ignore[union-attr]
        await wait_until(pilot, lambda: str(table.get_row(running)[-2]).startswith("$"))
        assert app.controller.results.is_indexed(running)  # type: ignore[attr-defined]


async def test_opening_an_ended_batch_fetches_its_cost(
    app: BatchboardApp, world: tuple[Emulator, str, str]
) -> None:
    _, ended, _ = world
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        table = await ready(pilot, app)
        table.move_cursor(row=table.get_row_index(ended))
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        await wait_until(pilot, lambda: str(table.get_row(ended)[-2]).startswith("$"))
        cost = app.controller.results.cost(ended)  # type: ignore[attr-defined]
        assert (
            cost is not None and cost.complete and cost.requests == app.book.batches[ended].counts.succeeded
        )
