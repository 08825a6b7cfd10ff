"""The book's filter (`BatchBook.filtered`: state classes, name search narrowed letter by letter, results kept
until the book changes) against a plain scan of every batch, through random changes: states, new and removed
batches, labels, sort modes, quick filters, and texts typed a letter at a time then deleted. Seeded."""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime, timedelta

import pytest
from tests.conftest import HOSTILE

from batchboard.core.clock import ManualClock
from batchboard.core.models import Batch, RequestCounts
from batchboard.core.store import Store
from batchboard.ui import ordering
from batchboard.ui.book import BatchBook, QuickFilter, SortMode
from batchboard.ui.ordering import MERGE_LIMIT

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
ID_LETTERS = string.ascii_letters + string.digits
WORDS = (
    "ended",
    "running",
    "in_progress",
    "canceling",
    "partial",
    "failed",
    "expired",
    "succeeded",
    "nightly",
)


def random_batch(rng: random.Random, batch_id: str | None = None) -> Batch:
    batch_id = batch_id or "msgbatch_" + "".join(rng.choices(ID_LETTERS, k=24))
    created = NOW - timedelta(minutes=rng.randrange(60 * 24 * 40))
    status = rng.choice(("in_progress", "in_progress", "canceling", "ended", "ended", "ended"))
    if status == "ended":
        counts = RequestCounts(
            succeeded=rng.choice((0, 5, 10)),
            errored=rng.choice((0, 0, 2)),
            canceled=rng.choice((0, 0, 1)),
            expired=rng.choice((0, 0, 3)),
        )
    else:
        counts = RequestCounts(processing=10, errored=rng.choice((0, 1)))
    ended = status == "ended"
    return Batch(
        id=batch_id,
        processing_status=status,
        counts=counts,
        created_at=created,
        expires_at=created + timedelta(hours=24),
        ended_at=created + timedelta(hours=1) if ended else None,
        cancel_initiated_at=created + timedelta(minutes=30) if ended and counts.canceled else None,
    )


class Scan:
    """What the filter's words say each batch shows, in the book's order now: tested one by one."""

    def __init__(self, book: BatchBook, mode: SortMode) -> None:
        self.rows = []
        for batch_id in book.ordered(mode):
            b = book.batches[batch_id]
            label = book.labels.get(batch_id, "").casefold()
            fields = (batch_id.casefold(), label, b.processing_status, b.outcome.value)
            self.rows.append((batch_id, b.is_active, b.is_ended, bool(b.counts.errored), fields))

    def shown(self, text: str, quick: QuickFilter) -> list[str]:
        needle = text.casefold()
        shown = []
        for batch_id, active, ended, errored, fields in self.rows:
            if quick is QuickFilter.ACTIVE and not active:
                continue
            if quick is QuickFilter.ENDED and not ended:
                continue
            if quick is QuickFilter.ERRORS and not errored:
                continue
            if not needle or any(needle in f for f in fields):
                shown.append(batch_id)
        return shown


def needles(rng: random.Random, book: BatchBook) -> list[str]:
    ids = list(book.batches)
    some_id = rng.choice(ids)
    at = rng.randrange(9, 30)
    label = rng.choice(list(book.labels.values()) or ["x"])
    return [
        rng.choice(WORDS)[: rng.randrange(1, 8)],  # a status, or the start of one
        some_id[at : at + rng.randrange(1, 6)],  # a piece of an id
        some_id[at : at + 3].upper(),
        label[: rng.randrange(1, 6)],
        rng.choice(ID_LETTERS),  # one letter: in many ids and some states
        "ed",  # in several states and a few ids
        "msgbatch",  # in every id
        "zzzzzz",
        "ended\nfailed",  # a newline: never matches across two fields
        HOSTILE,
    ]


def check_typing(book: BatchBook, scan: Scan, mode: SortMode, quick: QuickFilter, text: str) -> None:
    """Type `text` a letter at a time (the first few letters, then the rest at once) and delete it again,
    as the filter input sends it."""
    steps = [text[:n] for n in range(1, min(len(text), 6) + 1)]
    if len(text) > 6:
        steps.append(text)
    for typed in [*steps, *reversed(steps[:-1]), ""]:
        assert book.filtered(mode, typed, quick) == scan.shown(typed, quick), (mode, quick, typed)


@pytest.mark.parametrize("merge_limit", [MERGE_LIMIT, 4])
def test_the_filter_shows_what_a_plain_scan_shows_through_changes(
    merge_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the merge limit as shipped, and low enough that a quick filter's rows are picked in one pass."""
    monkeypatch.setattr(ordering, "MERGE_LIMIT", merge_limit)
    rng = random.Random(20261207)
    clock = ManualClock(NOW)
    book = BatchBook(clock, Store.memory())
    for _ in range(1_000):
        book.apply(random_batch(rng))
    for batch_id in rng.sample(list(book.batches), 150):
        book.labels[batch_id] = rng.choice(("Nightly-eval ", "NIGHTLY ", "ëval ", "ab ")) + str(rng.random())
    for step in range(6):
        mode = rng.choice(list(SortMode))
        scan = Scan(book, mode)
        for quick in QuickFilter:
            for text in needles(rng, book):
                check_typing(book, scan, mode, quick, text)
        # Change the book: states (a class may change without the sort key), new batches, removed ones,
        # labels set and cleared; once, all of them (more than the ordering takes a few at a time).
        ids = list(book.batches)
        for batch_id in ids if step == 3 else rng.sample(ids, 40):
            book.apply(random_batch(rng, batch_id))
        for _ in range(10):
            book.apply(random_batch(rng))
        for batch_id in rng.sample(ids, 5):
            book.remove(batch_id)
        for batch_id in rng.sample(list(book.batches), 8):
            book.labels[batch_id] = rng.choice(("nightly ", "Eval ", "")) + rng.choice(ID_LETTERS)
        for batch_id in rng.sample(list(book.labels), 3):
            book.labels.pop(batch_id)
        clock.advance(rng.randrange(3600))


def test_every_way_of_finding_rows_occurs_in_such_data() -> None:
    """The cases the filter tells apart all occur in data like the test's above, so the comparison covers
    each: a text only states hold, one only names hold, a few names beside a state's rows (merged one at a
    time), many of both (one pass), and one every name holds."""
    rng = random.Random(7)
    book = BatchBook(ManualClock(NOW), Store.memory())
    for _ in range(1_000):
        book.apply(random_batch(rng))
    some_id = next(iter(book.batches))

    def found_by(text: str) -> tuple[int, int]:
        """(batches whose state holds `text`, batches only whose id or label does)."""
        needle = text.casefold()
        by_state = by_name = 0
        for batch_id, b in book.batches.items():
            if needle in b.processing_status or needle in b.outcome.value:
                by_state += 1
            elif needle in batch_id.casefold():
                by_name += 1
        return by_state, by_name

    assert found_by("partial")[0] and not found_by("partial")[1]
    assert found_by(some_id[12:18]) == (0, 1)
    by_state, by_name = found_by("ed")
    assert by_state and 0 < by_name <= MERGE_LIMIT
    by_state, by_name = found_by("a")
    assert by_state and by_name > MERGE_LIMIT
    assert (
        sum(found_by("msgbatch"))
        == len(book.filtered(SortMode.CREATED, "msgbatch", QuickFilter.ALL))
        == 1_000
    )
