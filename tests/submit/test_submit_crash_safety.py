"""Crash-safe submit against the emulator: a lost create answer is reconciled, never resent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic
import orjson
import pytest

from batchboard.core.clock import ManualClock
from batchboard.core.store import Store, to_db_time
from batchboard.core.submit.intents import (
    SubmitError,
    Submitter,
    _chunk_requests,
    load_submission,
    open_submissions,
    prepare_file,
)
from batchboard.core.submit.jsonl import Limits, iter_chunk
from batchboard.core.submit.recovery import mark_for_resend
from batchboard.core.submit.validate import validate_file
from batchboard.emulator import Emulator, Fault

from .conftest import write_jsonl

CREATE = "/v1/messages/batches"


async def all_batches(client: anthropic.AsyncAnthropic) -> list[anthropic.types.messages.MessageBatch]:
    return [batch async for batch in client.messages.batches.list(limit=100)]


async def result_ids(client: anthropic.AsyncAnthropic, batch_id: str) -> list[str]:
    return [line.custom_id async for line in await client.messages.batches.results(batch_id)]


async def test_a_dropped_create_answer_resolves_to_the_one_batch_it_made(
    tmp_path: Path, store: Store, client: anthropic.AsyncAnthropic, emulator: Emulator, clock: ManualClock
) -> None:
    report = validate_file(write_jsonl(tmp_path / "in.jsonl", 5))
    submission = prepare_file(store, report, label="nightly", clock=clock)
    # The batch IS created, then the connection drops mid-response: the client never learns its id.
    emulator.faults.add(Fault(kind="drop_after", method="POST", path=CREATE, times=1))

    done = await Submitter(store, client, clock).send(submission.id)

    assert done.complete
    (chunk,) = done.chunks
    assert chunk.resolved_by == "reconciled" and chunk.recovery == "unverified"
    batches = await all_batches(client)
    assert [b.id for b in batches] == [chunk.batch_id]  # exactly one batch: nothing was sent twice
    assert store.label(batches[0].id) == "nightly"
    clock.advance(120)
    ids = await result_ids(client, batches[0].id)
    assert sorted(ids) == sorted(f"req-{i}" for i in range(5))  # nothing lost, nothing doubled
    assert open_submissions(store) == []


async def test_the_next_start_finds_a_batch_created_just_before_a_crash(
    tmp_path: Path, store: Store, client: anthropic.AsyncAnthropic, clock: ManualClock
) -> None:
    report = validate_file(write_jsonl(tmp_path / "in.jsonl", 4))
    submission = prepare_file(store, report, clock=clock)
    # The process marked the chunk as sending and sent it, then died before recording the answer.
    store.execute(
        "UPDATE submission_chunks SET state = 'sending', sent_at = ? WHERE submission_id = ?",
        (to_db_time(clock.now()), submission.id),
    )
    requests: Any = _chunk_requests(store, submission.id, 0)
    created = await client.messages.batches.create(requests=requests)
    # Someone else's batch of another size, created in the same window, must not be taken for ours.
    await client.messages.batches.create(requests=requests[:3])
    clock.advance(5)

    submitter = Submitter(store, client, clock)  # a fresh start
    outcomes = await submitter.reconcile()
    assert [(o.outcome, o.batch_id) for o in outcomes] == [("recovered", created.id)]
    assert "recovered, unverified" in outcomes[0].message
    done = await submitter.send(submission.id)  # nothing left to send
    assert done.batch_ids == [created.id]
    assert len(await all_batches(client)) == 2


async def test_a_lost_answer_with_no_batch_is_said_plainly_and_resent_only_when_the_user_says(
    tmp_path: Path, store: Store, client: anthropic.AsyncAnthropic, emulator: Emulator, clock: ManualClock
) -> None:
    report = validate_file(write_jsonl(tmp_path / "in.jsonl", 3))
    submission = prepare_file(store, report, clock=clock)
    emulator.faults.add(Fault(kind="drop_before", method="POST", path=CREATE, times=1))
    submitter = Submitter(store, client, clock)

    with pytest.raises(SubmitError, match=r"no batch created after the send began .* most likely never"):
        await submitter.send(submission.id)
    (chunk,) = load_submission(store, submission.id).chunks
    assert (chunk.state, chunk.recovery, chunk.batch_id) == ("unresolved", "none", None)
    with pytest.raises(SubmitError, match="Nothing was sent twice"):
        await submitter.send(submission.id)  # not sent again on its own, however often it runs
    assert await all_batches(client) == []

    mark_for_resend(store, submission.id, 0)  # the user's choice
    done = await submitter.send(submission.id)
    assert done.complete and done.chunks[0].resolved_by == "response"
    assert len(await all_batches(client)) == 1


@pytest.mark.parametrize(("kind", "status"), [("overloaded", "529"), ("rate_limit_for_too_long", "429")])
async def test_a_refused_create_goes_back_to_pending_and_is_sent_on_resume(
    kind: str,
    status: str,
    tmp_path: Path,
    store: Store,
    client: anthropic.AsyncAnthropic,
    emulator: Emulator,
    clock: ManualClock,
) -> None:
    report = validate_file(write_jsonl(tmp_path / "in.jsonl", 2))
    submission = prepare_file(store, report, clock=clock)
    if kind == "rate_limit_for_too_long":  # a 429 asking for longer than batchboard waits: it stops
        emulator.faults.add(
            Fault(kind="rate_limit", method="POST", path=CREATE, times=1, retry_after_ms=900_000)
        )
    else:
        emulator.faults.add(Fault(kind=kind, method="POST", path=CREATE, times=1))  # type: ignore[arg-type]
    submitter = Submitter(store, client, clock)
    with pytest.raises(
        SubmitError, match=f"was not created: HTTP {status}.*--resume {submission.id}"
    ) as said:
        await submitter.send(submission.id)
    if status == "429":
        assert "asked to wait 900 s, longer than batchboard waits (120 s)" in str(said.value)
    assert load_submission(store, submission.id).chunks[0].state == "pending"
    assert await all_batches(client) == []
    done = await submitter.send(submission.id)
    assert done.complete and len(await all_batches(client)) == 1


async def test_a_big_file_becomes_several_batches_under_one_submission_and_label(
    tmp_path: Path, store: Store, client: anthropic.AsyncAnthropic, clock: ManualClock
) -> None:
    report = validate_file(write_jsonl(tmp_path / "in.jsonl", 7), limits=Limits(max_requests=3))
    submission = prepare_file(store, report, label="big", clock=clock)
    assert [c.request_count for c in submission.chunks] == [3, 3, 1]
    done = await Submitter(store, client, clock).send(submission.id)
    assert done.complete and len(done.batch_ids) == 3
    assert {store.label(b) for b in done.batch_ids} == {"big"}
    clock.advance(120)
    ids = [cid for batch_id in done.batch_ids for cid in await result_ids(client, batch_id)]
    assert sorted(ids) == sorted(f"req-{i}" for i in range(7))


async def test_the_streamed_body_is_exactly_what_chunking_measured(tmp_path: Path, store: Store) -> None:
    from batchboard.core.submit.intents import _chunk_body
    from batchboard.core.submit.jsonl import BODY_OVERHEAD

    path = write_jsonl(tmp_path / "in.jsonl", 2_500)  # more than one page of rows
    report = validate_file(path, limits=Limits(max_requests=2_200))
    submission = prepare_file(store, report)
    for chunk, measured in zip(submission.chunks, report.chunks, strict=True):
        body = b"".join([part async for part in _chunk_body(store, submission.id, chunk.chunk)])
        requests = orjson.loads(body)["requests"]
        assert [r["custom_id"] for r in requests] == [r["custom_id"] for _, r in iter_chunk(path, measured)]
        assert len(body) == measured.body_bytes - BODY_OVERHEAD + len(b'{"requests":[]}')


def test_a_store_opened_before_the_submit_module_was_imported_still_works() -> None:
    import subprocess
    import sys

    code = (
        "from batchboard.core.store import Store\n"
        "store = Store.memory()  # opened before core.submit registered its tables\n"
        "from batchboard.core.submit.intents import open_submissions, stored_requests\n"
        "from batchboard.core.jobs import chain\n"
        "print(stored_requests(store, 'b'), open_submissions(store), chain(store, 'b'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "{} [] ['b']"


async def test_a_lost_answer_and_a_failing_batch_list_is_a_submit_error_not_an_sdk_one(
    tmp_path: Path, store: Store, client: anthropic.AsyncAnthropic, emulator: Emulator, clock: ManualClock
) -> None:
    report = validate_file(write_jsonl(tmp_path / "in.jsonl", 3))
    submission = prepare_file(store, report, clock=clock)
    await crash_after_create(store, client, clock, submission.id)
    emulator.faults.add(Fault(kind="drop_before", method="GET", path=CREATE, times=50))

    with pytest.raises(SubmitError, match="unconfirmed, will reconcile on next start; nothing was sent"):
        await Submitter(store, client, clock).send(submission.id)
    (chunk,) = load_submission(store, submission.id).chunks
    assert chunk.state == "sending"  # kept for the next start to reconcile, never resent blindly

    # The next run, with the list failing again, says the same in plain words (no SDK exception).
    with pytest.raises(SubmitError, match="nothing was sent twice"):
        await Submitter(store, client, clock).send(submission.id)
    emulator.faults.clear()
    done = await Submitter(store, client, clock).send(submission.id)
    assert done.complete and done.chunks[0].resolved_by == "reconciled"
    assert len(await all_batches(client)) == 1


async def test_a_batch_list_that_cannot_be_read_before_sending_sends_nothing(
    tmp_path: Path, store: Store, client: anthropic.AsyncAnthropic, emulator: Emulator, clock: ManualClock
) -> None:
    submission = prepare_file(store, validate_file(write_jsonl(tmp_path / "in.jsonl", 2)), clock=clock)
    emulator.faults.add(Fault(kind="api_error", method="GET", path=CREATE, times=1))
    with pytest.raises(SubmitError, match=r"was not sent: the batch list.*HTTP 500.*Nothing was sent"):
        await Submitter(store, client, clock).send(submission.id)
    assert load_submission(store, submission.id).chunks[0].state == "pending"
    assert await all_batches(client) == []


async def crash_after_create(
    store: Store,
    client: anthropic.AsyncAnthropic,
    clock: ManualClock,
    submission_id: str,
    requests: list[dict[str, Any]] | None = None,
) -> Any:
    """What a process killed right after its create left: the chunk `sending`, with the floor its look at
    the batch list gave, and a batch on the account (of `requests`, by default the chunk's own)."""
    from batchboard.core.gateway.submit import batches_before_send
    from batchboard.core.submit.recovery import floor_for

    before = await batches_before_send(client)
    floor, seen = floor_for(store, before, clock.now())
    store.execute(
        "UPDATE submission_chunks SET state = 'sending', sent_at = ?, floor_at = ?, seen_ids = ? "
        "WHERE submission_id = ?",
        (
            to_db_time(clock.now()),
            to_db_time(floor) if floor else None,
            orjson.dumps(seen).decode(),
            submission_id,
        ),
    )
    clock.advance(1)
    body: Any = requests if requests is not None else _chunk_requests(store, submission_id, 0)
    return await client.messages.batches.create(requests=body)


def test_a_big_submission_is_committed_in_parts_and_a_failure_leaves_nothing(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch, clock: ManualClock
) -> None:
    import batchboard.core.submit.intents as submit_module

    monkeypatch.setattr(submit_module, "COMMIT_ROWS", 4)
    report = validate_file(write_jsonl(tmp_path / "in.jsonl", 10))
    transactions = 0
    real_transaction = store.transaction

    def counting() -> Any:
        nonlocal transactions
        transactions += 1
        return real_transaction()

    monkeypatch.setattr(store, "transaction", counting)
    submission = prepare_file(store, report, clock=clock)
    assert transactions >= 4  # 4 + 4 + 2 requests, then the submission and its chunks
    assert store.query("SELECT COUNT(*) FROM submission_requests")[0][0] == 10
    assert load_submission(store, submission.id).request_count == 10

    def broken_rows() -> Any:
        for i in range(6):
            yield (f"x-{i}", 0, i + 1, b"{}")
        raise OSError("disk gone")

    with pytest.raises(OSError):
        submit_module._insert_submission(
            store,
            kind="file",
            source_path=None,
            label=None,
            parent_batch_id=None,
            chunk_sizes=[(7, 100)],
            rows=broken_rows(),
            now=clock.now(),
        )
    assert store.query("SELECT COUNT(*) FROM submission_requests")[0][0] == 10  # the first one only
    assert store.query("SELECT COUNT(*) FROM submissions")[0][0] == 1
    assert open_submissions(store) == [load_submission(store, submission.id)]
