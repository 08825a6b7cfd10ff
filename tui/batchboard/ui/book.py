"""What the UI knows about the batches: the latest state, labels, freshness, and cached ETAs.

The dashboard fills it from poll updates; the table, the header summary and the detail screen read it.
Summary figures are kept incrementally, so a round in which 50 of 10,000 batches change costs 50 steps.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from batchboard.core.clock import Clock
from batchboard.core.format import printable
from batchboard.core.models import Batch, Outcome
from batchboard.core.store import SavedView, Store
from batchboard.ui.ordering import CACHE_SIZE, Finder, Ordering, StateClasses

if TYPE_CHECKING:
    from batchboard.core.cost import BatchCost
    from batchboard.core.eta import DurationSample, Eta
    from batchboard.core.poller import PollStatus
    from batchboard.core.results.service import ResultsService


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


@dataclass(frozen=True, slots=True)
class SpendTexts:
    """The header's amounts as texts (this month, today, all time, this month's saving)."""

    month: str
    today: str
    all_time: str
    saved: str


def spend_texts(service: ResultsService | None) -> SpendTexts | None:
    """The amounts the header shows, one by one (it drops them whole when narrow); None until some batch of
    this month has been priced (a zero would claim more than is known)."""
    if service is None:
        return None
    totals = service.totals()
    month = totals.this_month
    if month.batches == 0:
        return None
    today, every = totals.today, totals.all_time
    return SpendTexts(
        month=cost_text(month.cost, not month.incomplete),
        today=cost_text(today.cost, not today.incomplete),
        all_time=cost_text(every.cost, not every.incomplete),
        saved=cost_text(month.saving, not month.incomplete),
    )


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

#: Outcomes that need attention, sorted by their nearest deadline within their group (running and canceling
#: batches by expiry, ended ones by when their results are archived, the archived ones last); the others
#: newest first.
BY_DEADLINE = frozenset(
    {Outcome.RUNNING, Outcome.CANCELING, Outcome.FAILED, Outcome.PARTIAL, Outcome.EXPIRED}
)

#: The sort modes whose keys depend on the time (a batch's results become archived as the clock passes).
TIMED_MODES = frozenset({SortMode.STATUS, SortMode.EXPIRY})


def deadline_key(batch: Batch, now: float) -> tuple[bool, float]:
    """(archived, order) for a batch's nearest deadline at time `now` (a timestamp): an active batch's
    expiry, then an ended batch's archival, soonest first; archived batches after every other, the most
    recently archived first."""
    if batch.is_active:
        return (False, batch.expires_at.timestamp())
    ends = batch.retention_ends_at.timestamp()
    if batch.archived_at is not None or ends <= now:
        return (True, -ends)
    return (False, ends)


def next_archival(batch: Batch, now: float) -> float:
    """When `batch` becomes archived by the clock alone (its sort key then changes), or infinity."""
    if batch.is_active or batch.archived_at is not None:
        return float("inf")
    ends = batch.retention_ends_at.timestamp()
    return ends if ends > now else float("inf")


#: ETAs move slowly; recompute one at most this often (seconds of the injected clock).
ETA_TTL = 30.0


class Labels(dict[str, str]):
    """The labels by batch id; every change is reported, so the search fields stay in step."""

    def __init__(self, values: Mapping[str, str], on_change: Callable[[str], None]) -> None:
        super().__init__(values)
        self._on_change = on_change

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key, value)
        self._on_change(key)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._on_change(key)

    def pop(self, key: str, *default: Any) -> Any:
        value = super().pop(key, *default)
        self._on_change(key)
        return value

    def setdefault(self, key: str, default: str = "") -> str:
        value = super().setdefault(key, default)
        self._on_change(key)
        return value

    def update(self, *args: Any, **kwargs: str) -> None:
        changes = dict(*args, **kwargs)
        super().update(changes)
        for key in changes:
            self._on_change(key)

    def clear(self) -> None:
        keys = list(self)
        super().clear()
        for key in keys:
            self._on_change(key)

    def popitem(self) -> tuple[str, str]:
        key, value = super().popitem()
        self._on_change(key)
        return key, value


class BatchBook:
    def __init__(self, clock: Clock, store: Store) -> None:
        self.clock = clock
        self.store = store
        self.batches: dict[str, Batch] = {}
        self._stale: set[str] = set()  # batches (or labels) changed since the ordering was brought up to date
        self._labels = Labels(store.labels(), self._stale.add)
        self.status: PollStatus | None = None  # None until the first round has answered
        self.connected = False
        self.saved_at: datetime | None = None
        """When the table shown came from the store (the last session's), until the first round lands."""
        self.saved_selection: str | None = None
        """The batch the cursor is on (at start: was on when the app last quit), saved on quit."""
        self.active_count = 0
        self.in_flight = 0
        self._ended_on: Counter[date] = Counter()
        self._history: list[DurationSample] | None = None
        self._eta_cache: dict[str, tuple[datetime, Eta]] = {}
        self.results: Any = None
        """The results service (`core.results.service.ResultsService`): costs of the batches whose results
        are indexed locally. Read before the first frame when the app is given one (the saved view's
        costs), else made once connected."""
        self.version = 0
        """Bumped whenever a batch is taken or removed: orders computed from the batches are valid while
        it stays the same."""
        # Each batch's state class for the filter, kept while the batch stays the same (dropped for the
        # batches in `_stale` when the ordering catches up): finding it costs about a microsecond.
        self._code_of: dict[str, int] = {}
        self._classes = StateClasses()
        self._finder = Finder(self._classes)
        self._ordering: Ordering | None = None
        self.order_version = 0
        """Bumped whenever the ordered list of batches changes (a batch added, removed or moved)."""
        self._view_version = 0  # bumped when the ordering or anything a filter reads changed
        self._filtered: dict[tuple[Any, ...], list[str]] = {}
        self._filtered_version = -1

    @property
    def labels(self) -> dict[str, str]:
        """Labels by batch id (changes to it are seen by the filter)."""
        return self._labels

    @labels.setter
    def labels(self, labels: Mapping[str, str]) -> None:
        self._labels = Labels(labels, self._stale.add)
        self._ordering = None  # every label may differ: the names are built again when needed

    # -- state -----------------------------------------------------------------------------------

    def show_saved(self, saved: SavedView) -> None:
        """Start from the last session's table: its batches as last seen, the cursor's batch."""
        for batch in saved.batches:
            self.apply(batch)
        if saved.batches:
            self.saved_at = saved.saved_at or self.clock.now()
        self.saved_selection = saved.selected_batch_id

    @property
    def showing_saved(self) -> bool:
        """The rows are the saved view: no round has landed yet."""
        return self.saved_at is not None and self.status is None

    def apply(self, batch: Batch) -> Batch | None:
        """Take the latest state of a batch; returns the previous one."""
        previous = self.batches.get(batch.id)
        if previous is not None:
            self._count(previous, -1)
        self.version += 1
        self.batches[batch.id] = batch
        self._stale.add(batch.id)
        self._count(batch, +1)
        if previous is not None and previous.is_active and batch.is_ended:
            self._history = None  # a new duration sample for ETAs
        return previous

    def remove(self, batch_id: str) -> None:
        previous = self.batches.pop(batch_id, None)
        if previous is not None:
            self.version += 1
            self._stale.add(batch_id)
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

    def unusable(self, batch_id: str) -> dict[str, int]:
        """Class -> count of the batch's succeeded answers that are unusable (from the results index,
        cached for every batch at once); empty until its results are indexed, or when all are usable."""
        return self.results.unusable(batch_id) if self.results is not None else {}

    @property
    def results_version(self) -> int:
        """Changes whenever indexed results change (an ingest, a recheck): cells drawn from costs or
        unusable counts before it are out of date."""
        return self.results.version if self.results is not None else 0

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
        """`batch` passes the quick filter (which reads only its status and counts) and `text` is in its
        id or label (casefolded), its status or its outcome."""
        if quick is QuickFilter.ACTIVE and not batch.is_active:
            return False
        if quick is QuickFilter.ENDED and not batch.is_ended:
            return False
        if quick is QuickFilter.ERRORS and not batch.counts.errored:
            return False
        if not text:
            return True
        return self._text_matches(batch, text.casefold())

    def ordered(self, mode: SortMode) -> list[str]:
        """Every batch id in `mode`'s order. Kept between calls and brought up to date with the batches
        changed since (re-sorted whole only after many changes); do not change the list."""
        ordering = self._ordering
        stale = self._stale
        now = self.clock.now().timestamp()
        if (
            ordering is None
            or ordering.mode is not mode
            or len(stale) > max(1_000, len(ordering.ids) // 20)
            or now >= ordering.valid_until  # a batch got archived by the clock: its key moved
        ):
            key_of = self.sort_key(mode)
            ordering = Ordering(mode, sorted((key_of(b), b) for b in self.batches))
            if mode in TIMED_MODES:
                ordering.valid_until = min(
                    (next_archival(b, now) for b in self.batches.values()), default=float("inf")
                )
            self._ordering = ordering
            self._forget_search(stale)
            stale.clear()
            self.order_version += 1
            self._view_version += 1
        elif stale:
            self._refresh_ordering(ordering)
        ordering.shared = True
        return ordering.ids

    def _refresh_ordering(self, ordering: Ordering) -> None:
        key_of = self.sort_key(ordering.mode)
        now = self.clock.now().timestamp()
        moved = False
        self._forget_search(self._stale)
        for batch_id in self._stale:
            batch = self.batches.get(batch_id)
            old = ordering.key_of.get(batch_id)
            if batch is None:
                if old is not None:
                    ordering.remove(batch_id)
                    moved = True
                continue
            new = key_of(batch_id)
            if ordering.mode in TIMED_MODES:
                ordering.valid_until = min(ordering.valid_until, next_archival(batch, now))
            name = code = None
            if ordering.searchable:
                name, code = self._name(batch_id), self._code(batch_id)
            if old == new:
                if name is not None and code is not None:
                    ordering.set_search(batch_id, name, code)
                continue
            if old is not None:
                ordering.remove(batch_id)
            ordering.insert(batch_id, new, name, code)
            moved = True
        self._stale.clear()
        self._view_version += 1
        if moved:
            self.order_version += 1

    def filtered(self, mode: SortMode, text: str, quick: QuickFilter) -> list[str]:
        """The batch ids that pass the filter, in `mode`'s order: what the table shows. The quick filter and
        the status and outcome are decided per state class (`ui/ordering.py`), the text is looked for in the
        names, and results are kept until the book changes. Do not change the list."""
        ids = self.ordered(mode)
        ordering = self._ordering
        assert ordering is not None
        if self._filtered_version != self._view_version:
            self._filtered.clear()
            self._finder.clear()
            self._filtered_version = self._view_version
        needle = text.casefold()
        if not needle and quick is QuickFilter.ALL:
            return ids
        cache = self._filtered
        found = cache.get((mode, quick, needle))
        if found is not None:
            return found
        if not ordering.searchable:  # built once, then kept up to date with the batches
            ordering.search_with(self._names(ordering.ids), self._codes(ordering.ids))
        finder, classes = self._finder, self._classes
        if quick is QuickFilter.ALL:
            passing = frozenset(range(len(classes)))
        else:
            passing = classes.where(lambda batch: self.matches(batch, "", quick))
        if not needle:
            found = finder.rows_of(ordering, passing)
        elif "\n" in needle:  # cannot be typed; tested field by field, never across two
            batches = self.batches
            found = [b for b in finder.rows_of(ordering, passing) if self._text_matches(batches[b], needle)]
        else:
            found = finder.find(ordering, passing, needle)
        if len(cache) >= CACHE_SIZE:
            del cache[next(iter(cache))]
        cache[(mode, quick, needle)] = found
        return found

    def _name(self, batch_id: str) -> str:
        """What the text filter reads of a batch besides its state: its id and label, casefolded, a line
        each."""
        return "\n".join(self._search_fields(batch_id, self.labels.get(batch_id)))

    def _names(self, batch_ids: list[str]) -> list[str]:
        """`_name` of each (inlined: this runs for every batch once a filter is first typed)."""
        labels = self.labels
        if not labels:
            return [b.casefold() + "\n" for b in batch_ids]
        return [
            f"{b.casefold()}\n{labels[b].casefold()}" if b in labels else b.casefold() + "\n"
            for b in batch_ids
        ]

    def _code(self, batch_id: str) -> int:
        code = self._code_of.get(batch_id)
        if code is None:
            code = self._code_of[batch_id] = self._classes.code(self.batches[batch_id])
        return code

    def _codes(self, batch_ids: list[str]) -> list[int]:
        """`_code` of each (inlined, as `_names`)."""
        known, batches, classify, codes = self._code_of, self.batches, self._classes.code, []
        for batch_id in batch_ids:
            code = known.get(batch_id)
            if code is None:
                code = known[batch_id] = classify(batches[batch_id])
            codes.append(code)
        return codes

    def _forget_search(self, batch_ids: set[str]) -> None:
        """These batches changed: their state classes are out of date."""
        if self._code_of:
            for batch_id in batch_ids:
                self._code_of.pop(batch_id, None)

    def _text_matches(self, batch: Batch, needle: str) -> bool:
        """`needle` (casefolded) is in the id or label (casefolded), the status or the outcome, field by
        field (a needle with a newline never matches across two)."""
        name = self._search_fields(batch.id, self.labels.get(batch.id))
        return any(needle in field for field in (*name, batch.processing_status, batch.outcome.value))

    @staticmethod
    def _search_fields(batch_id: str, label: str | None) -> tuple[str, str]:
        return (batch_id.casefold(), (label or "").casefold())

    def sort_key(self, mode: SortMode) -> Callable[[str], Any]:
        """The sort key of a batch in `mode`, at the clock's time now (status and expiry depend on it)."""
        batches = self.batches
        now = self.clock.now().timestamp()

        if mode is SortMode.STATUS:

            def by_status(batch_id: str) -> Any:
                # Group by outcome; within a group that needs attention, the nearest deadline first.
                b = batches[batch_id]
                outcome = b.outcome
                if outcome in BY_DEADLINE:
                    return (STATUS_ORDER[outcome], *deadline_key(b, now), batch_id)
                return (STATUS_ORDER[outcome], False, -b.created_at.timestamp(), batch_id)

            return by_status
        if mode is SortMode.EXPIRY:

            def by_expiry(batch_id: str) -> Any:
                # Active batches by time to expiry, then ended ones by time to archival, then the archived.
                b = batches[batch_id]
                return (b.is_ended, *deadline_key(b, now), batch_id)

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
