"""What a failure says: a read that gives up says what happened and what to do (gateway's `classify`),
and a file that reached its size limit (EFBIG) is reported at once like a full disk, naming the limit and
the path."""

from __future__ import annotations

import errno
import os
import resource
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.results.helpers import chunked, ended_batch, jsonl, succeeded

from batchboard.cli import main
from batchboard.core import paths
from batchboard.core import store as store_module
from batchboard.core.gateway.errors import LASTING_DISK_ERRORS, STATUS_PAGE, ApiError, classify
from batchboard.core.results.index import ResultsIndex
from batchboard.core.results.ingest import IngestError, ingest
from batchboard.core.store import Store
from batchboard.emulator import Emulator, EmulatorSettings, Fault

from .conftest import API_KEY, write_jsonl


class StatusError(Exception):
    """What the SDK raises for an error answer, by the attributes `classify` reads."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status
        self.type = kind
        self.api_message = message
        self.request_id = "req_test"


@pytest.fixture
def listed(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
    assert emulator.base_url is not None
    monkeypatch.setenv("ANTHROPIC_BASE_URL", emulator.base_url)
    return emulator


# ------------------------------------------------------------------------------------ reads that give up


def test_a_list_that_gives_up_on_500s_says_the_service_is_failing_and_what_to_do(
    listed: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    # The SDK tries 3 times (2 retries); every attempt gets a 500.
    listed.faults.add(Fault(kind="api_error", method="GET", path="/v1/messages/batches", times=3))
    assert main(["list"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("batchboard: HTTP 500 api_error: Internal server error")
    assert "(request req_" in err  # the request id to quote
    assert "The service is failing on its side" in err and "try again in a minute" in err
    assert STATUS_PAGE in err and "quote request req_" in err
    listed.faults.clear()
    assert main(["list"]) == 0  # once the service answers, the same command works


def test_a_list_that_cannot_connect_says_to_check_the_network(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    assert main(["list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("batchboard: Could not reach the API") and "Check the network connection" in err


@pytest.mark.parametrize(
    ("status", "kind", "said"),
    [
        (500, "api_error", "The service is failing on its side (not a fault in the request): try again in a"),
        (503, "api_error", "The service is failing on its side"),
        (529, "overloaded_error", "The service is overloaded (not a fault in the request): try again"),
        (429, "rate_limit_error", "The rate limit was reached: wait a minute, then try again."),
    ],
)
def test_classify_says_what_happened_and_what_to_do(status: int, kind: str, said: str) -> None:
    failure = classify(StatusError(status, kind, "Something"))
    assert failure.advice.startswith(said)
    assert failure.in_full == f"{failure.message}. {failure.advice}"
    assert failure.message == f"HTTP {status} {kind}: Something (request req_test)"  # the short form stays
    error = ApiError.from_sdk(StatusError(status, kind, "Something"))
    assert error.in_full == failure.in_full
    if status >= 500:
        assert STATUS_PAGE in failure.advice and "quote request req_test" in failure.advice


def test_a_request_the_api_refuses_needs_no_advice_beyond_its_message() -> None:
    failure = classify(StatusError(400, "invalid_request_error", "max_tokens: too large"))
    assert failure.advice == "" and failure.in_full == failure.message


def test_a_timeout_says_to_check_the_network() -> None:
    class APITimeoutError(Exception):
        pass

    failure = classify(APITimeoutError("timed out"))
    assert failure.kind == "timeout" and "try again in a minute" in failure.advice
    assert STATUS_PAGE in failure.advice


# ---------------------------------------------------------------------------------------------- EFBIG


def test_efbig_is_lasting_like_enospc_and_names_the_path_and_the_limit(tmp_path: Path) -> None:
    assert {errno.ENOSPC, errno.EFBIG} <= LASTING_DISK_ERRORS
    target = tmp_path / "results" / "msgbatch_x.jsonl"
    failure = classify(OSError(errno.EFBIG, os.strerror(errno.EFBIG)), path=target)
    assert failure.kind == "disk" and not failure.retryable
    assert failure.message.startswith(f"Cannot write {target}: File too large (EFBIG); the limit is ")
    assert "Raise the limit" in failure.advice
    full = classify(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target)))
    assert not full.retryable and full.message == f"Cannot write {target}: No space left on device (ENOSPC)"


def test_a_real_file_size_limit_is_named_in_bytes(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    caught: OSError | None = None
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))  # Python ignores SIGXFSZ: write raises EFBIG
    try:
        with open(tmp_path / "big.bin", "wb", buffering=0) as out:
            out.write(b"x" * 4096)
            out.write(b"x")
    except OSError as exc:
        caught = exc
        failure = classify(exc, path=tmp_path / "big.bin")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert caught is not None and caught.errno == errno.EFBIG
    assert "the process's file size limit, 4,096 bytes (ulimit -f)" in failure.message
    assert str(tmp_path / "big.bin") in failure.message


@pytest.fixture
def index(tmp_path: Path) -> Iterator[ResultsIndex]:
    store = Store.open(tmp_path / "db.sqlite3")
    yield ResultsIndex(store, tmp_path / "results")
    store.close()


def test_an_ingest_that_hits_the_file_size_limit_is_not_retried_and_says_where(
    index: ResultsIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [succeeded(f"ok-{i}") for i in range(20)]
    batch = ended_batch("msgbatch_big", lines)
    opened = 0

    def source() -> Any:
        nonlocal opened
        opened += 1
        return chunked(jsonl(lines), 37)()

    def too_big(fd: int, buffers: Any) -> int:
        raise OSError(errno.EFBIG, os.strerror(errno.EFBIG))

    monkeypatch.setattr(os, "writev", too_big)
    with pytest.raises(IngestError) as info:
        ingest(batch.id, index, batch=batch, source=source, attempts=3, sleep=lambda _: None)
    assert opened == 1  # reported at once, not "after 3 attempts ... try again later"
    said = str(info.value)
    assert "File too large (EFBIG)" in said and str(index.directory) in said and "the limit is" in said
    assert "try again later" not in said and "Raise the limit" in said
    assert index.file(batch.id) is None and list(index.directory.iterdir()) == []


# ------------------------------------------------------------------------------------------ a locked store


def test_a_store_locked_by_another_process_stops_submit_plainly_and_sends_nothing(
    listed: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", 3)
    Store.open().close()
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT", 0.2)
    holder = sqlite3.connect(paths.database_file(), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another batchboard in the middle of a long write
    try:
        assert main(["submit", str(path), "--yes"]) == 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    err = capsys.readouterr().err
    assert "Traceback" not in err and "database is locked" in err
    assert f"the local store ({paths.database_file()}) could not be written" in err
    assert "Another batchboard process" in err and "try again when it is done" in err
    assert listed.store.all() == []  # nothing was sent
    assert main(["submit", str(path), "--yes"]) == 0  # once it is free, the same command sends


@pytest.fixture
def live(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """An emulator on the system clock, the CLI's own: the send window is measured on both."""
    emu = Emulator(EmulatorSettings(seed=4, demo=False, error_rate=0.0))
    with emu.running_in_thread() as base_url:
        monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", base_url)
        yield emu


def test_one_batch_that_fits_two_lost_chunks_is_taken_for_neither_and_said_so(
    live: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = live
    path = write_jsonl(tmp_path / "in.jsonl", 3)
    create = "/v1/messages/batches"
    listed.faults.add(Fault(kind="drop_before", method="POST", path=create))  # never created
    assert main(["submit", str(path), "--yes"]) == 1
    first = capsys.readouterr().err
    assert "it was most likely never created" in first
    listed.faults.add(Fault(kind="drop_after", method="POST", path=create))  # the same file again: created
    assert main(["submit", str(path), "--yes"]) == 1
    out, err = capsys.readouterr()
    [batch] = listed.store.all()
    # Both lost chunks fit the one batch: neither takes it, and each says why (the earlier one's old
    # explanation is not quoted inside the new one).
    said = out + err
    assert f"the one batch created after the send began with its 3 requests ({batch.id})" in err
    assert "fits another chunk whose answer was lost too" in said and "1 batches" not in said
    assert "its create answer was lost (batch 1 of 1" not in said


def test_a_download_that_gives_up_on_500s_says_what_to_do(index: ResultsIndex) -> None:
    lines = [succeeded("ok-1")]
    batch = ended_batch("msgbatch_fails", lines)

    def failing() -> Any:
        raise StatusError(500, "api_error", "Internal server error")

    with pytest.raises(IngestError) as info:
        ingest(batch.id, index, batch=batch, source=failing, attempts=3, sleep=lambda _: None)
    said = str(info.value)
    assert "after 3 attempts: HTTP 500 api_error: Internal server error (request req_test)" in said
    assert "Nothing was kept. The service is failing on its side" in said and STATUS_PAGE in said
