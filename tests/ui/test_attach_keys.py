"""Pilot tests for `a` (link the source file of a batch sent elsewhere) from the table and the detail screen,
and `J` (the job view) from the table, against the real emulator on a shared ManualClock.

The batches here are created straight through the SDK, as another tool would: batchboard stores nothing
for them until a file is attached.
"""

from __future__ import annotations

import re
from pathlib import Path

import anthropic
import orjson
import pytest
from tests.conftest import HOSTILE, SHOWN
from tests.ui.conftest import (
    FAILING_WORLD,
    SIZE,
    back,
    connect_to,
    detail_text,
    first_round,
    report_text,
    select,
    until_ended,
    wait_until,
)
from textual.pilot import Pilot
from textual.widgets import Input, Static

from batchboard.core.clock import ManualClock
from batchboard.core.config import Settings
from batchboard.core.results.index import ResultsIndex
from batchboard.core.results.schema import RETRYABLE_ERRORS
from batchboard.core.store import Store
from batchboard.core.submit.attach import attach_report, local_sources, result_custom_ids
from batchboard.core.submit.intents import (
    SubmitError,
    Submitter,
    prepare_file,
    prepare_requests,
    stored_requests,
    submission_for_batch,
)
from batchboard.core.submit.validate import validate_file
from batchboard.emulator import Emulator
from batchboard.emulator.faults import Fault
from batchboard.ui.app import BatchboardApp, make_app
from batchboard.ui.screens.attach import AttachScreen
from batchboard.ui.screens.detail import DetailScreen
from batchboard.ui.screens.help import HelpScreen
from batchboard.ui.screens.job import JobScreen
from batchboard.ui.screens.submit import RetryScreen

MODEL = "claude-haiku-5-5"


EMULATOR_SETTINGS = FAILING_WORLD


def params(i: int) -> dict[str, object]:
    return {"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": f"Ticket {i}"}]}


async def sent_elsewhere(client: anthropic.AsyncAnthropic, count: int) -> str:
    """A batch of req-0 … req-{count-1} created by another tool: nothing stored locally."""
    requests = [{"custom_id": f"req-{i}", "params": params(i)} for i in range(count)]
    batch = await client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
    return batch.id


def write_file(path: Path, custom_ids: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [orjson.dumps({"custom_id": cid, "params": params(n)}) for n, cid in enumerate(custom_ids)]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def retryable_failures(store: Store, batch_id: str) -> set[str]:
    rows = ResultsIndex(store).outcomes(batch_id)
    return {
        cid
        for cid, result_type, error_type, _ in rows
        if (result_type == "errored" and error_type in RETRYABLE_ERRORS) or result_type == "expired"
    }


async def open_attach(pilot: Pilot[None], app: BatchboardApp) -> AttachScreen:
    await pilot.press("a")
    await wait_until(pilot, lambda: isinstance(app.screen, AttachScreen))
    screen = app.screen
    assert isinstance(screen, AttachScreen)
    return screen


async def link(pilot: Pilot[None], screen: AttachScreen, path: Path | str) -> str:
    """Put `path` in the input (typing it would turn an escape byte into the escape key), press enter,
    wait for the worker; returns the report as shown."""
    path_input = screen.query_one("#path", Input)
    path_input.value = str(path)
    path_input.focus()
    await pilot.press("enter")
    await wait_until(pilot, lambda: not screen.busy, limit=30)
    await pilot.pause()
    return report_text(screen)


async def wait_kinds(pilot: Pilot[None], app: BatchboardApp) -> None:
    await wait_until(pilot, lambda: app.controller.sources is not None)
    await pilot.pause()


# ------------------------------------------------------------------------------------------- table


async def test_a_from_the_table_links_a_file_reports_missing_and_extra_ids_then_R_retries(
    app: BatchboardApp, store: Store, tmp_path: Path, client: anthropic.AsyncAnthropic, clock: ManualClock
) -> None:
    batch_id = await sent_elsewhere(client, 24)
    in_file = [f"req-{i}" for i in range(20)] + ["extra-1", "extra-2"]  # req-20..23 missing
    path = write_file(tmp_path / "source.jsonl", in_file)
    clock.advance(120)  # it ended before batchboard started: its results are not here
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        await wait_kinds(pilot, app)
        await select(pilot, batch_id)
        assert app.book.batches[batch_id].is_ended and result_custom_ids(store, batch_id) is None
        assert app.dashboard.check_action("attach", ()) is True  # sent elsewhere: `a` applies
        footer_keys = {b.binding.key for b in app.screen.active_bindings.values()}
        assert "a" in footer_keys and "J" not in footer_keys  # no retries yet: no job to show
        assert "Attach" in {c.title for c in app.get_system_commands(app.screen)}

        screen = await open_attach(pilot, app)
        text = await link(pilot, screen, path)  # the results are fetched first, to compare custom_ids
        outcome = screen.outcome
        assert outcome is not None, text
        assert outcome.requests == 22 and outcome.compared, text
        assert outcome.missing == ["req-20", "req-21", "req-22", "req-23"]
        assert outcome.extra == ["extra-1", "extra-2"]
        # How many of the file's requests match the batch, and how many do not, not just "Linked 22".
        assert f"Linked {path} to {batch_id}: 22 requests (20 in the batch, 2 not in it)." in text
        assert "4 custom_ids of the batch are not in the file (their failures cannot be retried):" in text
        assert "  req-20" in text and "2 custom_ids in the file are not in the batch:" in text
        assert "escape, then R: resend the batch's failed items from this file." in text
        assert any(n.title == "Source file linked" for n in app._notifications)
        assert set(stored_requests(store, batch_id)) == set(in_file)
        # A file with none of the batch's custom_ids is the wrong file: refused, the link stays.
        text = await link(pilot, screen, write_file(tmp_path / "wrong.jsonl", ["other-1", "other-2"]))
        assert "none of the 2 custom_ids in" in text and "nothing was linked (is it the right file?)" in text
        text = await link(pilot, screen, write_file(tmp_path / "wrong-one.jsonl", ["other-1"]))
        assert "the one custom_id in" in text and f"is not in {batch_id}: nothing was linked" in text
        assert set(stored_requests(store, batch_id)) == set(in_file)
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.dashboard)
        assert app.dashboard.check_action("attach", ()) is True  # a new file may replace it

        # `R` now offers the failed items that are in the file; the ones it lacks are reported.
        failed = retryable_failures(store, batch_id)
        assert failed - {"req-20", "req-21", "req-22", "req-23"}, "the emulator should fail some in the file"
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(app.screen, RetryScreen) and app.screen.plan is not None)
        retry = app.screen
        assert isinstance(retry, RetryScreen) and retry.plan is not None
        assert {cid for cid, _ in retry.plan.requests} == failed - set(outcome.missing)
        assert set(retry.plan.missing) == failed & set(outcome.missing)
        await pilot.press("escape")

        # The detail says where the requests came from.
        await select(pilot, batch_id)
        await pilot.press("enter")
        assert f"requests linked from {path.resolve()}" in detail_text(app)


async def test_J_from_the_table_opens_the_job_view_where_there_is_a_job(
    app: BatchboardApp, store: Store, tmp_path: Path, client: anthropic.AsyncAnthropic, clock: ManualClock
) -> None:
    lone = await sent_elsewhere(client, 2)
    path = write_file(tmp_path / "ours.jsonl", ["req-0", "req-1"])
    submission = prepare_file(store, validate_file(path), clock=clock)
    (parent,) = (await Submitter(store, client, clock).send(submission.id)).batch_ids
    resend = prepare_requests(
        store, stored_requests(store, parent, ["req-1"]).items(), parent_batch_id=parent
    )
    (child,) = (await Submitter(store, client, clock).send(resend.id)).batch_ids
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        await wait_until(
            pilot, lambda: app.controller.sources is not None and child in app.controller.sources.kinds
        )
        await select(pilot, lone)
        assert app.dashboard.check_action("job", ()) is False  # one batch, no retries: no job to show
        await select(pilot, parent)
        assert app.dashboard.check_action("job", ()) is True
        assert "J" in {b.binding.key for b in app.screen.active_bindings.values()}
        await select(pilot, child)
        await pilot.press("J")
        await wait_until(pilot, lambda: isinstance(app.screen, JobScreen) and app.screen.job is not None)
        job = app.screen
        assert isinstance(job, JobScreen) and job.batch_id == child
        text = "\n".join(str(s.render()) for s in job.query("#job Static").results(Static))
        assert f"{parent}  original" in text and f"{child}  retry of {parent}" in text and lone not in text
        await pilot.press("escape")
        assert app.screen is app.dashboard
        await pilot.press("enter")  # the detail follows the same rule
        assert isinstance(app.screen, DetailScreen) and app.screen.check_action("job", ()) is True
        await pilot.press("escape")
        # No batch selected (a filter that matches nothing): neither key.
        await pilot.press("slash", *"nothing-matches")
        await pilot.pause()
        assert app.dashboard.check_action("job", ()) is False
        assert app.dashboard.check_action("attach", ()) is False


# ------------------------------------------------------------------------------------------ detail


async def test_a_from_the_detail_screen_lists_every_problem_stores_nothing_then_links(
    app: BatchboardApp, store: Store, tmp_path: Path, client: anthropic.AsyncAnthropic, clock: ManualClock
) -> None:
    batch_id = await sent_elsewhere(client, 16)
    broken = tmp_path / "broken.jsonl"
    broken.write_text(
        "\n".join(
            [
                orjson.dumps({"custom_id": "req-0", "params": params(0)}).decode(),
                '{"custom_id": "req-1", "params": ',  # not JSON
                orjson.dumps({"custom_id": "req-2"}).decode(),  # no params
            ]
        )
        + "\n"
    )
    good = write_file(tmp_path / "good.jsonl", [f"req-{i}" for i in range(16)])
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        await until_ended(pilot, app, batch_id)
        await select(pilot, batch_id)
        await pilot.press("enter")
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        assert detail.check_action("attach", ()) is True
        assert "press a to link its file" in detail_text(app)
        screen = await open_attach(pilot, app)

        # A missing file, then a broken one: said plainly, nothing stored.
        assert "no such file" in await link(pilot, screen, tmp_path / "nope.jsonl")
        text = await link(pilot, screen, broken)
        assert f"{broken}:2:" in text and f"{broken}:3:" in text  # every problem, with its line
        assert "2 errors, 0 warnings: nothing was linked" in text
        assert screen.outcome is None and submission_for_batch(store, batch_id) is None

        text = await link(pilot, screen, good)
        assert screen.outcome is not None and screen.outcome.missing == [] and screen.outcome.extra == []
        assert "The file has exactly the batch's custom_ids." in text
        await pilot.press("escape")
        assert app.screen is detail
        await wait_until(pilot, lambda: detail.lineage is not None and detail.lineage.origin.kind == "attach")
        assert f"requests linked from {good.resolve()}" in detail_text(app)

        failed = retryable_failures(store, batch_id)
        assert failed, "the emulator should fail some requests"
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(app.screen, RetryScreen) and app.screen.ready, limit=30)
        retry = app.screen
        assert isinstance(retry, RetryScreen) and retry.plan is not None
        assert {cid for cid, _ in retry.plan.requests} == failed and not retry.plan.missing


async def test_a_is_not_offered_for_a_batch_batchboard_sent_and_is_documented_and_remappable(
    emulator: Emulator, store: Store, tmp_path: Path, client: anthropic.AsyncAnthropic, clock: ManualClock
) -> None:
    path = write_file(tmp_path / "ours.jsonl", ["req-0", "req-1"])
    submission = prepare_file(store, validate_file(path), clock=clock)
    (ours,) = (await Submitter(store, client, clock).send(submission.id)).batch_ids
    theirs = await sent_elsewhere(client, 2)
    settings = Settings(poll_interval=3600.0, keymap={"dashboard.attach": "A", "detail.attach": "A"})
    app = make_app(connect=connect_to(emulator), settings=settings, store=store, clock=clock)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        await wait_kinds(pilot, app)
        await select(pilot, ours)
        assert app.dashboard.check_action("attach", ()) is False
        assert "A" not in {b.binding.key for b in app.screen.active_bindings.values()}
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        assert app.screen.check_action("attach", ()) is False
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        rows = {binding_id: keys for keys, _, binding_id in app.screen.rows}
        assert rows.get("detail.attach") == "A" and "detail.job" in rows
        await back(pilot)
        assert app.screen is app.dashboard

        await select(pilot, theirs)
        assert app.dashboard.check_action("attach", ()) is True
        await pilot.press("question_mark")
        rows = {binding_id: keys for keys, _, binding_id in app.screen.rows}  # type: ignore[attr-defined]
        assert rows.get("dashboard.attach") == "A" and "dashboard.job" in rows
        await pilot.press("escape")
        await pilot.press("a")  # remapped: `a` does nothing now
        assert app.screen is app.dashboard
        await pilot.press("A")
        await wait_until(pilot, lambda: isinstance(app.screen, AttachScreen))


async def test_results_that_cannot_be_fetched_are_said_plainly_and_the_file_is_still_linked(
    app: BatchboardApp,
    emulator: Emulator,
    store: Store,
    tmp_path: Path,
    client: anthropic.AsyncAnthropic,
    clock: ManualClock,
) -> None:
    batch_id = await sent_elsewhere(client, 4)
    path = write_file(tmp_path / "source.jsonl", [f"req-{i}" for i in range(4)])
    clock.advance(120)  # ended before batchboard started: attach has to fetch the results
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        await select(pilot, batch_id)
        screen = await open_attach(pilot, app)
        emulator.faults.add(
            Fault(kind="api_error", method="GET", path=f"/v1/messages/batches/{batch_id}/results", times=3)
        )
        text = await link(pilot, screen, path)
        assert "Could not fetch the results (" in text and "custom_ids not compared" in text
        assert screen.outcome is not None and not screen.outcome.compared
        assert f"Linked {path} to {batch_id}: 4 requests." in text  # not compared: no match count
        assert app.is_running


# ----------------------------------------------------------------------------------------- hostile


async def test_hostile_file_name_and_custom_ids_are_never_markup(
    app: BatchboardApp, store: Store, tmp_path: Path, client: anthropic.AsyncAnthropic
) -> None:
    batch_id = await sent_elsewhere(client, 2)
    folder = tmp_path / HOSTILE  # HOSTILE's "/" makes folders: still hostile
    bad = folder / "bad.jsonl"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_bytes(orjson.dumps({"custom_id": HOSTILE, "params": params(0)}) + b"\n")
    good = write_file(folder / f"{HOSTILE[-8:]}.jsonl", ["req-0", "req-1"])
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        await select(pilot, batch_id)
        await wait_kinds(pilot, app)
        screen = await open_attach(pilot, app)
        text = await link(pilot, screen, bad)
        assert "[@click=app.quit]x[/]" in text and "\x1b" not in text  # the path and the id, as text
        assert "nothing was linked" in text and submission_for_batch(store, batch_id) is None
        text = await link(pilot, screen, good)
        assert screen.outcome is not None and screen.outcome.requests == 2
        assert SHOWN.split(" [bold]")[0] in text  # the path as typed, escapes made visible
        assert "not ended" in text  # still running: nothing to compare yet
        note = next(n for n in app._notifications if n.title == "Source file linked")
        assert "[@click=app.quit]x[/]" in note.message
        await pilot.press("escape")
        await pilot.press("enter")
        assert "[@click=app.quit]x[/] list[int]" in detail_text(app)
        await pilot.pause()
        assert app.is_running  # nothing was clicked, nothing crashed


# -------------------------------------------------------------------------------------------- core


async def test_core_attach_refuses_what_batchboard_sent_and_replaces_an_earlier_attach(
    store: Store, tmp_path: Path, client: anthropic.AsyncAnthropic, clock: ManualClock
) -> None:
    path = write_file(tmp_path / "ours.jsonl", ["req-0"])
    submission = prepare_file(store, validate_file(path), clock=clock)
    (ours,) = (await Submitter(store, client, clock).send(submission.id)).batch_ids
    with pytest.raises(SubmitError, match="submitted by batchboard"):
        attach_report(store, ours, validate_file(path), clock=clock)
    theirs = await sent_elsewhere(client, 2)
    assert result_custom_ids(store, theirs) is None
    first = attach_report(store, theirs, validate_file(write_file(tmp_path / "a.jsonl", ["req-0"])))
    second = attach_report(store, theirs, validate_file(write_file(tmp_path / "b.jsonl", ["req-1"])))
    assert not first.compared and second.requests == 1
    assert set(stored_requests(store, theirs)) == {"req-1"}
    sources = local_sources(store)
    assert sources.kinds == {ours: "file", theirs: "attach"} and not sources.retried
    assert not sources.can_attach(ours) and sources.can_attach(theirs) and sources.can_attach("msgbatch_x")
    assert not sources.in_job(ours)
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{}\n")  # no custom_id, no params
    with pytest.raises(SubmitError, match=f"^{re.escape(str(broken))}: 2 errors; nothing was attached$"):
        attach_report(store, theirs, validate_file(broken))
    broken.write_text("{not json\n")
    with pytest.raises(SubmitError, match=f"^{re.escape(str(broken))}: 1 error; nothing was attached$"):
        attach_report(store, theirs, validate_file(broken))
    assert set(stored_requests(store, theirs)) == {"req-1"}
