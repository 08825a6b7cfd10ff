"""Pilot tests for the wording of counts and file problems: one batch is "1 batch", a directory given to `n`
says so (with no stale "Checking …" above it), and the retry screen after an attach says why fewer requests
are sent than failed items were chosen."""

from __future__ import annotations

from pathlib import Path

import anthropic
import orjson
from tests.ui.conftest import (
    FAILING_WORLD,
    SIZE,
    first_round,
    report_text,
    select,
    until_ended,
    wait_until,
)

from batchboard.core.results.index import ResultsIndex
from batchboard.core.results.schema import RETRYABLE_ERRORS
from batchboard.core.store import Store
from batchboard.core.submit.attach import attach_report
from batchboard.core.submit.validate import validate_file
from batchboard.ui.app import BatchboardApp
from batchboard.ui.screens.submit import RetryScreen, SubmitScreen
from batchboard.ui.widgets.summary import SummaryBar

EMULATOR_SETTINGS = FAILING_WORLD
MODEL = "claude-haiku-5-5"


def params(i: int) -> dict[str, object]:
    return {"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": f"Ticket {i}"}]}


async def sent_elsewhere(client: anthropic.AsyncAnthropic, count: int) -> str:
    requests = [{"custom_id": f"req-{i}", "params": params(i)} for i in range(count)]
    batch = await client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
    return batch.id


async def test_one_batch_with_one_request_is_said_in_the_singular(
    app: BatchboardApp, client: anthropic.AsyncAnthropic
) -> None:
    await sent_elsewhere(client, 1)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        summary = str(app.dashboard.query_one(SummaryBar).render())
        assert "1 active · 1 request in flight · 0 ended today" in summary
        assert "1 of 1 batch" in str(app.dashboard.query_one("#view").render())


async def test_a_directory_given_to_n_says_so_and_nothing_stale_stays(
    app: BatchboardApp, tmp_path: Path
) -> None:
    folder = tmp_path / "requests.jsonl"  # a directory with a file's name: the message must say what it is
    folder.mkdir()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        await pilot.press("n")
        screen = app.screen
        assert isinstance(screen, SubmitScreen)
        screen.query_one("#path").value = str(folder)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_until(pilot, lambda: "directory" in report_text(screen))
        # the screen's checks are over (wait_for_complete([]) would wait for every worker: the poll loop)
        await wait_until(pilot, lambda: not any(w.node is screen and not w.is_finished for w in app.workers))
        await pilot.pause()
        assert report_text(screen) == f"{folder}: a directory, not a file"
        screen.query_one("#path").value = str(tmp_path / "nope.jsonl")  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_until(pilot, lambda: "no such file" in report_text(screen))
        assert report_text(screen) == f"{tmp_path / 'nope.jsonl'}: no such file"


async def test_retry_after_attach_says_how_many_failed_items_have_a_request(
    app: BatchboardApp, store: Store, tmp_path: Path, client: anthropic.AsyncAnthropic
) -> None:
    batch_id = await sent_elsewhere(client, 40)
    source = tmp_path / "first-ten.jsonl"  # the file has only req-0 … req-9 of the batch's 40
    lines = [orjson.dumps({"custom_id": f"req-{i}", "params": params(i)}) for i in range(10)]
    source.write_bytes(b"\n".join(lines) + b"\n")
    attach_report(store, batch_id, validate_file(source))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        await until_ended(pilot, app, batch_id)
        await select(pilot, batch_id)
        await pilot.press("R")
        await wait_until(
            pilot, lambda: isinstance(app.screen, RetryScreen) and app.screen.plan is not None, 30
        )
        screen = app.screen
        assert isinstance(screen, RetryScreen) and screen.plan is not None
        failed = {
            cid
            for cid, result_type, error_type, _unusable in ResultsIndex(store).outcomes(batch_id)
            if result_type == "expired" or error_type in RETRYABLE_ERRORS
        }
        in_file = {cid for cid in failed if int(cid.split("-")[1]) < 10}
        assert in_file and failed - in_file, "the seeded world should fail requests on both sides"
        text = report_text(screen)
        assert (
            f"{len(failed)} failed items chosen: {len(in_file)} "
            f"{'has' if len(in_file) == 1 else 'have'} a stored request, {len(failed - in_file)} "
            f"{'is' if len(failed - in_file) == 1 else 'are'} not in the attached file first-ten.jsonl "
            "(a on the batch links another file)"
        ) in text
        requests = "1 request" if len(in_file) == 1 else f"{len(in_file)} requests"
        assert f"What will be sent ({requests}):" in text
