"""Linking the source file of a batch submitted elsewhere: read a checked file's requests, store them as the
batch's requests (`submit.attach_file`), and compare its custom_ids with the batch's results when they are
indexed; then the answers to requests that asked for a JSON schema or forced a tool are checked against them
(`results.recheck`). Blocking (the file and the store): the TUI calls it from a thread worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from batchboard.core.clock import Clock
from batchboard.core.format import plural
from batchboard.core.results.index import ResultsIndex
from batchboard.core.results.recheck import Recheck, recheck_outputs
from batchboard.core.store import Store
from batchboard.core.submit.intents import SubmitError, attach_file
from batchboard.core.submit.jsonl import Report, iter_chunk

#: Submission kinds whose requests batchboard stored when it sent them: nothing to attach for those.
SENT_HERE = frozenset({"file", "retry", "chat"})


@dataclass(frozen=True, slots=True)
class Attached:
    """What an attach did: how many requests were linked, and how the file's custom_ids compare."""

    batch_id: str
    submission_id: str
    requests: int
    compared: bool
    """True when the batch's results were indexed, so `missing` and `extra` are known."""
    missing: list[str] = field(default_factory=list)
    """custom_ids in the batch's results that the file lacks (their failures cannot be retried), in order."""
    extra: list[str] = field(default_factory=list)
    """custom_ids in the file that the batch's results do not have, in file order."""
    outputs: Recheck | None = None
    """The answers checked against the file's schemas and forced tools (when the results are indexed)."""

    @property
    def matched(self) -> int | None:
        """The file's requests whose custom_id is in the batch's results (None: not compared)."""
        return self.requests - len(self.extra) if self.compared else None

    def linked_text(self) -> str:
        """ "101 requests (100 in the batch, 1 not in it)"; only the count until the results are compared."""
        linked = plural(self.requests, "request")
        if self.matched is None:
            return linked
        if not self.extra:
            return f"{linked}, all in the batch" if self.requests > 1 else f"{linked}, in the batch"
        return f"{linked} ({self.matched:,} in the batch, {len(self.extra):,} not in it)"


def result_custom_ids(store: Store, batch_id: str) -> list[str] | None:
    """The custom_ids of `batch_id`'s results in result order, or None when they are not indexed here."""
    with ResultsIndex(store) as index:
        index.migrate()  # an older database's items, moved to items files once (callers run in threads)
        info = index.file(batch_id)
        if info is None or not info.indexed or not index.items_path(batch_id).is_file():
            return None
        return index.custom_ids(batch_id)


def attach_report(store: Store, batch_id: str, report: Report, *, clock: Clock | None = None) -> Attached:
    """Store the requests of a checked file as `batch_id`'s (replacing an earlier attach of it).

    Raises SubmitError when the file has errors (nothing is stored), changed since it was checked, shares
    no custom_id with the batch's results, or the batch was sent by batchboard (its requests are stored
    already); OSError when it cannot be read.
    """
    if not report.ok:
        raise SubmitError(f"{report.file}: {plural(report.errors, 'error')}; nothing was attached")
    rows: list[tuple[str, int, bytes]] = []
    try:
        for chunk in report.chunks:
            for line, request in iter_chunk(report.path, chunk):
                rows.append((request["custom_id"], line, orjson.dumps(request["params"])))
    except (orjson.JSONDecodeError, KeyError, TypeError) as error:
        raise SubmitError(f"{report.file} changed since it was checked; try again") from error
    if len(rows) != report.requests:
        raise SubmitError(f"{report.file} changed since it was checked; try again")
    batch_ids = result_custom_ids(store, batch_id)
    file_ids = [cid for cid, _, _ in rows]
    in_file, in_batch = set(file_ids), set(batch_ids or ())
    if in_batch and in_file.isdisjoint(in_batch):  # the wrong file: keep what was linked before, if any
        raise SubmitError(
            (
                f"the one custom_id in {report.file} is not in {batch_id}"
                if len(in_file) == 1
                else f"none of the {plural(len(in_file), 'custom_id')} in {report.file} is in {batch_id}"
            )
            + ": nothing was linked (is it the right file?)"
        )
    submission = attach_file(store, batch_id, rows, source_path=str(report.path.resolve()), clock=clock)
    if batch_ids is None:
        return Attached(batch_id, submission.id, len(rows), compared=False)
    with ResultsIndex(store) as index:
        outputs = recheck_outputs(index, batch_id)  # invalid outputs, now that the schemas are known
    return Attached(
        batch_id,
        submission.id,
        len(rows),
        compared=True,
        missing=list(dict.fromkeys(cid for cid in batch_ids if cid not in in_file)),
        extra=[cid for cid in file_ids if cid not in in_batch],
        outputs=outputs,
    )


@dataclass(frozen=True, slots=True)
class LocalSources:
    """What the store says about every batch at once, for keys that apply to some batches only."""

    kinds: dict[str, str]
    """batch_id -> the kind of submission batchboard holds its requests from ('file', 'retry', 'attach',
    'chat')."""
    retried: frozenset[str]
    """Batches that batchboard sent a retry of."""

    def can_attach(self, batch_id: str) -> bool:
        """A batch batchboard did not send (nothing stored, or an earlier attach that a new file replaces)."""
        return self.kinds.get(batch_id) not in SENT_HERE

    def in_job(self, batch_id: str) -> bool:
        """Part of a job of more than one batch: a retry, or a batch that was retried."""
        return self.kinds.get(batch_id) == "retry" or batch_id in self.retried


def local_sources(store: Store) -> LocalSources:
    store.ensure_schemas()
    rows = store.query(
        "SELECT c.batch_id, s.kind FROM submission_chunks c JOIN submissions s ON s.id = c.submission_id "
        "WHERE c.batch_id IS NOT NULL"
    )
    parents = store.query(
        "SELECT DISTINCT parent_batch_id FROM submissions WHERE parent_batch_id IS NOT NULL"
    )
    return LocalSources({str(b): str(k) for b, k in rows}, frozenset(str(p) for (p,) in parents))
