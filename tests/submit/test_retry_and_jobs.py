"""Retries carry exactly the chosen failed items, record their parent, and form a job with the original."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import anthropic
import orjson
import pytest

from batchboard.core.clock import ManualClock
from batchboard.core.jobs import (
    Origin,
    Selection,
    chain,
    children_of,
    job,
    merged_lines,
    origin,
    parent_of,
    plan_retry,
)
from batchboard.core.results.index import ResultsIndex
from batchboard.core.results.ingest import ingest
from batchboard.core.results.schema import RETRYABLE_ERRORS
from batchboard.core.store import Store
from batchboard.core.submit.intents import SubmitError, Submitter, prepare_file, prepare_requests
from batchboard.core.submit.validate import validate_file
from batchboard.emulator import Emulator, EmulatorSettings

from .conftest import API_KEY, write_jsonl


@pytest.fixture
def emulator(clock: ManualClock) -> Iterator[Emulator]:
    """Half the valid requests fail with retryable errors (overloaded_error, api_error)."""
    settings = EmulatorSettings(seed=11, demo=False, batch_duration=60.0, error_rate=0.5)
    emu = Emulator(settings, clock=clock)
    with emu.running_in_thread():
        yield emu


def ingest_now(store: Store, emulator: Emulator, batch_id: str) -> None:
    with anthropic.Anthropic(api_key=API_KEY, base_url=emulator.base_url, max_retries=0) as sync:
        ingest(batch_id, ResultsIndex(store), client=sync)


def outcomes(store: Store, batch_id: str) -> dict[str, tuple[str, str]]:
    return {cid: (rtype, etype) for cid, rtype, etype, _ in ResultsIndex(store).outcomes(batch_id)}


async def test_retry_carries_exactly_the_failed_retryable_items_and_records_its_parent(
    tmp_path: Path, store: Store, client: anthropic.AsyncAnthropic, emulator: Emulator, clock: ManualClock
) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", 16)
    with path.open("ab") as handle:  # two requests the API will reject: they need a fix, not a retry
        for i in range(2):
            bad = {
                "custom_id": f"bad-{i}",
                "params": {
                    "model": "claude-made-up-1",
                    "max_tokens": 5,
                    "messages": [{"role": "user", "content": "Hi"}],
                },
            }
            handle.write(orjson.dumps(bad) + b"\n")
    report = validate_file(path)
    assert report.ok  # an unknown model is only a warning
    submitter = Submitter(store, client, clock)
    first = await submitter.send(prepare_file(store, report, label="tickets", clock=clock).id)
    (parent,) = first.batch_ids
    clock.advance(120)
    ingest_now(store, emulator, parent)
    seen = outcomes(store, parent)
    retryable = {
        cid for cid, (rtype, etype) in seen.items() if etype in RETRYABLE_ERRORS or rtype == "expired"
    }
    needs_fix = {
        cid for cid, (rtype, etype) in seen.items() if rtype == "errored" and etype not in RETRYABLE_ERRORS
    }
    assert retryable and needs_fix == {"bad-0", "bad-1"}

    plan = plan_retry(store, parent, Selection.parse(None))
    assert {cid for cid, _ in plan.requests} == retryable
    assert plan.missing == [] and sum(plan.left_out.values()) == 2
    original = {
        orjson.loads(line)["custom_id"]: orjson.loads(line)["params"]
        for line in path.read_bytes().splitlines()
    }
    assert all(orjson.loads(params) == original[cid] for cid, params in plan.requests)  # byte-for-byte intent

    retry = prepare_requests(store, plan.requests, parent_batch_id=parent, label="tickets", clock=clock)
    clock.advance(1)
    sent = await submitter.send(retry.id)
    (child,) = sent.batch_ids
    assert parent_of(store, child) == parent and children_of(store, parent) == [child]
    assert origin(store, parent) == Origin("file", str(path.resolve()), None, (child,), "tickets")
    assert origin(store, child) == Origin("retry", None, parent, (), "tickets")
    assert origin(store, "msgbatch_elsewhere") == Origin(None, None, None, (), None)
    assert chain(store, child) == chain(store, parent) == [parent, child]
    batch = await client.messages.batches.retrieve(child)
    assert batch.request_counts.processing == len(retryable)
    clock.advance(120)
    ingest_now(store, emulator, child)
    assert set(outcomes(store, child)) == retryable  # the retry sent exactly those, each once

    current = job(store, parent)
    assert set(current.latest) == set(seen)  # every custom_id of the job, once
    for cid in seen:
        expected_batch = child if cid in retryable else parent
        assert current.latest[cid][0] == expected_batch  # the latest outcome wins
    retried = outcomes(store, child)
    expected = Counter(retried[c][0] if c in retryable else seen[c][0] for c in seen)
    assert current.totals == expected and sum(expected.values()) == 18
    merged = [orjson.loads(line)["custom_id"] for line in merged_lines(store, current)]
    assert sorted(merged) == sorted(seen)


def test_selection_parsing() -> None:
    default = Selection.parse(None)
    assert default.wants("errored", "overloaded_error") and default.wants("expired", "")
    assert not default.wants("errored", "invalid_request_error") and not default.wants("canceled", "")
    explicit = Selection.parse("invalid_request_error,canceled")
    assert explicit.wants("errored", "invalid_request_error") and explicit.wants("canceled", "")
    assert not explicit.wants("errored", "overloaded_error")
    assert Selection.parse("errored").wants("errored", "anything_error")
    with pytest.raises(ValueError, match="not a result or error type"):
        Selection.parse("over loaded")


def test_retry_needs_the_results_in_the_index(store: Store) -> None:
    with pytest.raises(SubmitError, match="not in the local index"):
        plan_retry(store, "msgbatch_unknown", Selection.parse(None))


def test_a_custom_id_listed_twice_in_the_results_is_retried_once(tmp_path: Path, store: Store) -> None:
    from tests.results.helpers import chunked, ended_batch, errored, jsonl

    from batchboard.core.submit.intents import attach_file

    lines = [errored("a"), errored("a"), errored("b")]
    ingest("b1", ResultsIndex(store), batch=ended_batch("b1", lines), source=chunked(jsonl(lines), 64))
    attach_file(store, "b1", iter([("a", 1, b"{}"), ("b", 2, b"{}")]), source_path="f.jsonl")
    plan = plan_retry(store, "b1", Selection.parse(None))
    assert [cid for cid, _ in plan.requests] == ["a", "b"] and plan.groups == {"overloaded_error": 2}


def test_an_unusable_answer_is_not_done_until_a_later_attempt_answers_it_usably(store: Store) -> None:
    from tests.results.helpers import answer, chunked, ended_batch, jsonl, succeeded

    from batchboard.core.submit.intents import _set_chunk, attach_file

    first = [succeeded("ok"), answer("cut", "stops in the mi", "max_tokens"), answer("no", "", "refusal")]
    ingest("b1", ResultsIndex(store), batch=ended_batch("b1", first), source=chunked(jsonl(first), 64))
    attach_file(store, "b1", iter([("ok", 1, b"{}"), ("cut", 2, b"{}"), ("no", 3, b"{}")]), source_path="f")
    current = job(store, "b1")
    assert current.totals == Counter({"succeeded": 1, "truncated": 1, "refused": 1})
    assert current.done == 1

    # The retry answers "cut" in full; "no" is refused again.
    retry = prepare_requests(store, [("cut", b"{}"), ("no", b"{}")], parent_batch_id="b1")
    _set_chunk(store, retry.id, 0, batch_id="b2", state="created")
    second = [succeeded("cut"), answer("no", "", "refusal")]
    ingest("b2", ResultsIndex(store), batch=ended_batch("b2", second), source=chunked(jsonl(second), 64))
    current = job(store, "b1")
    assert current.batch_ids == ["b1", "b2"]
    assert current.totals == Counter({"succeeded": 2, "refused": 1})
    assert current.done == 2 and len(current.latest) == 3
