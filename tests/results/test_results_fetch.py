"""Which ended batches the background fetcher picks, and in what order (`core.results_fetch`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from batchboard.core.clock import ManualClock
from batchboard.core.models import Batch, RequestCounts
from batchboard.core.results.fetch import results_to_fetch

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def batch(name: str, age: timedelta, *, ended: bool = True, archived: bool = False) -> Batch:
    created = NOW - age
    return Batch(
        id=f"msgbatch_{name}",
        processing_status="ended" if ended else "in_progress",
        counts=RequestCounts(succeeded=10) if ended else RequestCounts(processing=10),
        created_at=created,
        expires_at=created + timedelta(hours=24),
        ended_at=created + timedelta(hours=1) if ended else None,
        archived_at=NOW - timedelta(days=1) if archived else None,
    )


def pick(
    batches: list[Batch],
    clock: ManualClock,
    *,
    days: int = 7,
    indexed: frozenset[str] = frozenset(),
    unavailable: frozenset[str] = frozenset(),
    skip: frozenset[str] = frozenset(),
) -> list[str]:
    chosen = results_to_fetch(
        batches,
        now=clock.now(),
        days=days,
        is_indexed=lambda b: b in indexed,
        unavailable_reason=lambda b: "archived" if b in unavailable else None,
        skip=skip,
    )
    return [b.id.removeprefix("msgbatch_") for b in chosen]


WORLD = [
    batch("two-days", timedelta(days=2)),
    batch("an-hour", timedelta(hours=1)),
    batch("running", timedelta(minutes=10), ended=False),
    batch("six-days", timedelta(days=6, hours=23)),
    batch("eight-days", timedelta(days=8)),
    batch("archived", timedelta(days=3), archived=True),
    batch("indexed", timedelta(days=1)),
    batch("unavailable", timedelta(days=1, hours=1)),
]


def test_recent_ended_batches_not_here_yet_newest_first() -> None:
    clock = ManualClock(NOW)
    chosen = pick(
        WORLD,
        clock,
        indexed=frozenset({"msgbatch_indexed"}),
        unavailable=frozenset({"msgbatch_unavailable"}),
    )
    assert chosen == ["an-hour", "two-days", "six-days"]


def test_the_window_moves_with_the_clock_and_its_edge_is_included() -> None:
    clock = ManualClock(NOW)
    assert pick(WORLD, clock, days=2) == ["an-hour", "indexed", "unavailable", "two-days"]
    clock.advance(hours=1)  # "two-days" is now older than two days
    assert pick(WORLD, clock, days=2) == ["an-hour", "indexed", "unavailable"]
    clock.advance(days=30)
    assert pick(WORLD, clock) == []


def test_zero_days_turns_it_off_and_asks_nothing() -> None:
    asked: list[str] = []

    def is_indexed(batch_id: str) -> bool:
        asked.append(batch_id)
        return False

    chosen = results_to_fetch(
        WORLD, now=NOW, days=0, is_indexed=is_indexed, unavailable_reason=lambda b: None
    )
    assert chosen == [] and asked == []


def test_only_candidates_reach_the_store_and_skipped_ids_are_not_asked_again() -> None:
    asked: list[str] = []

    def is_indexed(batch_id: str) -> bool:
        asked.append(batch_id)
        return False

    chosen = results_to_fetch(
        WORLD,
        now=NOW,
        days=7,
        is_indexed=is_indexed,
        unavailable_reason=lambda b: None,
        skip={"msgbatch_two-days"},
    )
    assert [b.id for b in chosen] == [
        "msgbatch_an-hour",
        "msgbatch_indexed",
        "msgbatch_unavailable",
        "msgbatch_six-days",
    ]
    # Neither the running, the archived, the too old nor the skipped batch cost a look-up.
    assert sorted(asked) == sorted(b.id for b in chosen)


def test_same_creation_time_is_ordered_by_id() -> None:
    twins = [batch("b", timedelta(hours=1)), batch("a", timedelta(hours=1)), batch("c", timedelta(hours=1))]
    assert pick(twins, ManualClock(NOW)) == ["c", "b", "a"]
