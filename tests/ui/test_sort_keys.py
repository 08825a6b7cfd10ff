"""The dashboard's status and expiry sorts, on the book's keys with a ManualClock: the nearest deadline first,
archived batches last, and an ordering kept between calls re-sorts when the clock archives a batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from batchboard.core.clock import ManualClock
from batchboard.core.models import RESULTS_RETENTION, Batch, RequestCounts
from batchboard.core.store import Store
from batchboard.ui.book import BatchBook, SortMode

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
DAY = timedelta(hours=24)


def batch(name: str, age: timedelta, *, ended: bool = False, archived: bool = False, **counts: int) -> Batch:
    created = NOW - age
    return Batch(
        id=f"msgbatch_{name:0>24}",
        processing_status="ended" if ended else "in_progress",
        counts=RequestCounts(**(counts or ({"succeeded": 1} if ended else {"processing": 1}))),
        created_at=created,
        expires_at=created + DAY,
        ended_at=created + timedelta(hours=1) if ended else None,
        archived_at=created + RESULTS_RETENTION if archived else None,
    )


def book_of(clock: ManualClock, *batches: Batch) -> BatchBook:
    book = BatchBook(clock, Store.memory())
    for b in batches:
        book.apply(b)
    return book


def names(ids: list[str]) -> list[str]:
    return [i.removeprefix("msgbatch_").lstrip("0") for i in ids]


def test_expiry_puts_the_soonest_deadline_first_and_the_archived_last() -> None:
    clock = ManualClock(NOW)
    book = book_of(
        clock,
        batch("young", timedelta(hours=1)),  # expires in 23 h
        batch("old", DAY - timedelta(seconds=32)),  # expires in 32 s
        batch("soon", timedelta(days=28, hours=23), ended=True),  # archived in an hour
        batch("later", timedelta(days=3), ended=True),  # archived in 26 days
        batch("gone", timedelta(days=30), ended=True, archived=True),  # the API says archived a day ago
        batch("lapsed", timedelta(days=29, hours=2), ended=True),  # past 29 days, not yet marked by the API
        batch("long", timedelta(days=40), ended=True, archived=True),
    )
    order = sorted(book.batches, key=book.sort_key(SortMode.EXPIRY))
    assert names(order) == ["old", "young", "soon", "later", "lapsed", "gone", "long"]
    assert book.ordered(SortMode.EXPIRY) == order


def test_status_sorts_each_group_that_needs_attention_by_its_deadline() -> None:
    clock = ManualClock(NOW)
    running = [batch(f"run{i}", timedelta(hours=h)) for i, h in enumerate((1, 5, 9))]
    expiring = batch("expiring", DAY - timedelta(seconds=32))
    book = book_of(
        clock,
        *running,
        expiring,
        batch("failnew", timedelta(days=1), ended=True, errored=3),
        batch("failold", timedelta(days=28, hours=23), ended=True, errored=3),
        batch("failgone", timedelta(days=30), ended=True, archived=True, errored=3),
        batch("oknew", timedelta(days=1), ended=True),
        batch("okold", timedelta(days=20), ended=True),
    )
    order = names(sorted(book.batches, key=book.sort_key(SortMode.STATUS)))
    # The running batch expiring in 32 s comes first of the running ones, not 4th by creation.
    assert order[:4] == ["expiring", "run2", "run1", "run0"]
    assert order[4:7] == ["failold", "failnew", "failgone"]  # archived in an hour, in 28 days, archived
    assert order[7:] == ["oknew", "okold"]  # what needs nothing stays newest first


def test_a_kept_ordering_moves_a_batch_when_the_clock_archives_it() -> None:
    clock = ManualClock(NOW)
    soon = batch("soon", RESULTS_RETENTION - timedelta(minutes=5), ended=True, errored=1)
    book = book_of(clock, soon, batch("later", timedelta(days=3), ended=True, errored=1))
    for mode in (SortMode.EXPIRY, SortMode.STATUS):
        clock.set(NOW)
        assert names(book.ordered(mode)) == ["soon", "later"]
        clock.advance(minutes=4)
        assert names(book.ordered(mode)) == ["soon", "later"]
        clock.advance(minutes=2)  # its results are archived now: after every batch that still has them
        assert names(book.ordered(mode)) == ["later", "soon"]
