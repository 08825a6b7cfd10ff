"""Pilot tests for `n` (submit) and `R` (retry) wired into the dashboard, the detail screen and the error
triage view, for lineage on the detail screen and `J` (job view), against the real emulator on a shared
ManualClock.

The emulator may fail a retried item again (or not): these tests assert which ids are *sent*, never how
the retry turned out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic
import orjson
from tests.conftest import HOSTILE, SHOWN
from tests.ui.conftest import (
    FAILING_WORLD,
    SIZE,
    back,
    connect_to,
    detail_text,
    first_round,
    footer_keys,
    report_text,
    select,
    table_of,
    until_ended,
    wait_until,
)
from textual.pilot import Pilot
from textual.widgets import Input, Static

from batchboard.core.clock import ManualClock
from batchboard.core.config import Settings
from batchboard.core.results.index import ResultsIndex
from batchboard.core.results.schema import RETRYABLE_ERRORS
from batchboard.core.store import Store, to_db_time
from batchboard.core.submit.intents import (
    Submitter,
    _chunk_requests,
    prepare_file,
    stored_requests,
    submission_for_batch,
)
from batchboard.core.submit.validate import validate_file
from batchboard.emulator import Emulator
from batchboard.ui.app import BatchboardApp, make_app
from batchboard.ui.screens.detail import DetailScreen
from batchboard.ui.screens.help import HelpScreen
from batchboard.ui.screens.job import JobScreen
from batchboard.ui.screens.problems import ProblemsScreen
from batchboard.ui.screens.submit import RetryScreen, SubmitScreen

UNKNOWN_MODEL = "claude-nope-1"  # a warning for the validator, an invalid_request_error in the batch


EMULATOR_SETTINGS = FAILING_WORLD


def write_requests(path: Path, count: int, *, invalid_every: int = 0) -> Path:
    """`count` requests; every `invalid_every`-th names a model the API does not have."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(count):
        model = UNKNOWN_MODEL if invalid_every and i % invalid_every == 0 else "claude-haiku-5-5"
        params = {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": f"Ticket {i}"}]}
        lines.append(orjson.dumps({"custom_id": f"req-{i}", "params": params}))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


async def send_file(
    store: Store, client: anthropic.AsyncAnthropic, clock: ManualClock, path: Path, label: str | None = None
) -> str:
    submission = prepare_file(store, validate_file(path), label=label, clock=clock)
    (batch_id,) = (await Submitter(store, client, clock).send(submission.id)).batch_ids
    return batch_id


def failed_ids(store: Store, batch_id: str, *, canceled: bool = False, invalid: bool = False) -> set[str]:
    """The ids a retry should carry, read from the results index."""
    wanted = set(RETRYABLE_ERRORS) | ({"invalid_request_error"} if invalid else set())
    result_types = {"expired"} | ({"canceled"} if canceled else set())
    rows = ResultsIndex(store).outcomes(batch_id)
    return {
        cid
        for cid, result_type, error_type, _ in rows
        if (result_type == "errored" and error_type in wanted) or result_type in result_types
    }


async def retry_screen_ready(pilot: Pilot[None], app: BatchboardApp) -> RetryScreen:
    """After `R`: the results download (if needed) and the plan and estimate, until `y` can send."""
    await wait_until(pilot, lambda: isinstance(app.screen, RetryScreen) and app.screen.ready, limit=30)
    screen = app.screen
    assert isinstance(screen, RetryScreen)
    return screen


async def send_retry(pilot: Pilot[None], app: BatchboardApp, screen: RetryScreen) -> str:
    """`y`, then wait for the child batch to show up in the table (the forced poll round)."""
    before = set(app.book.batches)
    await pilot.press("y")
    await wait_until(pilot, lambda: not isinstance(app.screen, RetryScreen), limit=30)
    await wait_until(pilot, lambda: len(set(app.book.batches) - before) == 1)
    (child,) = set(app.book.batches) - before
    submission = submission_for_batch(app.store, child)
    assert submission is not None and submission.kind == "retry"
    assert submission.parent_batch_id == screen.batch_id
    return child


async def emulator_received(client: anthropic.AsyncAnthropic, clock: ManualClock, batch_id: str) -> set[str]:
    """The custom_ids the emulator got in `batch_id` (its results name each one, whatever the outcome)."""
    clock.advance(120)
    return {line.custom_id async for line in await client.messages.batches.results(batch_id)}


# ------------------------------------------------------------------------------------------------ n


async def test_n_submits_a_file_and_the_batch_shows_up_with_its_label(
    app: BatchboardApp, tmp_path: Path, client: anthropic.AsyncAnthropic, clock: ManualClock
) -> None:
    path = write_requests(tmp_path / "tickets.jsonl", 6)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        assert app.dashboard.check_action("submit", ()) is True
        await pilot.press("n")
        screen = app.screen
        assert isinstance(screen, SubmitScreen)
        path_input = screen.query_one("#path", Input)
        path_input.value = f"{tmp_path}/"
        path_input.cursor_position = len(path_input.value)
        await pilot.press("t", "i")
        await wait_until(pilot, lambda: path_input._suggestion == str(path))
        await pilot.press("right")  # accept the completion
        assert path_input.value == str(path)
        screen.query_one("#label", Input).focus()
        await pilot.press(*"nightly tickets")
        await pilot.press("enter")
        try:
            await wait_until(pilot, lambda: screen.ready, limit=30)
        except AssertionError:
            raise AssertionError(f"not ready: {report_text(screen)!r}, path {path_input.value!r}") from None
        text = report_text(screen)
        assert "6 requests OK, to be sent as 1 batch" in text and "cost at batch price" in text
        await pilot.press("y")
        await wait_until(pilot, lambda: app.screen is app.dashboard)
        await wait_until(pilot, lambda: len(app.book.batches) == 1)
        (batch_id,) = app.book.batches
        assert app.store.label(batch_id) == "nightly tickets"
        assert app.book.label(batch_id) == "nightly tickets"
        table = table_of(app)
        assert str(table.get_cell(batch_id, "label")) == "nightly tickets"
        assert any("Submitted" in (n.title or "") for n in app._notifications)

        # The label set at submit is searchable with `/`.
        await pilot.press("slash", *"nightly")
        await pilot.pause()
        assert list(table.row_keys) == [batch_id]
        await pilot.press("escape")
        await pilot.press("slash", *"weekly")
        await pilot.pause()
        assert table.row_count == 0
        await pilot.press("escape")

        # The detail screen says where it came from.
        await select(pilot, batch_id)
        await pilot.press("enter")
        text = detail_text(app)
        assert str(path.resolve()) in text
    assert await emulator_received(client, clock, batch_id) == {f"req-{i}" for i in range(6)}


# ------------------------------------------------------------------------------------------------ R


async def test_R_from_the_table_sends_exactly_the_failed_retryable_ids(
    app: BatchboardApp,
    store: Store,
    tmp_path: Path,
    client: anthropic.AsyncAnthropic,
    clock: ManualClock,
) -> None:
    parent = await send_file(store, client, clock, write_requests(tmp_path / "in.jsonl", 24, invalid_every=5))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        await select(pilot, parent)
        assert app.dashboard.check_action("retry", ()) is False  # still running: nothing to retry
        await until_ended(pilot, app, parent)
        assert app.dashboard.check_action("retry", ()) is True
        assert "Retry" in {c.title for c in app.get_system_commands(app.screen)}

        await pilot.press("R")  # results not downloaded yet: downloads them, then opens the retry screen
        screen = await retry_screen_ready(pilot, app)
        expected = failed_ids(store, parent)
        invalid = failed_ids(store, parent, invalid=True) - expected
        assert expected and invalid, "the emulator should give both retryable and invalid failures"
        assert screen.plan is not None
        assert {cid for cid, _ in screen.plan.requests} == expected
        text = report_text(screen)
        assert f"What will be sent ({len(expected)} requests)" in text  # the test file makes several
        assert f"leave out {len(invalid)} invalid_request_error" in text
        assert "cost at batch price" in text
        child = await send_retry(pilot, app, screen)

        # The footer of an ended batch with errors and a retry (the most keys it shows) fits 160 columns,
        # on the dashboard and on the detail screen, with quit, help and the palette still on it.
        await select(pilot, parent)
        await wait_until(pilot, lambda: app.dashboard.check_action("job", ()) is True)
        await pilot.pause()
        keys = footer_keys(app)
        assert {"R", "J", "e", "d", "question_mark", "q", "ctrl+p"} <= set(keys), keys
        assert sum(keys.values()) <= SIZE[0], keys
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen))
        await pilot.pause()
        keys = footer_keys(app)
        assert {"R", "J", "e", "d", "question_mark", "q", "ctrl+p"} <= set(keys), keys
        assert sum(keys.values()) <= SIZE[0], keys
        await pilot.press("escape")

        # The child's requests, as stored before sending: exactly the failed retryable ones.
        assert set(stored_requests(store, child)) == expected
        # The child's label follows its parent's (none here), and it shows in the table.
        assert table_of(app).get_row_index(child) >= 0

        # Lineage on the child's detail screen, then the job view.
        await select(pilot, child)
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        text = detail_text(app)
        assert f"Retry of                {parent}" in text
        assert f"{parent} → {child}" in text
        await pilot.press("J")
        await wait_until(pilot, lambda: isinstance(app.screen, JobScreen) and app.screen.job is not None)
        job_text = "\n".join(str(s.render()) for s in app.screen.query("#job Static").results(Static))
        assert f"{parent}  original" in job_text
        assert f"{child}  retry of {parent}" in job_text
        await pilot.press("escape")
        assert isinstance(app.screen, DetailScreen)
        await back(pilot, 1)

        # And the parent's detail lists its retry.
        await select(pilot, parent)
        await pilot.press("enter")
        text = detail_text(app)
        assert f"Retries                 {child}" in text
    assert await emulator_received(client, clock, child) == expected


async def test_R_from_the_detail_screen_can_include_invalid_requests(
    app: BatchboardApp,
    store: Store,
    tmp_path: Path,
    client: anthropic.AsyncAnthropic,
    clock: ManualClock,
) -> None:
    parent = await send_file(
        store, client, clock, write_requests(tmp_path / "in.jsonl", 20, invalid_every=4), label="weekly"
    )
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        await until_ended(pilot, app, parent)
        await select(pilot, parent)
        await pilot.press("enter")
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        assert detail.check_action("retry", ()) is True
        assert "Submitted from" in detail_text(app) and "in.jsonl" in detail_text(app)
        await pilot.press("R")
        screen = await retry_screen_ready(pilot, app)
        assert "[ ] invalid_request_error (i)" in str(screen.query_one("#choices", Static).render())
        await pilot.press("i")  # include invalid_request_error explicitly
        await wait_until(pilot, lambda: screen.ready and screen.include_invalid)
        expected = failed_ids(store, parent, invalid=True)
        assert "[x] invalid_request_error (i)" in str(screen.query_one("#choices", Static).render())
        assert screen.plan is not None and {cid for cid, _ in screen.plan.requests} == expected
        assert any(p.endswith("invalid_request_error") for p in report_text(screen).splitlines())
        child = await send_retry(pilot, app, screen)
        assert set(stored_requests(store, child)) == expected
        assert app.book.label(child) == "weekly"  # a retry keeps its parent's label, in the table too
        assert str(table_of(app).get_cell(child, "label")) == "weekly"
        # Back on the detail screen (the retry screen was on top of it): it now lists the retry.
        assert app.screen is detail
        await wait_until(pilot, lambda: detail.lineage is not None and child in detail.lineage.origin.retries)
    assert await emulator_received(client, clock, child) == expected


async def test_R_from_the_error_triage_view_can_include_canceled_items(
    app: BatchboardApp,
    store: Store,
    tmp_path: Path,
    client: anthropic.AsyncAnthropic,
    clock: ManualClock,
) -> None:
    parent = await send_file(store, client, clock, write_requests(tmp_path / "in.jsonl", 16))
    await client.messages.batches.cancel(parent)  # its unprocessed requests end up canceled
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        await until_ended(pilot, app, parent)
        assert app.book.batches[parent].counts.canceled > 0
        await select(pilot, parent)
        await pilot.press("e")  # downloads the results, then the triage view
        await wait_until(pilot, lambda: isinstance(app.screen, ProblemsScreen), limit=30)
        assert "Retry" in {c.title for c in app.get_system_commands(app.screen)}
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(app.screen, RetryScreen) and app.screen.plan is not None)
        screen = app.screen
        assert isinstance(screen, RetryScreen) and screen.plan is not None
        default = failed_ids(store, parent)  # maybe none: canceled at once, only retryable errors finished
        assert {cid for cid, _ in screen.plan.requests} == default
        assert "(c includes them)" in report_text(screen)
        if not default:
            assert "Nothing to retry." in report_text(screen) and not screen.ready
        await pilot.press("c")
        await wait_until(pilot, lambda: screen.ready and screen.include_canceled)
        expected = failed_ids(store, parent, canceled=True)
        assert expected > default
        assert {cid for cid, _ in screen.plan.requests} == expected
        child = await send_retry(pilot, app, screen)
        assert set(stored_requests(store, child)) == expected
        assert isinstance(app.screen, ProblemsScreen)  # back where R was pressed
    assert await emulator_received(client, clock, child) == expected


async def test_R_only_shows_where_it_applies_and_every_new_key_is_documented(
    app: BatchboardApp, store: Store, tmp_path: Path, client: anthropic.AsyncAnthropic, clock: ManualClock
) -> None:
    ok = await send_file(store, client, clock, write_requests(tmp_path / "ok.jsonl", 1))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        await until_ended(pilot, app, ok)
        batch = app.book.batches[ok]
        await select(pilot, ok)
        expected_retry = batch.counts.errored + batch.counts.expired + batch.counts.canceled > 0
        assert app.dashboard.check_action("retry", ()) is expected_retry
        footer_keys = {b.binding.key for b in app.screen.active_bindings.values()}
        assert "n" in footer_keys and ("R" in footer_keys) is expected_retry
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        ids = {binding_id for _, _, binding_id in app.screen.rows}
        assert {"dashboard.submit", "dashboard.retry"} <= ids
        await pilot.press("escape")
        await pilot.press("enter")
        await pilot.press("question_mark")
        ids = {binding_id for _, _, binding_id in app.screen.rows}  # type: ignore[attr-defined]
        assert {"detail.retry", "detail.job"} <= ids


async def test_the_new_keys_can_be_remapped(
    emulator: Emulator, store: Store, clock: ManualClock, tmp_path: Path, client: anthropic.AsyncAnthropic
) -> None:
    settings = Settings(poll_interval=3600.0, keymap={"dashboard.submit": "N"})
    app = make_app(connect=connect_to(emulator), settings=settings, store=store, clock=clock)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        await pilot.press("N")
        assert isinstance(app.screen, SubmitScreen)


# ----------------------------------------------------------------------------------------- hostile


async def test_hostile_label_and_file_name_are_never_markup(
    app: BatchboardApp, tmp_path: Path, store: Store
) -> None:
    path = write_requests(tmp_path / f"{HOSTILE}.jsonl", 3)  # HOSTILE's "/" makes folders: still hostile
    assert HOSTILE in str(path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        await pilot.press("n")
        screen = app.screen
        assert isinstance(screen, SubmitScreen)
        screen.query_one("#path", Input).value = str(path)  # typed, the escape byte would close the screen
        screen.query_one("#label", Input).value = HOSTILE
        screen.query_one("#path", Input).focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.ready)
        assert "[@click=app.quit]x[/]" in report_text(screen)
        await pilot.press("y")
        await wait_until(pilot, lambda: len(app.book.batches) == 1)
        (batch_id,) = app.book.batches
        assert app.book.label(batch_id) == SHOWN
        assert str(table_of(app).get_cell(batch_id, "label")).startswith("[/] [@click=app.quit]x[/]")
        await pilot.press("slash", *"list[int]")
        await pilot.pause()
        assert table_of(app).row_count == 1
        await pilot.press("escape")
        await select(pilot, batch_id)
        await pilot.press("enter")
        text = detail_text(app)
        assert "[@click=app.quit]x[/] list[int]" in text
        assert str(path.resolve()).split("\x1b")[0] in text
        await pilot.pause()
        assert app.is_running  # nothing was clicked, nothing crashed


# ------------------------------------------------------------------------------------ reconciliation


async def test_a_submission_whose_answer_was_lost_is_recovered_at_start_not_resent(
    app: BatchboardApp, store: Store, tmp_path: Path, client: anthropic.AsyncAnthropic, clock: ManualClock
) -> None:
    path = write_requests(tmp_path / "lost.jsonl", 3)
    submission = prepare_file(store, validate_file(path), label=HOSTILE, clock=clock)
    store.execute(
        "UPDATE submission_chunks SET state = 'sending', sent_at = ? WHERE submission_id = ?",
        (to_db_time(clock.now()), submission.id),
    )
    requests: Any = _chunk_requests(store, submission.id, 0)
    created = await client.messages.batches.create(requests=requests)  # sent; then the process died
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        title = "Submission recovered, unverified"
        await wait_until(pilot, lambda: any(n.title == title for n in app._notifications))
        (note,) = [n for n in app._notifications if n.title == title]
        assert f"of submission {submission.id}: recovered, unverified" in note.message
        assert created.id in note.message
        await wait_until(pilot, lambda: created.id in app.book.batches)
        assert app.book.label(created.id) == SHOWN
        assert app.is_running
    assert [b.id async for b in client.messages.batches.list()] == [created.id]  # not sent again
