"""Recovery after a lost create answer is correct, not just likely: against the emulator on a ManualClock.

A stranger's batch (the same file sent from another data directory) is never adopted; a single candidate
is unverified until its results show the chunk's custom_ids; several candidates, or none, are said plainly
and left to the user; a batch id the store knows under another identity is reported, never merged; a 429
on create is waited out.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import anthropic
import pytest

from batchboard.core.clock import ManualClock
from batchboard.core.models import Batch
from batchboard.core.results.index import ResultsIndex
from batchboard.core.results.ingest import ingest
from batchboard.core.store import Store
from batchboard.core.submit import intents
from batchboard.core.submit.intents import (
    SubmitError,
    Submitter,
    _chunk_requests,
    load_submission,
    prepare_file,
)
from batchboard.core.submit.recovery import (
    mark_for_resend,
    needs_attention,
    recovery_state,
    unverified_batches,
    verify,
)
from batchboard.core.submit.validate import validate_file
from batchboard.emulator import Emulator, Fault

from .conftest import API_KEY, write_jsonl
from .test_submit_crash_safety import CREATE, all_batches, crash_after_create


@pytest.fixture
def sync_client(emulator: Emulator) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(api_key=API_KEY, base_url=emulator.base_url, max_retries=0) as sdk:
        yield sdk


def other_requests(count: int) -> list[dict[str, Any]]:
    """Another tool's batch of the same size: other custom_ids."""
    params = {"model": "claude-haiku-5-5", "max_tokens": 16, "messages": [{"role": "user", "content": "Hi"}]}
    return [{"custom_id": f"theirs-{i}", "params": params} for i in range(count)]


# ---------------------------------------------------------------------------------------- the stranger


async def test_a_strangers_batch_of_the_same_file_is_never_adopted(
    tmp_path: Path, client: anthropic.AsyncAnthropic, emulator: Emulator, clock: ManualClock
) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", 50)
    # Data dir A sends the file: batch A.
    with Store.open(tmp_path / "a" / "batchboard.sqlite3") as store_a:
        sent = await Submitter(store_a, client, clock).send(prepare_file(store_a, validate_file(path)).id)
        (batch_a,) = sent.batch_ids
    clock.advance(30)
    # Data dir B sends the same file; the create never reaches the service.
    with Store.open(tmp_path / "b" / "batchboard.sqlite3") as store_b:
        submission = prepare_file(store_b, validate_file(path), label="mine", clock=clock)
        emulator.faults.add(Fault(kind="drop_before", method="POST", path=CREATE, times=1))
        with pytest.raises(SubmitError) as said:
            await Submitter(store_b, client, clock).send(submission.id)
        message = str(said.value)
        assert "no batch created after the send began has its 50 requests" in message
        assert "most likely never created" in message and "recovered" not in message
        assert f"--resume {submission.id}" in message
        (chunk,) = load_submission(store_b, submission.id).chunks
        assert (chunk.state, chunk.recovery, chunk.batch_id) == ("unresolved", "none", None)
        assert store_b.label(batch_a) is None  # nothing of B's was put on A

        # A later start looks again: still nothing, still not A.
        (again,) = await Submitter(store_b, client, clock).reconcile()
        assert again.outcome == "none" and again.batch_id is None and again.candidates == ()

        mark_for_resend(store_b, submission.id, 0)  # the user chose to send it again
        done = await Submitter(store_b, client, clock).send(submission.id)
        (batch_b,) = done.batch_ids
    assert batch_b != batch_a
    assert {b.id for b in await all_batches(client)} == {batch_a, batch_b}


# ---------------------------------------------------------------------------- unverified -> verified


@pytest.mark.parametrize(("count", "ids"), [(1, "1 custom_id"), (4, "4 custom_ids")])
async def test_a_recovered_batch_with_the_chunks_custom_ids_becomes_verified(
    tmp_path: Path,
    client: anthropic.AsyncAnthropic,
    sync_client: anthropic.Anthropic,
    clock: ManualClock,
    count: int,
    ids: str,
) -> None:
    with Store.open(tmp_path / "batchboard.sqlite3") as store:
        path = write_jsonl(tmp_path / "in.jsonl", count)
        submission = prepare_file(store, validate_file(path), clock=clock)
        created = await crash_after_create(store, client, clock, submission.id)
        (outcome,) = await Submitter(store, client, clock).reconcile()
        assert (outcome.outcome, outcome.batch_id) == ("recovered", created.id)
        assert recovery_state(store, created.id) is not None
        assert str(recovery_state(store, created.id)).startswith("recovered, unverified")
        assert unverified_batches(store) == [created.id] and needs_attention(store)

        index = ResultsIndex(store, tmp_path / "results")
        assert verify(store, index) == []  # no results yet: still unverified
        clock.advance(120)
        ingest(created.id, index, client=sync_client)
        (checked,) = verify(store, index)
        assert checked.outcome == "verified"
        assert checked.message.endswith(f": recovered and verified: {created.id} has exactly its {ids}")
        assert str(recovery_state(store, created.id)).startswith("recovered, verified")
        assert load_submission(store, submission.id).chunks[0].recovery == "verified"
        assert not needs_attention(store)


@pytest.mark.parametrize(
    ("count", "differ"),
    [(1, "1 of the chunk's 1 missing, 1 other"), (4, "4 of the chunk's 4 missing, 4 others")],
)
async def test_a_recovered_batch_with_other_custom_ids_is_let_go_and_offered_for_resending(
    tmp_path: Path,
    client: anthropic.AsyncAnthropic,
    sync_client: anthropic.Anthropic,
    clock: ManualClock,
    count: int,
    differ: str,
) -> None:
    with Store.open(tmp_path / "batchboard.sqlite3") as store:
        path = write_jsonl(tmp_path / "in.jsonl", count)
        submission = prepare_file(store, validate_file(path), label="nightly", clock=clock)
        # The process died after the send began; another tool's batch of the same size appeared then.
        theirs = await crash_after_create(store, client, clock, submission.id, other_requests(count))
        (outcome,) = await Submitter(store, client, clock).reconcile()
        assert (outcome.outcome, outcome.batch_id) == ("recovered", theirs.id)  # a guess, said as one
        assert "recovered, unverified" in outcome.message
        assert store.label(theirs.id) == "nightly"

        clock.advance(120)
        index = ResultsIndex(store, tmp_path / "results")
        ingest(theirs.id, index, client=sync_client)
        (checked,) = verify(store, index)
        assert checked.outcome == "mismatch" and checked.needs_choice
        assert f"{theirs.id} is not its batch after all" in checked.message
        assert f"its custom_ids differ ({differ}). It was let go" in checked.message
        (chunk,) = load_submission(store, submission.id).chunks
        assert (chunk.state, chunk.recovery, chunk.batch_id, chunk.candidates) == (
            "unresolved",
            "mismatch",
            None,
            (theirs.id,),
        )
        assert store.label(theirs.id) is None and recovery_state(store, theirs.id) is None

        (again,) = await Submitter(store, client, clock).reconcile()  # never taken again
        assert again.outcome == "mismatch" and again.batch_id is None
        mark_for_resend(store, submission.id, 0)
        done = await Submitter(store, client, clock).send(submission.id)
        (ours,) = done.batch_ids
        assert ours != theirs.id and done.chunks[0].resolved_by == "response"


async def test_two_candidates_are_reported_and_neither_is_taken(
    tmp_path: Path, store: Store, client: anthropic.AsyncAnthropic, clock: ManualClock
) -> None:
    submission = prepare_file(store, validate_file(write_jsonl(tmp_path / "in.jsonl", 3)), clock=clock)
    first = await crash_after_create(store, client, clock, submission.id)
    second = await client.messages.batches.create(requests=_chunk_requests(store, submission.id, 0))  # type: ignore[arg-type]
    (outcome,) = await Submitter(store, client, clock).reconcile()
    assert outcome.outcome == "ambiguous" and outcome.batch_id is None
    assert set(outcome.candidates) == {first.id, second.id}
    assert "2 batches created after the send began have its 3 requests" in outcome.message
    assert "cannot tell which, if any" in outcome.message and "recovered" not in outcome.message
    (chunk,) = load_submission(store, submission.id).chunks
    assert chunk.state == "unresolved" and set(chunk.candidates) == {first.id, second.id}
    with pytest.raises(SubmitError, match="took none"):
        await Submitter(store, client, clock).send(submission.id)  # not sent again on its own
    assert len(await all_batches(client)) == 2


async def test_a_batch_created_before_the_send_began_is_no_candidate_even_unlisted_before(
    tmp_path: Path, store: Store, client: anthropic.AsyncAnthropic, clock: ManualClock
) -> None:
    # The chunk's floor comes from the service's own clock too (measured from a batch created here).
    warm = prepare_file(store, validate_file(write_jsonl(tmp_path / "w.jsonl", 1, prefix="w")), clock=clock)
    await Submitter(store, client, clock).send(warm.id)
    early = await client.messages.batches.create(requests=other_requests(2))  # type: ignore[arg-type]
    clock.advance(60)
    submission = prepare_file(store, validate_file(write_jsonl(tmp_path / "in.jsonl", 2)), clock=clock)
    from batchboard.core.submit.recovery import floor_for, service_offset

    assert service_offset(store) is not None
    floor, _ = floor_for(store, [], clock.now())  # as if the look before the send had listed nothing
    assert floor is not None and floor > Batch.from_api(early).created_at
    store.execute(
        "UPDATE submission_chunks SET state = 'sending', sent_at = ?, floor_at = ?, seen_ids = '[]' "
        "WHERE submission_id = ?",
        (intents.to_db_time(clock.now()), intents.to_db_time(floor), submission.id),
    )
    (outcome,) = await Submitter(store, client, clock).reconcile()
    assert outcome.outcome == "none"


# ------------------------------------------------------------------------------------ duplicate ids


async def test_a_batch_id_already_recorded_is_reported_not_merged_and_kept(
    tmp_path: Path,
    store: Store,
    client: anthropic.AsyncAnthropic,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = prepare_file(store, validate_file(write_jsonl(tmp_path / "a.jsonl", 2)), label="a", clock=clock)
    (taken,) = (await Submitter(store, client, clock).send(first.id)).batch_ids
    second = prepare_file(
        store, validate_file(write_jsonl(tmp_path / "b.jsonl", 3, prefix="b")), label="b", clock=clock
    )
    real_create = intents.create_batch

    async def reissuing(client: Any, body: Any) -> Batch:  # a service that hands out an id again
        return replace(await real_create(client, body), id=taken)

    monkeypatch.setattr(intents, "create_batch", reissuing)
    with pytest.raises(SubmitError) as said:
        await Submitter(store, client, clock).send(second.id)
    message = str(said.value)
    assert (
        f"answered with batch id {taken}, which this store already knows as batch 1 of submission" in message
    )
    assert "It was not merged" in message and "Do not send it again" in message
    (chunk,) = load_submission(store, second.id).chunks
    assert (chunk.state, chunk.batch_id, chunk.duplicate_batch_id) == ("duplicate", None, taken)
    (kept,) = load_submission(store, first.id).chunks
    assert kept.batch_id == taken and store.label(taken) == "a"  # the first is as it was
    with pytest.raises(SubmitError, match="Do not send it again"):
        await Submitter(store, client, clock).send(second.id)  # never sent again, always said
    assert len(await all_batches(client)) == 2


# ------------------------------------------------------------------------------------------ migration


def test_an_older_stores_chunks_table_gains_the_new_columns(tmp_path: Path) -> None:
    file = tmp_path / "batchboard.sqlite3"
    db = sqlite3.connect(file)
    db.executescript(
        """
        CREATE TABLE submissions (id TEXT PRIMARY KEY, kind TEXT NOT NULL, source_path TEXT, label TEXT,
            parent_batch_id TEXT, request_count INTEGER NOT NULL, created_at TEXT NOT NULL);
        CREATE TABLE submission_chunks (submission_id TEXT NOT NULL, chunk INTEGER NOT NULL,
            request_count INTEGER NOT NULL, body_bytes INTEGER NOT NULL, state TEXT NOT NULL, sent_at TEXT,
            batch_id TEXT, resolved_by TEXT, error TEXT, PRIMARY KEY (submission_id, chunk));
        INSERT INTO submissions VALUES ('sub_old', 'file', NULL, NULL, NULL, 2,
            '2026-11-23T12:00:00.000000+00:00');
        INSERT INTO submission_chunks VALUES ('sub_old', 0, 2, 100, 'sending',
            '2026-11-23T12:00:00.000000+00:00', NULL, NULL, NULL);
        """
    )
    db.close()
    with Store.open(file) as store:
        (chunk,) = load_submission(store, "sub_old").chunks
        assert chunk.state == "sending" and chunk.floor_at is None and chunk.recovery is None
        columns = {row[1] for row in store.query("PRAGMA table_info(submission_chunks)")}
        assert {"floor_at", "seen_ids", "recovery", "candidates", "duplicate_batch_id"} <= columns
        assert needs_attention(store)


# ------------------------------------------------------------------------------------- 429 on create


async def test_a_429_on_create_is_waited_out_with_a_countdown_then_sent_once(
    tmp_path: Path, store: Store, client: anthropic.AsyncAnthropic, emulator: Emulator, clock: ManualClock
) -> None:
    submission = prepare_file(store, validate_file(write_jsonl(tmp_path / "in.jsonl", 2)), clock=clock)
    emulator.faults.add(Fault(kind="rate_limit", method="POST", path=CREATE, times=2, retry_after_ms=2_500))
    slept: list[float] = []
    shown: list[int] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    done = await Submitter(store, client, clock, sleep=sleep, on_wait=shown.append).send(submission.id)
    assert done.complete and len(await all_batches(client)) == 1
    assert slept == [1.0, 1.0, 0.5] * 2  # retry-after-ms wins over the rounded retry-after
    assert shown == [3, 2, 1, 0] * 2


async def test_429s_beyond_the_bound_stop_with_the_chunk_pending(
    tmp_path: Path, store: Store, client: anthropic.AsyncAnthropic, emulator: Emulator, clock: ManualClock
) -> None:
    submission = prepare_file(store, validate_file(write_jsonl(tmp_path / "in.jsonl", 2)), clock=clock)
    emulator.faults.add(Fault(kind="rate_limit", method="POST", path=CREATE, times=10, retry_after_ms=10))

    async def sleep(seconds: float) -> None:
        pass

    with pytest.raises(SubmitError, match=r"HTTP 429 .*still refused after waiting.*--resume"):
        await Submitter(store, client, clock, sleep=sleep).send(submission.id)
    assert load_submission(store, submission.id).chunks[0].state == "pending"
    assert await all_batches(client) == []
