"""The demo shows every group of unusable answers: its structured batches are recorded as sent from files
by batchboard, so their answers are checked against their schemas when their results are indexed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import anthropic
import orjson
import pytest

from batchboard.core.clock import ManualClock
from batchboard.core.config import Settings
from batchboard.core.models import Batch
from batchboard.core.results.index import ResultsIndex
from batchboard.core.results.service import ResultsService
from batchboard.core.store import Store
from batchboard.core.submit.intents import stored_requests, submission_for_batch
from batchboard.demo import DEMO_API_KEY, DemoBackend
from batchboard.emulator.demo import DEMO_BATCHES

START = datetime(2026, 11, 23, 12, tzinfo=UTC)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[DemoBackend, Store]]:
    with Store.open(tmp_path / "demo.sqlite3") as store:
        backend = DemoBackend(clock=ManualClock(START))
        backend.sent_from = (store, tmp_path / "demo-requests")
        backend.start()
        try:
            yield backend, store
        finally:
            backend.close()


def test_structured_demo_batches_are_recorded_as_sent_from_files(
    demo: tuple[DemoBackend, Store], tmp_path: Path
) -> None:
    backend, store = demo
    assert backend.emulator is not None
    ids = dict(zip(backend.emulator.demo_batch_ids, DEMO_BATCHES, strict=True))
    structured = [b for b, spec in ids.items() if spec.sent_here]
    assert len(structured) == 2 and all(ids[b].schema is not None for b in structured)
    for batch_id, spec in ids.items():
        submission = submission_for_batch(store, batch_id)
        if not spec.sent_here:
            assert submission is None  # sent elsewhere: `a` attaches its file (the ticket triage batch)
            continue
        assert submission is not None and submission.kind == "file" and submission.source_path is not None
        source = Path(submission.source_path)
        assert source.parent == (tmp_path / "demo-requests").resolve() and source.is_file()
        assert submission.request_count == spec.count == len(source.read_bytes().splitlines())
        assert [c.batch_id for c in submission.chunks] == [batch_id]
        sent = [orjson.loads(line) for line in backend.emulator.request_lines(batch_id)]
        stored = {cid: orjson.loads(p) for cid, p in stored_requests(store, batch_id).items()}
        assert stored == {r["custom_id"]: r["params"] for r in sent}  # exactly what the emulator answers
        asked = [p.get("output_config", {}).get("format", {}).get("schema") for p in stored.values()]
        assert asked.count(spec.schema) >= spec.count * spec.schema_share * 0.9
    # Recorded ended, before the first round: their ends are old news, never announced.
    assert set(structured) <= store.end_notified_ids()


def test_each_group_shows_once_the_results_are_indexed(
    demo: tuple[DemoBackend, Store], tmp_path: Path
) -> None:
    backend, store = demo
    assert backend.emulator is not None and backend.base_url is not None
    base_url = backend.base_url

    def client() -> anthropic.Anthropic:
        return anthropic.Anthropic(api_key=DEMO_API_KEY, base_url=base_url, max_retries=0)

    clock = ManualClock(START)
    service = ResultsService(ResultsIndex(store, tmp_path / "results"), Settings(), clock, client)
    found: dict[str, dict[str, int]] = {}
    with client() as sdk:
        for batch_id, spec in zip(backend.emulator.demo_batch_ids, DEMO_BATCHES, strict=True):
            if spec.sent_here:
                service.ensure(Batch.from_api(sdk.messages.batches.retrieve(batch_id)))
                found[spec.prefix + str(spec.count)] = service.unusable(batch_id)
    assert set(found["invoice250"]) == {"truncated", "invalid_output", "refused"}  # `e` shows all three
    assert found["invoice1800"].get("invalid_output") and found["invoice1800"].get("refused")
