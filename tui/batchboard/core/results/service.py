"""The results index and costs as one service for the app: cached per-batch costs, totals and unusable
counts for the table and header, and thread-safe ingestion (one at a time per batch) for workers.

Costs of ingested batches never change (results are final). What they are made of is read at once, one
query each (which batches are indexed and when they ended, their usage sums, their unusable counts); a
batch is priced when its cost is first asked for, and the totals are priced per period, so the first
frame's rows cost little even at 10,000 batches (`preload` reads it all before the first frame, off the UI
thread). An ingestion, a migration or a recheck of outputs drops the cache and bumps `version`, so what
the table drew from it is drawn again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from batchboard.core.clock import Clock
from batchboard.core.config import Settings
from batchboard.core.cost import BatchCost, CostTotals, UsageGroup, batch_cost, totals
from batchboard.core.models import Batch
from batchboard.core.results.index import FileState, ResultsIndex

if TYPE_CHECKING:
    from batchboard.core.gateway.client import Anthropic
    from batchboard.core.results.ingest import IngestReport, ProgressCallback

#: Builds a sync SDK client for a worker thread (raises IngestError when there is no connection yet).
SyncClientFactory = Callable[[], "Anthropic"]


@dataclass(slots=True)
class _Indexed:
    """What the costs are made of, read at once; each batch is priced when first asked for."""

    ended: dict[str, datetime | None]
    """Every batch whose results are indexed here -> when it ended."""
    usage: dict[str, list[UsageGroup]]
    unusable: dict[str, dict[str, int]]
    costs: dict[str, BatchCost] = field(default_factory=dict)


class ResultsService:
    def __init__(
        self,
        index: ResultsIndex,
        settings: Settings,
        clock: Clock,
        client_factory: SyncClientFactory | None = None,
    ) -> None:
        self.index = index
        self.settings = settings
        self.clock = clock
        self.client_factory = client_factory
        self._indexed: _Indexed | None = None
        self.version = 0
        """Bumped whenever cached costs or counts are dropped (read from any thread)."""
        self._totals: tuple[str, CostTotals] | None = None
        self._lock = threading.Lock()
        self._running: dict[str, threading.Lock] = {}

    # ------------------------------------------------------------------------------------------- cost

    def _load(self) -> _Indexed:
        with self._lock:
            if self._indexed is None:
                self._indexed = _Indexed(
                    self.index.indexed_ended(), self.index.usage_by_batch(), self.index.all_unusable_counts()
                )
            return self._indexed

    def preload(self) -> None:
        """Read what the costs, unusable counts and totals are made of now (three queries, and the totals
        priced once per period): called in a thread before the first frame, so that frame shows them."""
        self.totals()

    def cost(self, batch_id: str) -> BatchCost | None:
        """The batch's actual cost, or None when its results are not indexed here."""
        indexed = self._load()
        if batch_id not in indexed.ended:
            return None
        found = indexed.costs.get(batch_id)
        if found is None:  # priced once; a race between threads prices it twice, to the same result
            found = batch_cost(batch_id, indexed.usage.get(batch_id, ()), self.settings)
            indexed.costs[batch_id] = found
        return found

    def unusable(self, batch_id: str) -> dict[str, int]:
        """Class -> count of the batch's succeeded answers that are unusable (truncated, invalid_output,
        refused; only those it has): empty when none are, or its results are not indexed here."""
        return self._load().unusable.get(batch_id, {})

    def changed(self) -> None:
        """Results changed (an ingest, a migration, outputs checked again after an attach): costs, totals
        and counts are read again on next use."""
        with self._lock:
            self._indexed = None
            self._totals = None
            self.version += 1

    def totals(self) -> CostTotals:
        """Spend and savings today, this month and all time (UTC), over the batches indexed here."""
        indexed = self._load()
        now = self.clock.now()
        day = now.date().isoformat()
        cached = self._totals
        if cached is not None and cached[0] == day:
            return cached[1]
        groups = (group for groups in indexed.usage.values() for group in groups)
        result = totals(groups, indexed.ended, now, self.settings)
        with self._lock:
            if self._indexed is indexed:  # not dropped meanwhile by an ingest
                self._totals = (day, result)
        return result

    def is_indexed(self, batch_id: str) -> bool:
        """Its items can be browsed now (False when the items file must first be rebuilt by `ensure`)."""
        info = self.index.file(batch_id)
        return info is not None and info.indexed and self.index.items_current(batch_id)

    def unavailable_reason(self, batch_id: str) -> str | None:
        info = self.index.file(batch_id)
        if info is None or info.state is not FileState.UNAVAILABLE:
            return None
        return info.message or "results are not available"

    # -------------------------------------------------------------------------------------- ingestion

    def ensure(
        self,
        batch: Batch,
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> IngestReport:
        """Download and index `batch`'s results unless they are here already. Blocking: call it in a thread.
        Two calls for one batch never run at once; the second waits and then finds the work done."""
        from batchboard.core.results.ingest import IngestError, ingest  # not on the first frame's path

        with self._lock:
            lock = self._running.setdefault(batch.id, threading.Lock())
        try:
            with lock:
                self.index.migrate()  # an older database's items move to items files (once, here: a thread)
                if self.index.has_local_copy(batch.id):  # no download (a lost items file is rebuilt from it)
                    return ingest(
                        batch.id,
                        self.index,
                        batch=batch,
                        settings=self.settings,
                        progress=progress,
                        cancel=cancel,
                        now=self.clock.now,
                    )
                if self.client_factory is None:
                    raise IngestError("not connected to the API yet")
                with self.client_factory() as client:
                    return ingest(
                        batch.id,
                        self.index,
                        client=client,
                        batch=batch,
                        settings=self.settings,
                        progress=progress,
                        cancel=cancel,
                        now=self.clock.now,
                    )
        finally:
            self.changed()  # recomputed on next use (cheap: one query over per-batch usage sums)

    def prepare(self) -> None:
        """Bring an older database's results up to date (`ResultsIndex.migrate`): slow once on a big old
        database, so the app calls it from a thread worker after start-up; `ensure` does it too."""
        self.index.migrate()
        self.changed()
