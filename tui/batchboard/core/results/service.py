"""The results index and costs as one service for the app: cached per-batch costs, totals and unusable
counts for the table and header, and thread-safe ingestion (one at a time per batch) for workers.

Costs of ingested batches never change (results are final), so they are computed once from the index's
usage sums and cached, with every batch's unusable counts (one query each); an ingestion, a migration or a
recheck of outputs drops the cache and bumps `version`, so what the table drew from it is drawn again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from batchboard.core.clock import Clock
from batchboard.core.config import Settings
from batchboard.core.cost import BatchCost, CostTotals, batch_cost, totals
from batchboard.core.models import Batch
from batchboard.core.results.index import FileState, ResultsIndex
from batchboard.core.results.ingest import IngestError, IngestReport, ProgressCallback, ingest

if TYPE_CHECKING:
    from batchboard.core.gateway.client import Anthropic

#: Builds a sync SDK client for a worker thread (raises IngestError when there is no connection yet).
SyncClientFactory = Callable[[], "Anthropic"]


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
        self._costs: dict[str, BatchCost] | None = None
        self._unusable: dict[str, dict[str, int]] = {}
        self.version = 0
        """Bumped whenever cached costs or counts are dropped (read from any thread)."""
        self._ended: dict[str, datetime | None] = {}
        self._totals: tuple[str, CostTotals] | None = None
        self._lock = threading.Lock()
        self._running: dict[str, threading.Lock] = {}

    # ------------------------------------------------------------------------------------------- cost

    def _load(self) -> dict[str, BatchCost]:
        with self._lock:
            if self._costs is None:
                files = self.index.files()
                usage = self.index.usage_groups()
                self._costs = {
                    b: batch_cost(b, usage, self.settings) for b, info in files.items() if info.indexed
                }
                self._ended = {b: files[b].ended_at for b in self._costs}
                self._unusable = self.index.all_unusable_counts()
            return self._costs

    def cost(self, batch_id: str) -> BatchCost | None:
        """The batch's actual cost, or None when its results are not indexed here."""
        return self._load().get(batch_id)

    def unusable(self, batch_id: str) -> dict[str, int]:
        """Class -> count of the batch's succeeded answers that are unusable (truncated, invalid_output,
        refused; only those it has): empty when none are, or its results are not indexed here."""
        self._load()
        return self._unusable.get(batch_id, {})

    def changed(self) -> None:
        """Results changed (an ingest, a migration, outputs checked again after an attach): costs, totals
        and counts are read again on next use."""
        with self._lock:
            self._costs = None
            self._totals = None
            self.version += 1

    def totals(self) -> CostTotals:
        """Spend and savings today, this month and all time (UTC), over the batches indexed here."""
        costs = self._load()
        now = self.clock.now()
        day = now.date().isoformat()
        cached = self._totals
        if cached is not None and cached[0] == day:
            return cached[1]
        result = totals(costs, self._ended, now)
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
