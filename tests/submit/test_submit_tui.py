"""Pilot tests for the submit (`n`) and retry (`R`) screens against the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import orjson
import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.screen import ModalScreen
from textual.widgets import Static

from batchboard.core.clock import ManualClock
from batchboard.core.config import Settings
from batchboard.core.results.index import ResultsIndex
from batchboard.core.results.ingest import ingest
from batchboard.core.results.schema import RETRYABLE_ERRORS
from batchboard.core.store import Store
from batchboard.core.submit.intents import Submitter, load_submission, prepare_file, submission_for_batch
from batchboard.core.submit.validate import validate_file
from batchboard.emulator import Emulator, EmulatorSettings
from batchboard.ui.screens.submit import RetryScreen, SubmitScreen, complete_path
from conftest import HOSTILE

from .conftest import API_KEY, write_jsonl

CORPUS = Path(__file__).parent / "corpus"
SIZE = (140, 50)


class Host(App[None]):
    """A bare app that shows one screen and keeps what it was dismissed with."""

    def __init__(self, screen: ModalScreen[Any]) -> None:
        super().__init__()
        self.screen_under_test = screen
        self.result: list[str] | str | None = "not dismissed"

    def on_mount(self) -> None:
        self.push_screen(self.screen_under_test, callback=self.done)

    def done(self, result: Any) -> None:
        self.result = result


async def settle(pilot: Pilot[None], until: Callable[[], bool]) -> None:
    """Wait for chained workers (check, then estimate, then send) until `until()` holds (10 s at most)."""
    deadline = asyncio.get_running_loop().time() + 10.0
    while not until():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting for the screen"
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.05)


def report_text(screen: SubmitScreen | RetryScreen) -> str:
    return "\n".join(str(static.render()) for static in screen.query("#report Static").results(Static))


@pytest.fixture
def emulator(clock: ManualClock):  # type: ignore[no-untyped-def]
    emu = Emulator(EmulatorSettings(seed=11, demo=False, batch_duration=60.0, error_rate=0.5), clock=clock)
    with emu.running_in_thread():
        yield emu


async def test_n_lists_every_problem_of_a_broken_file_and_cannot_send(
    store: Store, client: anthropic.AsyncAnthropic, clock: ManualClock
) -> None:
    screen = SubmitScreen(store, lambda: client, Settings(), clock, path=str(CORPUS / "mixed.jsonl"))
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await settle(pilot, lambda: "nothing will be sent" in report_text(screen))
        text = report_text(screen)
        expected = (CORPUS / "mixed.expected").read_text(encoding="utf-8")
        for line in expected.splitlines():
            assert line.replace("mixed.jsonl:", f"{CORPUS / 'mixed.jsonl'}:") in text
        assert screen.check_action("send", ()) is False
        await pilot.press("y")
        await pilot.pause()
    assert [b async for b in client.messages.batches.list()] == []


async def test_n_checks_estimates_and_sends_a_good_file(
    tmp_path: Path, store: Store, client: anthropic.AsyncAnthropic, clock: ManualClock
) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", 6)
    screen = SubmitScreen(store, lambda: client, Settings(), clock)
    app = Host(screen)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.click("#path")
        await pilot.press(*str(path))
        await pilot.click("#label")
        await pilot.press(*"from the tui")
        await pilot.press("enter")
        await settle(pilot, lambda: screen.ready)
        text = report_text(screen)
        assert "6 requests OK, to be sent as 1 batch" in text
        assert "count_tokens for a sample of 6 of 6 requests" in text and "cost at batch price" in text
        await pilot.press("y")
        await settle(pilot, lambda: app.result != "not dismissed")
    batches = [b async for b in client.messages.batches.list()]
    assert app.result == [b.id for b in batches] and len(batches) == 1
    assert store.label(batches[0].id) == "from the tui"


async def test_hostile_text_in_a_file_is_shown_as_text(
    tmp_path: Path, store: Store, client: anthropic.AsyncAnthropic, clock: ManualClock
) -> None:
    path = tmp_path / "hostile[bold].jsonl"
    path.write_bytes(orjson.dumps({"custom_id": HOSTILE, "params": {"model": HOSTILE}}) + b"\n")
    screen = SubmitScreen(store, lambda: client, Settings(), clock, path=str(path))
    async with Host(screen).run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await settle(pilot, lambda: "nothing will be sent" in report_text(screen))
        assert "[@click=app.quit]x[/]" in report_text(screen)


async def test_R_sends_exactly_the_retryable_failures_as_a_child_batch(
    tmp_path: Path, store: Store, client: anthropic.AsyncAnthropic, clock: ManualClock, emulator: Emulator
) -> None:
    report = validate_file(write_jsonl(tmp_path / "in.jsonl", 12))
    first = await Submitter(store, client, clock).send(prepare_file(store, report, clock=clock).id)
    (parent,) = first.batch_ids
    clock.advance(120)
    with anthropic.Anthropic(api_key=API_KEY, base_url=emulator.base_url, max_retries=0) as sync:
        await asyncio.to_thread(ingest, parent, ResultsIndex(store), client=sync)
    failed = {
        cid
        for cid, _, etype, _ in ResultsIndex(store).outcomes(parent, problems_only=True)
        if etype in RETRYABLE_ERRORS or not etype
    }
    assert failed

    screen = RetryScreen(store, lambda: client, Settings(), clock, parent)
    app = Host(screen)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot, lambda: screen.ready)
        assert "retry " in report_text(screen)
        await pilot.press("y")
        await settle(pilot, lambda: app.result != "not dismissed")
    assert isinstance(app.result, list)
    (child,) = app.result
    submission = submission_for_batch(store, child)
    assert submission is not None and submission.parent_batch_id == parent
    clock.advance(120)
    resent = {line.custom_id async for line in await client.messages.batches.results(child)}
    assert resent == failed


async def test_R_without_results_says_to_download_them_first(
    store: Store, client: anthropic.AsyncAnthropic, clock: ManualClock
) -> None:
    screen = RetryScreen(store, lambda: client, Settings(), clock, "msgbatch_notdownloaded")
    async with Host(screen).run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: "download its results first" in report_text(screen))
        assert screen.check_action("send", ()) is False


def test_path_completion(tmp_path: Path) -> None:
    (tmp_path / "requests-2026.jsonl").write_text("")
    (tmp_path / "requests-dir").mkdir()
    (tmp_path / "notes.txt").write_text("")
    assert complete_path(str(tmp_path / "requests-2")) == str(tmp_path / "requests-2026.jsonl")
    assert complete_path(str(tmp_path / "requests-d")) == str(tmp_path / "requests-dir") + "/"
    assert complete_path(str(tmp_path / "no")) is None  # .txt files are not offered


async def test_the_wiring_helpers_open_the_screens_on_the_real_app(
    tmp_path: Path, store: Store, clock: ManualClock, emulator: Emulator
) -> None:
    from batchboard.core.gateway.batches import BatchApi
    from batchboard.core.gateway.client import Connection, make_client
    from batchboard.ui.app import make_app

    def connect() -> BatchApi:
        assert emulator.base_url is not None
        return BatchApi(make_client(Connection(base_url=emulator.base_url, api_key=API_KEY, max_retries=0)))

    app = make_app(connect=connect, store=store, clock=clock, settings=Settings(poll_interval=3600.0))
    path = write_jsonl(tmp_path / "in.jsonl", 2)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot, lambda: app.controller.api is not None)
        app.controller.open_submit(path=str(path))
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SubmitScreen)
        await pilot.press("enter")
        await settle(pilot, lambda: screen.ready)
        await pilot.press("y")
        await settle(pilot, lambda: not isinstance(app.screen, SubmitScreen))
        app.controller.open_retry("msgbatch_unknown")
        await pilot.pause()
        assert isinstance(app.screen, RetryScreen)


async def test_reconcile_on_start_recovers_a_batch_whose_answer_was_lost(
    tmp_path: Path, store: Store, client: anthropic.AsyncAnthropic, clock: ManualClock
) -> None:

    from batchboard.core.store import to_db_time
    from batchboard.core.submit.intents import _chunk_requests
    from batchboard.ui.screens.submit import reconcile_on_start

    submission = prepare_file(store, validate_file(write_jsonl(tmp_path / "in.jsonl", 2)), clock=clock)
    store.execute(
        "UPDATE submission_chunks SET state = 'sending', sent_at = ? WHERE submission_id = ?",
        (to_db_time(clock.now()), submission.id),
    )
    requests: Any = _chunk_requests(store, submission.id, 0)
    created = await client.messages.batches.create(requests=requests)  # sent; then the process died
    (notice,) = await reconcile_on_start(store, client, clock)
    assert notice.title == "Submission recovered, unverified" and notice.ask is None
    assert notice.message.startswith(f"batch 1 of 1 of submission {submission.id}: recovered, unverified")
    assert created.id in notice.message
    assert await reconcile_on_start(store, client, clock) == []  # unverified until its results are here


async def test_the_job_view_shows_the_chain_latest_outcomes_and_cost(
    tmp_path: Path, store: Store, client: anthropic.AsyncAnthropic, clock: ManualClock, emulator: Emulator
) -> None:
    from batchboard.core.jobs import Selection, job, plan_retry
    from batchboard.core.submit.intents import prepare_requests
    from batchboard.ui.screens.job import JobScreen

    submitter = Submitter(store, client, clock)
    report = validate_file(write_jsonl(tmp_path / "in.jsonl", 10))
    (parent,) = (await submitter.send(prepare_file(store, report, clock=clock).id)).batch_ids
    clock.advance(120)
    with anthropic.Anthropic(api_key=API_KEY, base_url=emulator.base_url, max_retries=0) as sync:
        await asyncio.to_thread(ingest, parent, ResultsIndex(store), client=sync)
    plan = plan_retry(store, parent, Selection.parse(None))
    retry = prepare_requests(store, plan.requests, parent_batch_id=parent, clock=clock)
    (child,) = (await submitter.send(retry.id)).batch_ids  # still running: no results yet

    screen = JobScreen(store, child)
    async with Host(screen).run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: screen.job is not None)
        text = "\n".join(str(s.render()) for s in screen.query("#job Static").results(Static))
        from batchboard.ui.widgets.key_footer import KeyFooter

        footer = screen.query_one(KeyFooter)  # its own keys, as every other screen shows them
        assert footer.shown[0].keys == "esc" and footer.shown[0].description == "Back"
        assert "escape: back" not in "\n".join(str(s.render()) for s in screen.query(Static).results(Static))
    expected = job(store, parent)
    assert f"{parent}  original" in text
    assert f"{child}  retry of {parent}  (results not downloaded)" in text
    assert f"10 requests, {expected.done} done (a usable answer); latest outcomes: " in text
    for kind, count in expected.totals.items():
        assert f"{count:,} {kind}" in text


# ------------------------------------------------------------------------------ recovery in the dashboard


def dashboard_app(emulator: Emulator, store: Store, clock: ManualClock) -> Any:
    from tests.ui.conftest import connect_to

    from batchboard.ui.app import make_app

    settings = Settings(poll_interval=3600.0, fetch_results_days=0)
    return make_app(connect=connect_to(emulator), settings=settings, store=store, clock=clock)


async def test_the_dashboard_says_unverified_shows_it_in_the_detail_and_verifies_it_from_its_results(
    tmp_path: Path, store: Store, client: anthropic.AsyncAnthropic, clock: ManualClock, emulator: Emulator
) -> None:
    from tests.ui.conftest import detail_text, first_round, wait_until

    from .test_submit_crash_safety import crash_after_create

    submission = prepare_file(store, validate_file(write_jsonl(tmp_path / "in.jsonl", 3)), clock=clock)
    created = await crash_after_create(store, client, clock, submission.id)
    app = dashboard_app(emulator, store, clock)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        title = "Submission recovered, unverified"
        await wait_until(pilot, lambda: any(n.title == title for n in app._notifications))
        await wait_until(pilot, lambda: created.id in app.book.batches)
        app.controller.open_detail(created.id)
        await pilot.pause()
        text = detail_text(app)
        assert "Recovered" in text and "recovered, unverified" in text

        clock.advance(120)  # it ends; its results come (here, fetched by hand) and it is checked
        with anthropic.Anthropic(api_key=API_KEY, base_url=emulator.base_url, max_retries=0) as sync:
            ingest(created.id, ResultsIndex(store), client=sync)
        app.controller.results_ready(created.id)
        await wait_until(
            pilot, lambda: any(n.title == "Recovered batch verified" for n in app._notifications)
        )
        app.screen.refresh_view()  # type: ignore[attr-defined]
        await wait_until(pilot, lambda: "recovered, verified" in detail_text(app))


async def test_the_dashboard_asks_before_sending_again_a_chunk_whose_batch_was_never_found(
    tmp_path: Path, store: Store, client: anthropic.AsyncAnthropic, clock: ManualClock, emulator: Emulator
) -> None:
    from tests.ui.conftest import first_round, wait_until

    from batchboard.emulator import Fault
    from batchboard.ui.screens.submit import ResendScreen

    submission = prepare_file(store, validate_file(write_jsonl(tmp_path / "in.jsonl", 2)), clock=clock)
    emulator.faults.add(Fault(kind="drop_before", method="POST", path="/v1/messages/batches", times=1))
    with pytest.raises(Exception, match="most likely never created"):
        await Submitter(store, client, clock).send(submission.id)

    for choice, sent in (("w", 0), ("r", 1)):  # keep waiting (asked again next start), then re-send
        app = dashboard_app(emulator, store, clock)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await first_round(pilot)
            await wait_until(  # the screen, then its text: it composes after it is pushed
                pilot, lambda app=app: isinstance(app.screen, ResendScreen) and bool(app.screen.query(Static))
            )
            shown = "\n".join(str(s.render()) for s in app.screen.query(Static).results(Static))
            assert "no batch created after the send began" in shown and "recovered" not in shown
            await pilot.press(choice)
            if sent:
                await wait_until(
                    pilot, lambda app=app: any(n.title == "Sent again" for n in app._notifications)
                )
            await pilot.pause()
        assert len([b async for b in client.messages.batches.list()]) == sent
    assert load_submission(store, submission.id).complete


async def test_a_429_on_create_counts_down_on_the_submit_screen_then_sends(
    tmp_path: Path, store: Store, client: anthropic.AsyncAnthropic, clock: ManualClock, emulator: Emulator
) -> None:
    from batchboard.emulator import Fault

    path = write_jsonl(tmp_path / "in.jsonl", 2)
    emulator.faults.add(
        Fault(kind="rate_limit", method="POST", path="/v1/messages/batches", retry_after_ms=1_200)
    )
    screen = SubmitScreen(store, lambda: client, Settings(), clock, path=str(path))
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await settle(pilot, lambda: screen.ready)
        await pilot.press("y")
        deadline = asyncio.get_running_loop().time() + 10.0
        while "sending again in 2 s" not in report_text(screen):
            assert asyncio.get_running_loop().time() < deadline, report_text(screen)
            await pilot.pause(0.02)
        assert "Rate limited (HTTP 429): nothing was created" in report_text(screen)
        await settle(pilot, lambda: app.result != "not dismissed")
    assert isinstance(app.result, list) and len(app.result) == 1
    assert len([b async for b in client.messages.batches.list()]) == 1


async def test_at_80x24_the_estimate_is_in_view_with_the_report(
    tmp_path: Path, store: Store, client: anthropic.AsyncAnthropic, clock: ManualClock
) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", 6)
    screen = SubmitScreen(store, lambda: client, Settings(), clock, path=str(path))
    async with Host(screen).run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        await settle(pilot, lambda: screen.ready)
        await pilot.pause()
        assert screen.has_class("-narrow", "-short")  # the dialog takes the whole terminal
        report = screen.query_one("#report")
        in_view = [
            str(line.render())
            for line in report.query(Static).results(Static)
            if report.content_region.contains_region(line.region) and line.region.height
        ]
        assert any("requests OK" in line for line in in_view), in_view
        assert any("cost at batch price" in line for line in in_view), in_view
        assert any("cost at standard price" in line for line in in_view), in_view
