"""What the UI knows about the batches: the latest state, labels, freshness, and cached ETAs.

The dashboard fills it from poll updates; the table, the header summary and the detail screen read it.
Summary figures are kept incrementally, so a round in which 50 of 10,000 batches change costs 50 steps.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from batchboard.core.clock import Clock
from batchboard.core.format import printable
from batchboard.core.models import Batch, Outcome
from batchboard.core.store import Store

if TYPE_CHECKING:
    from batchboard.core.cost import BatchCost
    from batchboard.core.eta import DurationSample, Eta
    from batchboard.core.poller import PollStatus


#: A cost whose models all lack a price: never "$0.00", which would say the batch was free.
NO_PRICE = "no price"


def cost_text(amount: float | None, complete: bool = True) -> str:
    """A cost as the table and header show it: "—" when not known yet, "$x" when every model is priced,
    "$x+?" when some are not (the priced part, plus an unknown), "no price" when none of it is priced."""
    from batchboard.core.format import usd

    if amount is None:
        return usd(None)
    if complete:
        return usd(amount)
    if amount == 0:
        return NO_PRICE
    return usd(amount) + "+?"


class QuickFilter(StrEnum):
    ALL = "all"
    ACTIVE = "active"
    ENDED = "ended"
    ERRORS = "with errors"


class SortMode(StrEnum):
    CREATED = "created"
    STATUS = "status"
    EXPIRY = "expiry"
    COST = "cost"

    def next(self) -> SortMode:
        modes = list(SortMode)
        return modes[(modes.index(self) + 1) % len(modes)]


#: Status sort: what needs attention first.
STATUS_ORDER = {
    Outcome.RUNNING: 0,
    Outcome.CANCELING: 1,
    Outcome.FAILED: 2,
    Outcome.PARTIAL: 3,
    Outcome.EXPIRED: 4,
    Outcome.CANCELED: 5,
    Outcome.SUCCEEDED: 6,
}

#: ETAs move slowly; recompute one at most this often (seconds of the injected clock).
ETA_TTL = 30.0


class BatchBook:
    def __init__(self, clock: Clock, store: Store) -> None:
        self.clock = clock
        self.store = store
        self.batches: dict[str, Batch] = {}
        self.labels: dict[str, str] = store.labels()
        self.status: PollStatus | None = None  # None until the first round has answered
        self.connected = False
        self.active_count = 0
        self.in_flight = 0
        self._ended_on: Counter[date] = Counter()
        self._history: list[DurationSample] | None = None
        self._eta_cache: dict[str, tuple[datetime, Eta]] = {}
        self.results: Any = None
        """The results service (`core.results_service.ResultsService`, set by the dashboard): costs of the
        batches whose results are indexed locally."""
        self.version = 0
        """Bumped whenever a batch is taken or removed: orders computed from the batches are valid while
        it stays the same."""
        self._search_memo: dict[str, tuple[Batch, str | None, str]] = {}

    # -- state -----------------------------------------------------------------------------------

    def apply(self, batch: Batch) -> Batch | None:
        """Take the latest state of a batch; returns the previous one."""
        previous = self.batches.get(batch.id)
        if previous is not None:
            self._count(previous, -1)
        self.version += 1
        self.batches[batch.id] = batch
        self._count(batch, +1)
        if previous is not None and previous.is_active and batch.is_ended:
            self._history = None  # a new duration sample for ETAs
        return previous

    def remove(self, batch_id: str) -> None:
        previous = self.batches.pop(batch_id, None)
        self._search_memo.pop(batch_id, None)
        if previous is not None:
            self.version += 1
            self._count(previous, -1)

    def _count(self, batch: Batch, sign: int) -> None:
        if batch.is_active:
            self.active_count += sign
            self.in_flight += sign * batch.counts.processing
        if batch.ended_at is not None:
            self._ended_on[batch.ended_at.date()] += sign

    def ended_on(self, day: date) -> int:
        return self._ended_on[day]

    def label(self, batch_id: str) -> str:
        """The label as displayed: control characters made visible, so a stored label cannot drive the
        terminal."""
        return printable(self.labels.get(batch_id, ""))

    def set_label(self, batch_id: str, label: str) -> None:
        label = label.strip()
        self.store.set_label(batch_id, label or None)
        if label:
            self.labels[batch_id] = label
        else:
            self.labels.pop(batch_id, None)

    def _cost_of(self, batch_id: str) -> BatchCost | None:
        return self.results.cost(batch_id) if self.results is not None else None

    def cost(self, batch_id: str) -> float | None:
        """Actual cost of a batch at batch price; None until its results are indexed, and None when a model
        in it has no price (a partial sum would read as the whole cost: see `cost_text`)."""
        found = self._cost_of(batch_id)
        return found.batch_cost if found is not None and found.complete else None

    def savings(self, batch_id: str) -> float | None:
        found = self._cost_of(batch_id)
        return found.saving if found is not None and found.complete else None

    def cost_text(self, batch_id: str) -> str:
        """The table's cost cell: "—" until indexed, "no price" / "$x+?" when a model has no price."""
        found = self._cost_of(batch_id)
        return cost_text(found.batch_cost, found.complete) if found is not None else cost_text(None)

    def savings_text(self, batch_id: str) -> str:
        found = self._cost_of(batch_id)
        return cost_text(found.saving, found.complete) if found is not None else cost_text(None)

    # -- ETA -------------------------------------------------------------------------------------

    def history(self) -> list[DurationSample]:
        if self._history is None:
            self._history = self.store.durations()
            self._eta_cache.clear()
        return self._history

    def eta(self, batch: Batch) -> Eta:
        now = self.clock.now()
        cached = self._eta_cache.get(batch.id)
        if cached is not None and abs((now - cached[0]).total_seconds()) < ETA_TTL:
            return cached[1]
        from batchboard.core.eta import estimate_eta  # not needed for the first frame

        history = self.history()
        eta = estimate_eta(batch.counts.total, batch.created_at, now, history)
        self._eta_cache[batch.id] = (now, eta)
        return eta

    # -- filter and sort -------------------------------------------------------------------------

    def matches(self, batch: Batch, text: str, quick: QuickFilter) -> bool:
        if quick is QuickFilter.ACTIVE and not batch.is_active:
            return False
        if quick is QuickFilter.ENDED and not batch.is_ended:
            return False
        if quick is QuickFilter.ERRORS and not batch.counts.errored:
            return False
        if not text:
            return True
        return self._text_matches(batch, text.casefold())

    def matching(self, batch_ids: Iterable[str], text: str, quick: QuickFilter) -> list[str]:
        """Those of `batch_ids` (all in the book), in the order given, whose batches pass the filter."""
        batches = self.batches
        if quick is not QuickFilter.ALL:
            batch_ids = [b for b in batch_ids if self.matches(batches[b], "", quick)]
        if not text:
            return list(batch_ids)
        needle = text.casefold()
        if "\n" in needle:
            return [b for b in batch_ids if self._text_matches(batches[b], needle)]
        # `_text_matches` inlined: this runs for every batch on a filter keystroke.
        memo, labels, found = self._search_memo, self.labels, []
        for batch_id in batch_ids:
            batch = batches[batch_id]
            kept = memo.get(batch_id)
            if kept is None or kept[0] is not batch or kept[1] != labels.get(batch_id):
                kept = self._remember_search(batch)
            if needle in kept[2]:
                found.append(batch_id)
        return found

    def _text_matches(self, batch: Batch, needle: str) -> bool:
        """`needle` (casefolded) is in the id or label (casefolded), the status or the outcome. The fields
        are kept joined by newlines per batch state and label, so filtering 10,000 batches folds no strings
        and makes one substring test each; a needle with a newline (none can be typed into the filter) is
        tested field by field, so it never matches across two."""
        label = self.labels.get(batch.id)
        if "\n" in needle:
            return any(needle in field for field in self._search_fields(batch, label))
        memo = self._search_memo.get(batch.id)
        if memo is None or memo[0] is not batch or memo[1] != label:
            memo = self._remember_search(batch)
        return needle in memo[2]

    def _remember_search(self, batch: Batch) -> tuple[Batch, str | None, str]:
        label = self.labels.get(batch.id)
        memo = (batch, label, "\n".join(self._search_fields(batch, label)))
        self._search_memo[batch.id] = memo
        return memo

    @staticmethod
    def _search_fields(batch: Batch, label: str | None) -> tuple[str, ...]:
        return (batch.id.casefold(), (label or "").casefold(), batch.processing_status, batch.outcome.value)

    def sort_key(self, mode: SortMode) -> Callable[[str], Any]:
        batches = self.batches

        if mode is SortMode.STATUS:

            def by_status(batch_id: str) -> Any:
                b = batches[batch_id]
                return (STATUS_ORDER[b.outcome], -b.created_at.timestamp(), batch_id)

            return by_status
        if mode is SortMode.EXPIRY:

            def by_expiry(batch_id: str) -> Any:
                # Active batches by time to expiry, then ended ones by time to archival.
                b = batches[batch_id]
                deadline = b.expires_at if b.is_active else b.retention_ends_at
                return (b.is_ended, deadline.timestamp(), batch_id)

            return by_expiry
        if mode is SortMode.COST:

            def by_cost(batch_id: str) -> Any:
                # Priced batches by cost, then those with a model of unknown price (never taken as
                # cheap), then those not indexed yet.
                b = batches[batch_id]
                found = self._cost_of(batch_id)
                rank = 2 if found is None else 0 if found.complete else 1
                known = found.batch_cost if found is not None else 0.0
                return (rank, -known, -b.created_at.timestamp(), batch_id)

            return by_cost

        def by_created(batch_id: str) -> Any:
            b = batches[batch_id]
            return (-b.created_at.timestamp(), batch_id)

        return by_created
