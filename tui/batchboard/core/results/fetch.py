"""Which ended batches get their results fetched in the background, and in what order: recent ones that are
not here yet, newest first, before the API deletes their results (29 days after creation)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import datetime, timedelta

from batchboard.core.models import Batch


def results_to_fetch(
    batches: Iterable[Batch],
    *,
    now: datetime,
    days: int,
    is_indexed: Callable[[str], bool],
    unavailable_reason: Callable[[str], str | None],
    skip: Collection[str] = (),
) -> list[Batch]:
    """The ended, not archived batches created at most `days` days before `now` whose results are neither
    indexed here nor known to be unavailable, newest first. `skip`: ids already decided (not asked about
    again). `days` 0 turns the fetching off. The cheap checks come first: the last two read the store."""
    if days <= 0:
        return []
    since = now - timedelta(days=days)
    chosen = [
        batch
        for batch in batches
        if batch.is_ended
        and batch.archived_at is None
        and batch.created_at >= since
        and batch.id not in skip
        and not is_indexed(batch.id)
        and unavailable_reason(batch.id) is None
    ]
    chosen.sort(key=lambda b: (b.created_at, b.id), reverse=True)
    return chosen
