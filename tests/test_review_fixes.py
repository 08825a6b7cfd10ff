"""Regression tests for the review's findings that span layers (markup in cost rows, unknown prices, CLI)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.table import Table
from tests.conftest import HOSTILE
from tests.results.helpers import chunked, ended_batch, jsonl, succeeded

from batchboard.core.clock import ManualClock
from batchboard.core.config import Settings
from batchboard.core.results.index import ResultsIndex
from batchboard.core.results.ingest import ingest
from batchboard.core.results.service import ResultsService
from batchboard.core.store import Store

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def indexed_service(tmp_path: Path, batch_id: str, model: str) -> ResultsService:
    lines = [succeeded("a", model=model), succeeded("b", model="claude-sonnet-4-6")]
    return service_with(tmp_path, {batch_id: lines})


def service_with(tmp_path: Path, batches: dict[str, list[dict[str, Any]]]) -> ResultsService:
    store = Store.memory()
    index = ResultsIndex(store, tmp_path / "results")
    for batch_id, lines in batches.items():
        batch = ended_batch(batch_id, lines)
        ingest(batch_id, index, batch=batch, source=chunked(jsonl(lines), 64), settings=Settings())
    return ResultsService(index, Settings(), ManualClock(NOW))


def test_cost_breakdown_keeps_a_hostile_model_name_literal(tmp_path: Path) -> None:
    from batchboard.ui.results_actions import cost_breakdown

    batch_id = "msgbatch_" + "h" * 24
    rows = cost_breakdown(indexed_service(tmp_path, batch_id, HOSTILE), batch_id)
    grid = Table.grid(padding=(0, 2))  # as the detail screen lays the rows out
    grid.add_column()
    grid.add_column()
    for label, value in rows:
        grid.add_row(label, value)
    console = Console(width=400, record=True, color_system=None, force_terminal=False)
    console.print(grid)  # a str label would raise MarkupError here
    text = console.export_text()
    assert "[@click=app.quit]x[/] list[int]" in text
    assert "[bold]not bold" in text
    for label, _value in rows:
        assert not label.spans  # never styled (or made clickable) by the name


UNPRICED = "claude-mythos-5-2"  # listed as unknown in core/prices.toml


def test_a_batch_on_a_model_without_a_price_is_never_shown_as_free(tmp_path: Path) -> None:
    from batchboard.ui.book import BatchBook, SortMode
    from batchboard.ui.results_actions import cost_breakdown, header_spend
    from batchboard.ui.widgets.batch_table import BatchTable

    priced, unpriced, mixed, pending = ("msgbatch_" + c * 24 for c in "pumn")
    service = service_with(
        tmp_path,
        {
            priced: [succeeded("a", model="claude-sonnet-4-6")],
            unpriced: [succeeded("a", model=UNPRICED), succeeded("b", model=UNPRICED)],
            mixed: [succeeded("a", model="claude-sonnet-4-6"), succeeded("b", model=UNPRICED)],
        },
    )
    book = BatchBook(ManualClock(NOW), service.index.store)
    book.results = service
    for batch_id in (priced, unpriced, mixed, pending):
        book.apply(ended_batch(batch_id, [succeeded("a")]))

    table = BatchTable(book)
    cells = {b: table.static_cells(book.batches[b]) for b in (priced, unpriced, mixed, pending)}
    assert cells[priced]["cost"].plain.startswith("$")
    assert cells[unpriced]["cost"].plain == "no price"
    assert cells[unpriced]["savings"].plain == "no price"
    assert cells[mixed]["cost"].plain.endswith("+?")
    assert cells[pending]["cost"].plain == "—"
    for row in cells.values():
        assert "$0.00" not in (row["cost"].plain, row["savings"].plain)
    assert book.cost(unpriced) is None and book.savings(unpriced) is None  # never a 0 to read as free

    order = sorted(book.batches, key=book.sort_key(SortMode.COST))
    assert order == [priced, mixed, unpriced, pending]  # unknown prices after every priced batch

    standard = {label.plain: value.plain for label, value in cost_breakdown(service, unpriced)}
    assert standard["Standard price"] == "no price"
    spend, saved = header_spend(service)
    assert "+?" in spend and saved.endswith("+?")  # the header says the same as the table


@pytest.mark.parametrize(
    "failure",
    [OSError(28, "No space left on device"), ValueError("bad [/] line"), sqlite3.OperationalError("locked")],
)
async def test_a_background_ingest_failure_is_said_not_lost(failure: Exception) -> None:
    from textual.app import App

    from batchboard.ui.results_actions import ingest_in_background

    class FailingService:
        def ensure(self, batch: Any, **_: Any) -> None:
            raise failure

    batch = ended_batch("msgbatch_" + "f" * 24, [succeeded("a")])
    app: App[None] = App()
    async with app.run_test(notifications=True) as pilot:
        ingest_in_background(app, FailingService(), batch)  # type: ignore[arg-type]
        await app.workers.wait_for_complete()
        await pilot.pause()
        said = [str(n.message) for n in app._notifications]
        assert any(str(failure) in m and batch.id in m for m in said), said
        assert app.is_running


def test_the_sync_client_factory_is_shared_from_core() -> None:
    from batchboard.core.gateway.client import Connection, make_client, make_sync_client, sync_client_like

    connection = Connection("http://localhost:1", "test-key", max_retries=1)
    sync = make_sync_client(connection)
    like = sync_client_like(make_client(connection))
    assert str(sync.base_url) == str(like.base_url) and sync.max_retries == like.max_retries == 1
    assert sync.api_key == like.api_key == "test-key"


def test_cost_help_says_fifty_percent_once(capsys: pytest.CaptureFixture[str]) -> None:
    from batchboard.cli import main

    with pytest.raises(SystemExit):
        main(["cost", "--help"])
    out = capsys.readouterr().out
    assert "50%" in out and "%%" not in out


API_COMMANDS = [
    ["list"],
    ["results", "msgbatch_x"],
    ["cost"],
    ["job", "msgbatch_x"],
    ["submit", "f.jsonl"],
    ["retry", "msgbatch_x"],
    ["attach", "msgbatch_x", "f.jsonl"],
]


@pytest.mark.parametrize("command", API_COMMANDS, ids=lambda c: c[0])
def test_profile_is_taken_after_the_subcommand_and_before_it(command: list[str]) -> None:
    from batchboard.cli import build_parser

    parser = build_parser()
    assert parser.parse_args([*command, "--profile", "after"]).profile == "after"
    assert parser.parse_args(["--profile", "before", *command]).profile == "before"  # not reset to None
    assert parser.parse_args(command).profile is None


def test_list_with_profile_after_the_subcommand_talks_to_that_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from batchboard.cli import main
    from batchboard.core import paths
    from batchboard.emulator import Emulator, EmulatorSettings

    emulator = Emulator(EmulatorSettings(seed=1, demo=False), clock=ManualClock(NOW))
    with emulator.running_in_thread() as base_url:
        batch_id = emulator.add_batch(count=3, created_at=NOW, duration=60)
        config = paths.config_file()
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(
            f'[profiles.emu]\napi_key_env = "EMU_KEY"\nbase_url = "{base_url}"\n', encoding="utf-8"
        )
        monkeypatch.setenv("EMU_KEY", "emu-key")
        assert main(["list", "--profile", "emu"]) == 0
        assert batch_id in capsys.readouterr().out
        assert main(["--profile", "emu", "list"]) == 0
        assert batch_id in capsys.readouterr().out
