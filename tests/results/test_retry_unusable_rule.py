"""`R` for a batch whose only problems are unusable answers (truncated, invalid output, refused): the rule is
core's (`Batch.can_retry_with` on the results index's counts), the controller's `why_not` asks it, and the
retry screen then starts with those classes chosen."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.results.helpers import answer, ended_batch, index_lines, params, succeeded
from textual.app import App

from batchboard.core.clock import ManualClock
from batchboard.core.config import Settings
from batchboard.core.jobs import Selection, plan_retry
from batchboard.core.models import RequestCounts
from batchboard.core.results.index import ResultsIndex
from batchboard.core.results.service import ResultsService
from batchboard.core.store import Store
from batchboard.ui.book import BatchBook
from batchboard.ui.controller import Controller

CUT = "msgbatch_only_truncated"
CLEAN = "msgbatch_all_usable"
LATER = "msgbatch_not_downloaded"


def never_connects() -> Any:
    raise AssertionError("this test never connects")


def ingested(index: ResultsIndex, batch_id: str, lines: list[dict[str, Any]]) -> None:
    index_lines(index, batch_id, lines, requests={line["custom_id"]: params() for line in lines})


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[Controller]:
    store = Store.open(tmp_path / "db.sqlite3")
    index = ResultsIndex(store)  # in the default directory, where plan_retry opens its own
    cut = [succeeded(f"ok-{i}") for i in range(3)] + [
        answer(f"cut-{i}", "half a", "max_tokens") for i in range(2)
    ]
    clean = [succeeded(f"fine-{i}") for i in range(4)]
    ingested(index, CUT, cut)
    ingested(index, CLEAN, clean)
    clock = ManualClock()
    settings = Settings()
    book = BatchBook(clock, store)
    book.results = ResultsService(index, settings, clock)
    later = dataclasses.replace(ended_batch(LATER, clean), id=LATER)
    for batch in (ended_batch(CUT, cut), ended_batch(CLEAN, clean), later):
        book.apply(batch)
    controller = Controller(App(), book=book, settings=settings, connect=never_connects)
    # Before the connection, R waits for it (and says so) whatever the batch holds.
    assert controller.why_not("retry", CUT) == "connecting… the retry will be offered once connected"
    controller.api = object()  # type: ignore[assignment]  # as if connected: why_not asks nothing of it
    yield controller
    index.close()
    store.close()


def test_core_rule_counts_unusable_answers_only_for_an_ended_batch() -> None:
    batch = ended_batch(CUT, [succeeded("a"), succeeded("b")])
    assert not batch.can_retry and not batch.can_retry_with(0)
    assert batch.can_retry_with(2)
    running = dataclasses.replace(batch, processing_status="in_progress", ended_at=None)
    assert not running.can_retry_with(2)
    failed = dataclasses.replace(batch, counts=RequestCounts(succeeded=1, errored=1))
    assert failed.can_retry and failed.can_retry_with(0)


def test_retry_applies_to_a_batch_whose_only_problems_are_unusable(controller: Controller) -> None:
    assert controller.book.unusable(CUT) == {"truncated": 2}
    assert controller.why_not("retry", CUT) is None
    assert controller.why_not("retry", CLEAN) == "no failed or unusable items in this batch"
    # Results not here yet: it cannot tell, and says so rather than claim there is nothing.
    reason = controller.why_not("retry", LATER)
    assert reason is not None and "counted once its results are here" in reason


def test_the_retry_screen_starts_with_the_unusable_classes_and_plans_them(controller: Controller) -> None:
    batch = controller.book.batches[CUT]
    types = controller._retry_types(batch)
    assert types is not None and "truncated" in types.split(",")
    plan = plan_retry(controller.store, CUT, Selection.parse(types))
    assert plan.groups == {"truncated": 2}
    assert sorted(custom_id for custom_id, _ in plan.requests) == ["cut-0", "cut-1"]


def test_the_counts_are_read_once_until_they_change(
    controller: Controller, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = controller.results
    assert service is not None
    reads: list[int] = []
    read_all = service.index.all_unusable_counts

    def counted() -> dict[str, dict[str, int]]:
        reads.append(1)
        return read_all()

    monkeypatch.setattr(service.index, "all_unusable_counts", counted)
    service.changed()
    for _ in range(10):  # the footer asks on every cursor move
        assert controller.why_not("retry", CUT) is None
        controller.why_not("retry", CLEAN)
    assert len(reads) == 1
    monkeypatch.setattr(controller, "load_sources", lambda: None)  # a thread worker, on a running app
    controller.attached(CLEAN)  # a linked file rechecks outputs: read again
    assert controller.why_not("retry", CUT) is None and len(reads) == 2
