"""`batchboard submit`, `retry` and `attach` end to end against the emulator (credentials from the env)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import orjson
import pytest
from tests.conftest import Terminal

from batchboard.cli import main
from batchboard.core.clock import ManualClock
from batchboard.emulator import Emulator, EmulatorSettings

from .conftest import API_KEY, write_jsonl

CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture
def emulator(clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    settings = EmulatorSettings(seed=5, demo=False, batch_duration=60.0, error_rate=0.5)
    emu = Emulator(settings, clock=clock)
    with emu.running_in_thread() as base_url:
        monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", base_url)
        yield emu


@pytest.fixture
def sdk(emulator: Emulator) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(api_key=API_KEY, base_url=emulator.base_url, max_retries=0) as client:
        yield client


def test_a_broken_file_lists_every_problem_and_sends_nothing(
    sdk: anthropic.Anthropic, capsys: pytest.CaptureFixture[str]
) -> None:
    path = CORPUS / "mixed.jsonl"
    assert main(["submit", str(path), "--yes"]) == 1
    err = capsys.readouterr().err
    expected = (CORPUS / "mixed.expected").read_text(encoding="utf-8").replace("mixed.jsonl:", f"{path}:")
    for line in expected.splitlines():
        assert line in err
    assert "10 errors, 2 warnings; nothing was sent" in err
    assert list(sdk.messages.batches.list()) == []


def test_a_directory_or_a_missing_file_is_said_as_such_and_sends_nothing(
    tmp_path: Path, sdk: anthropic.Anthropic, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "requests.jsonl"  # a directory with a file's name
    folder.mkdir()
    for argv, said in (
        (["submit", str(folder), "--yes"], f"batchboard: {folder}: a directory, not a file\n"),
        (["attach", "msgbatch_x", str(folder)], f"batchboard: {folder}: a directory, not a file\n"),
        (
            ["submit", str(tmp_path / "nope.jsonl"), "--yes"],
            f"batchboard: {tmp_path / 'nope.jsonl'}: no such file\n",
        ),
    ):
        assert main(argv) == 2, argv
        captured = capsys.readouterr()
        assert (captured.out, captured.err) == ("", said), argv
    assert list(sdk.messages.batches.list()) == []


def test_dry_run_without_a_key_estimates_locally_and_sends_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", 5)
    assert main(["submit", str(path), "--dry-run", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["validation"]["ok"] and result["validation"]["requests"] == 5
    assert result["estimate"]["method"].startswith("local estimate")
    assert result["estimate"]["output_tokens"] == {"min": 5, "max": 5 * 64}
    assert "submission" not in result


def test_sending_needs_a_confirmation_or_yes(
    tmp_path: Path, sdk: anthropic.Anthropic, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", 2)
    assert main(["submit", str(path)]) == 2
    assert "add --yes" in capsys.readouterr().err
    assert list(sdk.messages.batches.list()) == []


def test_submit_then_retry_sends_exactly_the_retryable_failures(
    tmp_path: Path, sdk: anthropic.Anthropic, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", 12)
    assert main(["submit", str(path), "--yes", "--json", "--label", "triage"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["estimate"]["method"].startswith("count_tokens for a sample")
    (batch,) = result["submission"]["batches"]
    parent = batch["batch_id"]
    clock.advance(120)

    assert main(["retry", parent, "--yes", "--json"]) == 0
    retry = json.loads(capsys.readouterr().out)
    failed = [r for r in sdk.messages.batches.results(parent) if r.result.type != "succeeded"]
    assert failed, "the emulator's error rate should fail some requests"
    assert retry["chosen"] == {
        kind: sum(1 for r in failed if r.result.type == "errored" and r.result.error.error.type == kind)
        for kind in {r.result.error.error.type for r in failed if r.result.type == "errored"}
    }
    (child,) = retry["submission"]["batches"]
    assert retry["submission"]["parent_batch_id"] == parent and retry["submission"]["label"] == "triage"
    clock.advance(120)
    resent = sorted(r.custom_id for r in sdk.messages.batches.results(child["batch_id"]))
    assert resent == sorted(r.custom_id for r in failed)

    # The job: every custom_id once, from the batch with its latest outcome.
    out = tmp_path / "job.jsonl"
    assert main(["results", parent, "--job", "-o", str(out)]) == 0
    merged = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert sorted(m["custom_id"] for m in merged) == [f"req-{i}" for i in sorted(range(12), key=str)]
    latest = {m["custom_id"]: m["result"]["type"] for m in merged}
    assert main(["job", child["batch_id"], "--json"]) == 0
    job = json.loads(capsys.readouterr().out)
    assert job["batches"] == [parent, child["batch_id"]] and job["requests"] == 12
    assert job["latest"] == {kind: list(latest.values()).count(kind) for kind in set(latest.values())}


def test_attach_links_a_file_to_a_batch_sent_elsewhere_and_reports_missing_ids(
    tmp_path: Path, sdk: anthropic.Anthropic, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", 6)
    requests = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    batch = sdk.messages.batches.create(requests=requests)  # sent by another tool
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in requests[:5]) + b"\n")  # the file lost one line
    clock.advance(120)
    assert main(["attach", batch.id, str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["missing_from_file"] == ["req-5"] and result["not_in_batch"] == 0
    # Its failures can now be retried, except the one whose request is unknown.
    assert main(["retry", batch.id, "--dry-run", "--json", "--count-tokens", "local"]) == 0
    plan = json.loads(capsys.readouterr().out)
    failed = {r.custom_id for r in sdk.messages.batches.results(batch.id) if r.result.type != "succeeded"}
    assert set(plan["missing_requests"]) == failed & {"req-5"}
    assert sum(plan["chosen"].values()) == len(failed)


def test_attach_refuses_a_file_that_shares_no_custom_id_with_the_batch(
    tmp_path: Path, sdk: anthropic.Anthropic, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same rule as the TUI's `a` (one function): the wrong file links nothing, and says so."""
    from batchboard.core.store import Store
    from batchboard.core.submit.intents import submission_for_batch

    requests = [
        orjson.loads(line) for line in write_jsonl(tmp_path / "in.jsonl", 4).read_bytes().splitlines()
    ]
    batch = sdk.messages.batches.create(requests=requests)  # sent by another tool
    clock.advance(120)
    wrong = write_jsonl(tmp_path / "other.jsonl", 4, prefix="other")
    assert main(["attach", batch.id, str(wrong)]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith(f"batchboard: none of the 4 custom_ids in {wrong} is in {batch.id}: ")
    assert "nothing was linked" in captured.err and "Traceback" not in captured.err
    one = write_jsonl(tmp_path / "one.jsonl", 1, prefix="other")
    assert main(["attach", batch.id, str(one)]) == 1
    assert capsys.readouterr().err.startswith(
        f"batchboard: the one custom_id in {one} is not in {batch.id}: nothing was linked"
    )
    with Store.open() as store:
        assert submission_for_batch(store, batch.id) is None


@pytest.mark.parametrize(("broken", "said"), [(1, "1 error"), (2, "2 errors")])
def test_attach_counts_the_errors_of_a_broken_file(
    tmp_path: Path, sdk: anthropic.Anthropic, capsys: pytest.CaptureFixture[str], broken: int, said: str
) -> None:
    requests = [
        orjson.loads(line) for line in write_jsonl(tmp_path / "in.jsonl", 2).read_bytes().splitlines()
    ]
    batch = sdk.messages.batches.create(requests=requests)
    path = tmp_path / "broken.jsonl"
    path.write_text("".join("{not json\n" for _ in range(broken)) + orjson.dumps(requests[0]).decode() + "\n")
    assert main(["attach", batch.id, str(path)]) == 1
    assert f"{path}: {said}; nothing was attached" in capsys.readouterr().err


def test_resume_sends_what_an_earlier_run_recorded_but_did_not_send(
    tmp_path: Path, sdk: anthropic.Anthropic, capsys: pytest.CaptureFixture[str]
) -> None:
    from batchboard.core.store import Store
    from batchboard.core.submit.intents import prepare_file
    from batchboard.core.submit.validate import validate_file

    with Store.open() as store:  # an earlier run stored the intent, then stopped before sending
        submission = prepare_file(store, validate_file(write_jsonl(tmp_path / "in.jsonl", 3)), label="later")
    assert main(["submit", "--resume", submission.id, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    (batch,) = result["submission"]["batches"]
    assert batch["state"] == "created" and batch["resolved_by"] == "response"
    assert [b.id for b in sdk.messages.batches.list()] == [batch["batch_id"]]
    assert main(["submit", "--resume", submission.id]) == 0  # nothing left: nothing sent again
    assert len(list(sdk.messages.batches.list())) == 1


def test_submit_mentions_earlier_submissions_left_unsent(
    tmp_path: Path, sdk: anthropic.Anthropic, capsys: pytest.CaptureFixture[str]
) -> None:
    from batchboard.core.store import Store
    from batchboard.core.submit.intents import prepare_file
    from batchboard.core.submit.validate import validate_file

    with Store.open() as store:
        earlier = prepare_file(store, validate_file(write_jsonl(tmp_path / "a.jsonl", 2)))
    assert main(["submit", str(write_jsonl(tmp_path / "b.jsonl", 2, prefix="b")), "--yes"]) == 0
    out = capsys.readouterr().out
    assert f"earlier submission {earlier.id} has 1 batch not created; 'batchboard submit --resume " in out
    assert f"--resume {earlier.id}' sends it (it asks first" in out
    assert len(list(sdk.messages.batches.list())) == 1  # only the new file: the earlier one waits


def test_the_note_on_an_earlier_submission_counts_its_batches(
    tmp_path: Path, sdk: anthropic.Anthropic, capsys: pytest.CaptureFixture[str]
) -> None:
    from batchboard.core.store import Store
    from batchboard.core.submit.intents import prepare_file
    from batchboard.core.submit.jsonl import Limits
    from batchboard.core.submit.validate import validate_file

    report = validate_file(write_jsonl(tmp_path / "a.jsonl", 2), limits=Limits(max_requests=1))
    assert len(report.chunks) == 2
    with Store.open() as store:
        earlier = prepare_file(store, report)
    assert main(["submit", str(write_jsonl(tmp_path / "b.jsonl", 2, prefix="b")), "--yes"]) == 0
    out = capsys.readouterr().out
    assert f"earlier submission {earlier.id} has 2 batches not created; 'batchboard submit --resume " in out
    assert f"--resume {earlier.id}' sends them (it asks first" in out
    assert len(list(sdk.messages.batches.list())) == 1


@pytest.mark.parametrize(("count", "requests"), [(1, "1 request"), (3, "3 requests")])
def test_resume_asks_before_sending_again_with_the_chunks_request_count(
    tmp_path: Path,
    emulator: Emulator,
    sdk: anthropic.Anthropic,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    count: int,
    requests: str,
) -> None:
    from batchboard.emulator import Fault

    emulator.faults.add(Fault(kind="drop_before", method="POST", path="/v1/messages/batches", times=1))
    path = write_jsonl(tmp_path / "in.jsonl", count)
    assert main(["submit", str(path), "--yes", "--count-tokens", "local", "--json"]) == 1
    captured = capsys.readouterr()
    assert f"no batch created after the send began has its {requests}: it was most likely" in captured.err
    submission_id = json.loads(captured.out)["submission"]["id"]

    monkeypatch.setattr(sys, "stdin", Terminal("n\n"))
    status = main(["submit", "--resume", submission_id])
    captured = capsys.readouterr()
    assert f"Send batch 1 of 1 of submission {submission_id} again ({requests})? [y/N] " in captured.err
    assert status == 1  # not sent again, and not done: it waits for an answer
    assert (
        f"batch 1 of 1 left as it is; 'batchboard submit --resume {submission_id}' asks again" in captured.out
    )
    assert list(sdk.messages.batches.list()) == []


def test_network_errors_are_said_in_plain_words_never_a_traceback(
    tmp_path: Path, emulator: Emulator, sdk: anthropic.Anthropic, capsys: pytest.CaptureFixture[str]
) -> None:
    from batchboard.core.store import Store, to_db_time
    from batchboard.core.submit.intents import _chunk_requests, prepare_file
    from batchboard.core.submit.validate import validate_file
    from batchboard.emulator import Fault

    path = write_jsonl(tmp_path / "in.jsonl", 2)
    with Store.open() as store:  # an earlier run sent it, then died before recording the answer
        submission = prepare_file(store, validate_file(path))
        store.execute(
            "UPDATE submission_chunks SET state = 'sending', sent_at = ? WHERE submission_id = ?",
            (to_db_time(emulator.clock.now()), submission.id),
        )
        sdk.messages.batches.create(requests=_chunk_requests(store, submission.id, 0))  # type: ignore[arg-type]
    # The batch list (to reconcile it) fails.
    emulator.faults.add(Fault(kind="drop_before", method="GET", path="/v1/messages/batches", times=50))
    assert main(["submit", "--resume", submission.id]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("batchboard: ")
    assert "could not be reached or refused" in err and "Nothing was sent twice" in err
    emulator.faults.clear()
    assert main(["submit", "--resume", submission.id]) == 0
    assert "recovered, unverified" in capsys.readouterr().out
    assert len(list(sdk.messages.batches.list())) == 1  # nothing was sent twice


def test_the_strangers_batch_is_not_adopted_and_resume_asks_before_sending_again(
    tmp_path: Path,
    emulator: Emulator,
    sdk: anthropic.Anthropic,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from batchboard.emulator import Fault

    path = write_jsonl(tmp_path / "in.jsonl", 50)
    monkeypatch.setenv("BATCHBOARD_DATA_DIR", str(tmp_path / "machine-a"))
    assert main(["submit", str(path), "--yes", "--count-tokens", "local"]) == 0
    (batch_a,) = [b.id for b in sdk.messages.batches.list()]
    capsys.readouterr()

    monkeypatch.setenv("BATCHBOARD_DATA_DIR", str(tmp_path / "machine-b"))
    emulator.faults.add(Fault(kind="drop_before", method="POST", path="/v1/messages/batches", times=1))
    assert main(["submit", str(path), "--yes", "--count-tokens", "local", "--json"]) == 1
    captured = capsys.readouterr()
    assert "no batch created after the send began has its 50 requests" in captured.err
    assert "recovered" not in captured.err and batch_a not in captured.err + captured.out
    report = json.loads(captured.out)
    (chunk,) = report["submission"]["batches"]
    assert (chunk["state"], chunk["recovery"], chunk["batch_id"]) == ("unresolved", "none", None)
    submission_id = report["submission"]["id"]

    # --resume looks once more, then asks: without a terminal and without --yes, it does not send.
    assert main(["submit", "--resume", submission_id]) == 2
    assert "not sending again without confirmation" in capsys.readouterr().err
    assert len(list(sdk.messages.batches.list())) == 1
    assert main(["submit", "--resume", submission_id, "--yes", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    (chunk,) = report["submission"]["batches"]
    assert chunk["state"] == "created" and chunk["batch_id"] != batch_a and chunk["recovered"] is None
    assert {b.id for b in sdk.messages.batches.list()} == {batch_a, chunk["batch_id"]}


def test_resume_json_reports_the_candidates_it_would_not_choose_from(
    tmp_path: Path, emulator: Emulator, sdk: anthropic.Anthropic, capsys: pytest.CaptureFixture[str]
) -> None:
    from batchboard.core.store import Store, to_db_time
    from batchboard.core.submit.intents import _chunk_requests, prepare_file
    from batchboard.core.submit.validate import validate_file

    with Store.open() as store:
        submission = prepare_file(store, validate_file(write_jsonl(tmp_path / "in.jsonl", 3)))
        store.execute(
            "UPDATE submission_chunks SET state = 'sending', sent_at = ? WHERE submission_id = ?",
            (to_db_time(emulator.clock.now()), submission.id),
        )
        requests: Any = _chunk_requests(store, submission.id, 0)
    two = {sdk.messages.batches.create(requests=requests).id for _ in range(2)}
    assert main(["submit", "--resume", submission.id, "--json"]) == 2  # asks; no terminal: not sent
    captured = capsys.readouterr()
    assert "cannot tell which, if any, is its batch" in captured.err
    report = json.loads(captured.out)
    (chunk,) = report["submission"]["batches"]
    assert chunk["state"] == "unresolved" and chunk["recovery"] == "ambiguous"
    assert set(chunk["candidates"]) == two
    assert main(["submit", "--resume", submission.id, "--yes", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {o["outcome"] for o in report["recovery"]} == {"ambiguous"}
    assert set(report["recovery"][0]["candidates"]) == two
    assert len(list(sdk.messages.batches.list())) == 3


def test_a_429_on_create_counts_down_on_stderr_and_sends(
    tmp_path: Path, emulator: Emulator, sdk: anthropic.Anthropic, capsys: pytest.CaptureFixture[str]
) -> None:
    from batchboard.emulator import Fault

    emulator.faults.add(Fault(kind="rate_limit", method="POST", path="/v1/messages/batches", times=1))
    path = write_jsonl(tmp_path / "in.jsonl", 2)
    assert main(["submit", str(path), "--yes", "--count-tokens", "local"]) == 0
    err = capsys.readouterr().err
    assert "rate limited (HTTP 429): nothing was created; sending again in 1 s" in err
    assert len(list(sdk.messages.batches.list())) == 1
