"""Crash-safe batch submission: write the intent and every request to the store, then create, then record.

The API never gives requests back, and a create whose answer was lost may still have made a batch. So:

1. `prepare_*` writes a submission (its chunks and every request's params, keyed by custom_id) before
   anything is sent.
2. `send` looks at the batch list first (what exists before the send began is never taken for this
   chunk's batch later), marks the chunk `sending` with the time and that floor, calls create with the
   SDK's own retries off (a retried create after a dropped connection is exactly how a batch gets sent
   twice), and records the batch id.
3. When the answer is lost, `recovery.reconcile` looks for the batch (created after the send began, with
   the chunk's request count, recorded by no submission, unknown to this store before the send) instead of
   sending again. One candidate is recorded *unverified* until its results show the chunk's custom_ids; none
   or several leave the chunk `unresolved`, for the user to re-send or leave (see `recovery`).

Every later start (the CLI's submit and retry, the app) reconciles first. Lineage: a retry's submission
names its parent batch, which is how a job (a batch and its retries) is assembled.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from batchboard.core.clock import Clock, SystemClock
from batchboard.core.gateway.errors import ApiError, classify, retry_after, sdk_error
from batchboard.core.gateway.submit import batches_before_send, create_batch
from batchboard.core.models import Batch
from batchboard.core.store import Store, from_db_time, register_schema, to_db_time
from batchboard.core.submit.jsonl import BODY_OVERHEAD, Limits, Report, iter_chunk, serialized_size

if TYPE_CHECKING:
    from batchboard.core.gateway.client import AsyncAnthropic
    from batchboard.core.submit.recovery import Recovered

SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,                 -- 'file', 'retry', 'attach' or 'chat'
    source_path TEXT,
    label TEXT,
    parent_batch_id TEXT,               -- a retry: the batch whose failed items it resends
    request_count INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS submissions_by_parent ON submissions (parent_batch_id);
CREATE TABLE IF NOT EXISTS submission_chunks (
    submission_id TEXT NOT NULL REFERENCES submissions (id),
    chunk INTEGER NOT NULL,
    request_count INTEGER NOT NULL,
    body_bytes INTEGER NOT NULL,
    state TEXT NOT NULL,                -- 'pending', 'sending' (answer not seen yet), 'created',
                                        -- 'unresolved' (the user decides) or 'duplicate' (see below)
    sent_at TEXT,                       -- when the last create call for it started
    batch_id TEXT,
    resolved_by TEXT,                   -- 'response', 'reconciled' or 'attached'
    error TEXT,
    floor_at TEXT,                      -- the service's time before which no batch can be this send's
    seen_ids TEXT,                      -- JSON: batches listed just before the send (never candidates)
    recovery TEXT,                      -- created: 'unverified' or 'verified' (a reconciled batch);
                                        -- unresolved: 'none', 'ambiguous' or 'mismatch'
    candidates TEXT,                    -- JSON: the batches an unresolved chunk could not choose from
    duplicate_batch_id TEXT,            -- the id the service answered with, recorded elsewhere already
    PRIMARY KEY (submission_id, chunk)
);
CREATE UNIQUE INDEX IF NOT EXISTS submission_chunks_by_batch
    ON submission_chunks (batch_id) WHERE batch_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS submission_requests (
    submission_id TEXT NOT NULL REFERENCES submissions (id),
    custom_id TEXT NOT NULL,
    chunk INTEGER NOT NULL,
    line INTEGER,                       -- line in the source file, when there is one
    params BLOB NOT NULL,               -- the request's params as JSON, exactly as sent
    PRIMARY KEY (submission_id, custom_id)
);
CREATE INDEX IF NOT EXISTS submission_requests_by_chunk ON submission_requests (submission_id, chunk);
CREATE TABLE IF NOT EXISTS foreign_batches (
    batch_id TEXT PRIMARY KEY,          -- a batch this store knows is not one of its submissions'
    reason TEXT NOT NULL,
    noted_at TEXT NOT NULL
);
"""
register_schema("submissions", SCHEMA)
#: Columns added since the first release of the table: added to an older store when it is first used.
_ADDED_CHUNK_COLUMNS = {
    "floor_at": "TEXT",
    "seen_ids": "TEXT",
    "recovery": "TEXT",
    "candidates": "TEXT",
    "duplicate_batch_id": "TEXT",
}

#: A batch created for a chunk shows up in the list with a created_at after the send began: allow for a slow
#: create (a 256 MB upload, the SDK's timeout) after it, and when the service's clock is not known (a chunk
#: sent by an older version), for clock skew before it.
CLOCK_SKEW = timedelta(minutes=5)
CREATE_WINDOW = timedelta(minutes=30)
INSERT_ROWS = 2_000
#: Requests written per transaction when recording a submission (the dashboard waits at most this long).
COMMIT_ROWS = 5_000
BODY_PAGE_ROWS = 1_000

PENDING, SENDING, CREATED, UNRESOLVED, DUPLICATE = "pending", "sending", "created", "unresolved", "duplicate"
#: A created chunk's batch found by reconciling: unverified until its results show the chunk's custom_ids.
UNVERIFIED, VERIFIED = "unverified", "verified"
_CHUNK_COLUMNS = (
    "submission_id, chunk, request_count, body_bytes, state, sent_at, batch_id, resolved_by, error, "
    "floor_at, recovery, candidates, duplicate_batch_id"
)


class SubmitError(Exception):
    """Submitting could not go on; the message says what happened and what to do."""


@dataclass(frozen=True, slots=True)
class ChunkState:
    submission_id: str
    chunk: int
    request_count: int
    body_bytes: int
    state: str
    sent_at: datetime | None
    batch_id: str | None
    resolved_by: str | None
    error: str | None
    floor_at: datetime | None = None
    recovery: str | None = None
    """'unverified' / 'verified' for a reconciled batch; 'none' / 'ambiguous' / 'mismatch' when unresolved."""
    candidates: tuple[str, ...] = ()
    duplicate_batch_id: str | None = None

    @property
    def unverified(self) -> bool:
        return self.state == CREATED and self.recovery == UNVERIFIED


@dataclass(frozen=True, slots=True)
class Submission:
    id: str
    kind: str
    source_path: str | None
    label: str | None
    parent_batch_id: str | None
    request_count: int
    created_at: datetime
    chunks: tuple[ChunkState, ...]

    @property
    def batch_ids(self) -> list[str]:
        return [c.batch_id for c in self.chunks if c.batch_id]

    @property
    def complete(self) -> bool:
        return all(c.state == CREATED for c in self.chunks)


# ------------------------------------------------------------------------------------------ store access


def _ready(store: Store) -> Store:
    """Make sure these tables exist (a store opened before this module was imported has not created them)
    with every column (an older store's table gains the newer ones)."""
    store.ensure_schemas()
    store.ensure_columns("submission_chunks", _ADDED_CHUNK_COLUMNS)
    return store


def _new_id() -> str:
    return "sub_" + uuid.uuid4().hex[:20]


def load_submission(store: Store, submission_id: str) -> Submission:
    rows = _ready(store).query(
        "SELECT id, kind, source_path, label, parent_batch_id, request_count, created_at "
        "FROM submissions WHERE id = ?",
        (submission_id,),
    )
    if not rows:
        raise SubmitError(f"no submission {submission_id!r} in the local store")
    sid, kind, source, label, parent, count, created = rows[0]
    return Submission(sid, kind, source, label, parent, count, from_db_time(created), _chunks(store, sid))


def _chunks(store: Store, submission_id: str) -> tuple[ChunkState, ...]:
    rows = store.query(
        f"SELECT {_CHUNK_COLUMNS} FROM submission_chunks WHERE submission_id = ? ORDER BY chunk",
        (submission_id,),
    )
    return tuple(_chunk_state(row) for row in rows)


def _chunk_state(row: tuple[Any, ...]) -> ChunkState:
    sid, chunk, count, size, state, sent_at, batch_id, resolved_by, error, floor, recovery, found, dup = row
    return ChunkState(
        sid,
        chunk,
        count,
        size,
        state,
        from_db_time(sent_at) if sent_at else None,
        batch_id,
        resolved_by,
        error,
        from_db_time(floor) if floor else None,
        recovery,
        tuple(orjson.loads(found)) if found else (),
        dup,
    )


def open_submissions(store: Store) -> list[Submission]:
    """Submissions with a chunk not yet created (never sent, or sent with the answer lost)."""
    rows = _ready(store).query(
        "SELECT DISTINCT submission_id FROM submission_chunks WHERE state != ? ORDER BY submission_id",
        (CREATED,),
    )
    return sorted((load_submission(store, r[0]) for r in rows), key=lambda s: s.created_at)


def submission_for_batch(store: Store, batch_id: str) -> Submission | None:
    rows = _ready(store).query("SELECT submission_id FROM submission_chunks WHERE batch_id = ?", (batch_id,))
    return load_submission(store, rows[0][0]) if rows else None


def stored_requests(
    store: Store,
    batch_id: str,
    custom_ids: Iterable[str] | None = None,
    *,
    containing: Sequence[bytes] = (),
) -> dict[str, bytes]:
    """custom_id -> params JSON as sent, for the requests of `batch_id` known locally; with `containing`,
    only those whose JSON contains one of these byte strings (searched by SQLite, without parsing)."""
    _ready(store)
    sql = (
        "SELECT r.custom_id, r.params FROM submission_chunks c JOIN submission_requests r "
        "ON r.submission_id = c.submission_id AND r.chunk = c.chunk WHERE c.batch_id = ?"
    )
    if containing:
        sql += " AND (" + " OR ".join("instr(r.params, ?) > 0" for _ in containing) + ")"
    if custom_ids is None:
        return {cid: bytes(params) for cid, params in store.query(sql, (batch_id, *containing))}
    found: dict[str, bytes] = {}
    wanted = list(custom_ids)
    for start in range(0, len(wanted), 500):  # SQLite caps the number of bound parameters
        part = wanted[start : start + 500]
        marks = ",".join("?" * len(part))
        query = f"{sql} AND r.custom_id IN ({marks})"
        for cid, params in store.query(query, (batch_id, *containing, *part)):
            found[cid] = bytes(params)
    return found


def _insert_submission(
    store: Store,
    *,
    kind: str,
    source_path: str | None,
    label: str | None,
    parent_batch_id: str | None,
    chunk_sizes: list[tuple[int, int]],
    rows: Iterator[tuple[str, int, int | None, bytes]],
    now: datetime,
    attached_batch: str | None = None,
) -> str:
    """Write a submission's requests, then the submission and its chunks.

    The requests go in transactions of COMMIT_ROWS, so another process (the dashboard) is never locked
    out for long. The chunks are written last, in one transaction with the submission row: until then
    nothing refers to the requests (nothing can be sent, listed or retried from them), and on any failure
    they are deleted again. So it is still all or nothing.
    """
    _ready(store)
    submission_id = _new_id()
    total = sum(count for count, _ in chunk_sizes)
    try:
        pending: list[tuple[str, str, int, int | None, bytes]] = []
        for custom_id, chunk, line, params in rows:
            pending.append((submission_id, custom_id, chunk, line, params))
            if len(pending) >= COMMIT_ROWS:
                _insert_requests(store, pending)
                pending.clear()
        if pending:
            _insert_requests(store, pending)
        with store.transaction() as db:
            db.execute(
                "INSERT INTO submissions (id, kind, source_path, label, parent_batch_id, request_count, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (submission_id, kind, source_path, label, parent_batch_id, total, to_db_time(now)),
            )
            db.executemany(
                "INSERT INTO submission_chunks (submission_id, chunk, request_count, body_bytes, state, "
                "batch_id, resolved_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        submission_id,
                        index,
                        count,
                        size,
                        CREATED if attached_batch else PENDING,
                        attached_batch,
                        "attached" if attached_batch else None,
                    )
                    for index, (count, size) in enumerate(chunk_sizes)
                ],
            )
    except BaseException:
        _forget_requests(store, submission_id)
        raise
    return submission_id


def _insert_requests(store: Store, rows: list[tuple[str, str, int, int | None, bytes]]) -> None:
    with store.transaction() as db:
        for start in range(0, len(rows), INSERT_ROWS):
            db.executemany(
                "INSERT INTO submission_requests VALUES (?, ?, ?, ?, ?)", rows[start : start + INSERT_ROWS]
            )


def _forget_requests(store: Store, submission_id: str) -> None:
    """Remove the requests of a submission that was not recorded (best effort: they are unreachable)."""
    import contextlib
    import sqlite3

    with contextlib.suppress(sqlite3.Error):  # the original error is the one worth raising
        store.execute("DELETE FROM submission_requests WHERE submission_id = ?", (submission_id,))


# ----------------------------------------------------------------------------------------- preparing


def prepare_file(
    store: Store, report: Report, *, label: str | None = None, clock: Clock | None = None
) -> Submission:
    """Record a validated file's submission intent and all its requests (read back chunk by chunk)."""
    if not report.ok or not report.chunks:
        raise SubmitError("the file has problems; nothing was recorded or sent")
    path = report.path

    def rows() -> Iterator[tuple[str, int, int | None, bytes]]:
        for chunk in report.chunks:
            count = 0
            for line, request in _read_chunk(path, chunk):
                count += 1
                yield request["custom_id"], chunk.index, line, orjson.dumps(request["params"])
            if count != chunk.requests:
                raise SubmitError(f"{report.file} changed since it was checked; run the command again")

    submission_id = _insert_submission(
        store,
        kind="file",
        source_path=str(path.resolve()),
        label=label,
        parent_batch_id=None,
        chunk_sizes=[(c.requests, c.body_bytes) for c in report.chunks],
        rows=rows(),
        now=(clock or SystemClock()).now(),
    )
    return load_submission(store, submission_id)


def _read_chunk(path: Path, chunk: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        for line, request in iter_chunk(path, chunk):
            if not isinstance(request, dict) or not isinstance(request.get("params"), dict):
                raise SubmitError(f"{path} changed since it was checked (line {line}); run the command again")
            yield line, request
    except orjson.JSONDecodeError as error:
        raise SubmitError(f"{path} changed since it was checked; run the command again") from error


def prepare_requests(
    store: Store,
    requests: Iterable[tuple[str, bytes]],
    *,
    kind: str = "retry",
    parent_batch_id: str | None = None,
    label: str | None = None,
    limits: Limits | None = None,
    clock: Clock | None = None,
) -> Submission:
    """Record a submission of (custom_id, params JSON) pairs, chunked by both batch limits."""
    limits = limits or Limits()
    items = list(requests)  # a retry's items: at most one batch's worth of ids and params
    if not items:
        raise SubmitError("no requests to send")
    chunk_sizes: list[tuple[int, int]] = []
    assignment: list[int] = []
    count, size = 0, BODY_OVERHEAD
    for custom_id, params in items:
        request_size = serialized_size({"custom_id": custom_id, "params": orjson.loads(params)})
        if count and (count >= limits.max_requests or size + request_size + 1 > limits.max_bytes):
            chunk_sizes.append((count, size))
            count, size = 0, BODY_OVERHEAD
        size += request_size + (1 if count else 0)
        count += 1
        assignment.append(len(chunk_sizes))
    chunk_sizes.append((count, size))
    rows = ((cid, chunk, None, params) for (cid, params), chunk in zip(items, assignment, strict=True))
    submission_id = _insert_submission(
        store,
        kind=kind,
        source_path=None,
        label=label,
        parent_batch_id=parent_batch_id,
        chunk_sizes=chunk_sizes,
        rows=rows,
        now=(clock or SystemClock()).now(),
    )
    return load_submission(store, submission_id)


def attach_file(
    store: Store,
    batch_id: str,
    requests: Iterable[tuple[str, int, bytes]],
    *,
    source_path: str,
    clock: Clock | None = None,
) -> Submission:
    """Link requests from a file to a batch submitted elsewhere (replacing an earlier attach of it)."""
    existing = submission_for_batch(store, batch_id)
    if existing is not None:
        if existing.kind != "attach":
            raise SubmitError(f"{batch_id} was submitted by batchboard; its requests are already stored")
        with store.transaction() as db:
            for table, column in (
                ("submission_requests", "submission_id"),
                ("submission_chunks", "submission_id"),
            ):
                db.execute(f"DELETE FROM {table} WHERE {column} = ?", (existing.id,))
            db.execute("DELETE FROM submissions WHERE id = ?", (existing.id,))
    items = [(cid, 0, line, params) for cid, line, params in requests]
    submission_id = _insert_submission(
        store,
        kind="attach",
        source_path=source_path,
        label=None,
        parent_batch_id=None,
        chunk_sizes=[(len(items), 0)],
        rows=iter(items),
        now=(clock or SystemClock()).now(),
        attached_batch=batch_id,
    )
    return load_submission(store, submission_id)


# ------------------------------------------------------------------------------------------- sending


def _set_chunk(store: Store, submission_id: str, chunk: int, **values: Any) -> None:
    columns = ", ".join(f"{key} = ?" for key in values)
    store.execute(
        f"UPDATE submission_chunks SET {columns} WHERE submission_id = ? AND chunk = ?",
        (*values.values(), submission_id, chunk),
    )


def _chunk_requests(store: Store, submission_id: str, chunk: int) -> list[dict[str, Any]]:
    rows = store.query(
        "SELECT custom_id, params FROM submission_requests WHERE submission_id = ? AND chunk = ? "
        "ORDER BY rowid",
        (submission_id, chunk),
    )
    return [{"custom_id": cid, "params": orjson.loads(params)} for cid, params in rows]


async def _chunk_body(store: Store, submission_id: str, chunk: int) -> AsyncIterator[bytes]:
    """`{"requests":[...]}` for one chunk, read from the store a page at a time (compact JSON, exactly the
    bytes that chunking measured)."""
    yield b'{"requests":['
    last_rowid = -1
    separator = b""
    while True:
        rows = store.query(
            "SELECT rowid, custom_id, params FROM submission_requests "
            "WHERE submission_id = ? AND chunk = ? AND rowid > ? ORDER BY rowid LIMIT ?",
            (submission_id, chunk, last_rowid, BODY_PAGE_ROWS),
        )
        if not rows:
            break
        parts = [
            b'{"custom_id":' + orjson.dumps(cid) + b',"params":' + bytes(params) + b"}"
            for _, cid, params in rows
        ]
        last_rowid = rows[-1][0]
        yield separator + b",".join(parts)
        separator = b","
    yield b"]}"


#: A 429 on create guarantees nothing was created: wait out its retry-after and send again, up to this long
#: each time and this many times; beyond that the chunk stays pending for `--resume`.
RATE_LIMIT_MAX_WAIT = 120.0
RATE_LIMIT_WAITS = 3
#: Called with the seconds left before sending again after a 429 (once a second), and 0 when it sends.
WaitCallback = Callable[[int], None]


def record_created(
    store: Store, submission_id: str, chunk: int, batch: Batch, how: str, label: str | None, now: datetime
) -> None:
    """Record `batch` as the chunk's (`how`: 'response', or 'reconciled', which is unverified until
    `recovery.verify`), unless the store knows its id under another identity: then the id is kept on the
    chunk as a duplicate, reported in its error, and never merged with the other."""
    from batchboard.core.submit.recovery import duplicate_message, identity_conflict

    conflict = identity_conflict(store, batch, submission_id, chunk)
    if conflict is None:
        try:
            _set_chunk(
                store,
                submission_id,
                chunk,
                state=CREATED,
                batch_id=batch.id,
                resolved_by=how,
                recovery=UNVERIFIED if how == "reconciled" else None,
                candidates=None,
                error=None,
            )
        except sqlite3.IntegrityError:  # recorded by another process meanwhile
            conflict = identity_conflict(store, batch, submission_id, chunk) or "another submission's batch"
        else:
            if label:
                store.set_label(batch.id, label)
            store.record_batches([batch], now=now)
            return
    _set_chunk(
        store,
        submission_id,
        chunk,
        state=DUPLICATE,
        duplicate_batch_id=batch.id,
        error=duplicate_message(submission_id, chunk, batch.id, conflict),
    )


class Submitter:
    """Sends prepared submissions through the safe path and reconciles lost answers.

    `client` is the SDK's AsyncAnthropic; creates go out with `max_retries=0` (see the module docstring).
    `sleep` is how it waits out a 429's retry-after (tests pass one that returns at once).
    """

    def __init__(
        self,
        store: Store,
        client: AsyncAnthropic,
        clock: Clock | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        on_wait: WaitCallback | None = None,
    ) -> None:
        self.store = _ready(store)
        self.client = client
        self.clock = clock or SystemClock()
        self.sleep = sleep or asyncio.sleep
        self.on_wait = on_wait

    async def send(
        self, submission_id: str, *, on_chunk: Callable[[ChunkState], None] | None = None
    ) -> Submission:
        """Create a batch for every chunk still pending; reconcile any whose answer was lost.

        Raises SubmitError (with what was and was not sent) when a chunk cannot be created or confirmed;
        what was recorded stays recorded, so running it again carries on where it stopped. A chunk left
        `unresolved` is not sent again here: `recovery.mark_for_resend` is the user's choice to.
        """
        submission = load_submission(self.store, submission_id)
        if any(c.state == SENDING for c in submission.chunks):
            await self._reconcile_or_explain(submission_id)
            submission = load_submission(self.store, submission_id)
        for chunk in submission.chunks:
            if chunk.state == PENDING:
                state = await self._send_chunk(submission, chunk)
                if on_chunk is not None:
                    on_chunk(state)
        # Chunks left for the user (no batch identified, or an id known under another identity), and any
        # still unconfirmed, were not sent: said together, once the others are sent.
        waiting = [
            c for c in _chunks(self.store, submission_id) if c.state in (SENDING, UNRESOLVED, DUPLICATE)
        ]
        if waiting:
            raise SubmitError(" ".join(c.error or self._unconfirmed_message(c) for c in waiting))
        return load_submission(self.store, submission_id)

    async def _send_chunk(self, submission: Submission, chunk: ChunkState) -> ChunkState:
        sid, index = submission.id, chunk.chunk
        where = f"batch {index + 1} of {len(submission.chunks)}"
        waits = 0
        while True:
            before = await self._look_before_sending(sid, index, where)
            # The intent is durable before the request leaves: a crash from here on is reconciled, never
            # resent, and nothing listed before this moment is ever taken for this chunk's batch.
            from batchboard.core.submit.recovery import floor_for

            sent_at = self.clock.now()
            floor, seen = floor_for(self.store, before, sent_at)
            _set_chunk(
                self.store,
                sid,
                index,
                state=SENDING,
                sent_at=to_db_time(sent_at),
                floor_at=to_db_time(floor) if floor else None,
                seen_ids=orjson.dumps(seen).decode(),
                recovery=None,
                candidates=None,
                error=None,
            )
            try:
                batch = await create_batch(self.client, _chunk_body(self.store, sid, index))
            except sdk_error() as exc:
                failure = classify(exc)
                if not failure.did_nothing:
                    # The answer was lost (dropped connection, timeout, 5xx): the batch may exist. Look,
                    # don't resend.
                    _set_chunk(self.store, sid, index, error=failure.message)
                    await self._reconcile_or_explain(sid, index)
                    state = self._chunk(sid, index)
                    if state.state != CREATED:
                        raise SubmitError(state.error or self._unconfirmed_message(state)) from exc
                    return state
                # Refused (4xx, or 529 which is answered before any work) or never received: nothing was
                # created, so it is safe to send again.
                message = failure.message
                _set_chunk(self.store, sid, index, state=PENDING, error=message)
                wait = retry_after(exc) if failure.status == 429 else None
                if wait is not None and wait <= RATE_LIMIT_MAX_WAIT and waits < RATE_LIMIT_WAITS:
                    waits += 1
                    await self._wait(wait)
                    continue
                raise SubmitError(_not_created(where, sid, message, wait)) from exc
            from batchboard.core.submit.recovery import note_service_clock

            note_service_clock(self.store, batch.created_at, self.clock.now())
            self._record_created(sid, index, batch, "response", submission.label)
            state = self._chunk(sid, index)
            if state.state == DUPLICATE:
                raise SubmitError(state.error or "duplicate batch id")
            return state

    async def _look_before_sending(self, sid: str, index: int, where: str) -> list[Batch]:
        """The newest batches on the account, just before a send: none of them can be its batch."""
        try:
            return await batches_before_send(self.client)
        except (sdk_error(), ApiError) as exc:
            said = classify(exc).message
            _set_chunk(self.store, sid, index, state=PENDING, error=said)
            raise SubmitError(
                f"{where} was not sent: the batch list, read just before sending, could not be read "
                f"({said}). Nothing was sent; 'batchboard submit --resume {sid}' tries again."
            ) from exc

    async def _wait(self, seconds: float) -> None:
        """Wait out a 429's retry-after, saying every second how long is left."""
        remaining = seconds
        while remaining > 0:
            if self.on_wait is not None:
                self.on_wait(max(1, int(-(-remaining // 1))))
            step = min(1.0, remaining)
            await self.sleep(step)
            remaining -= step
        if self.on_wait is not None:
            self.on_wait(0)

    async def _reconcile_or_explain(self, submission_id: str, chunk: int | None = None) -> None:
        """`reconcile`, with a failure to list batches said as a SubmitError: the chunk stays unconfirmed
        (never resent) and the next start looks again."""
        try:
            await self.reconcile()
        except (sdk_error(), ApiError) as exc:
            said = classify(exc).message
            unconfirmed = [
                c
                for c in _chunks(self.store, submission_id)
                if c.state == SENDING and (chunk is None or c.chunk == chunk)
            ]
            if not unconfirmed:  # pragma: no cover - only sending chunks are reconciled
                raise SubmitError(f"could not check the batch list: {said}") from exc
            first = unconfirmed[0]
            raise SubmitError(
                f"the answer to creating batch {first.chunk + 1} of submission {submission_id} was lost "
                f"({first.error or 'no answer'}) and the batch list could not be checked either "
                f"({said}): unconfirmed, will reconcile on next start; nothing was sent twice. "
                f"Once the API answers, 'batchboard submit --resume {submission_id}' (or the dashboard) "
                "looks for it first."
            ) from exc

    def _chunk(self, submission_id: str, chunk: int) -> ChunkState:
        return next(c for c in _chunks(self.store, submission_id) if c.chunk == chunk)

    def _record_created(
        self, submission_id: str, chunk: int, batch: Batch, how: str, label: str | None
    ) -> None:
        record_created(self.store, submission_id, chunk, batch, how, label, self.clock.now())

    @staticmethod
    def _unconfirmed_message(chunk: ChunkState) -> str:
        return (
            f"the answer to creating batch {chunk.chunk + 1} of submission {chunk.submission_id} was lost "
            f"({chunk.error or 'no answer'}) and the batch list has not been checked yet. It was NOT sent "
            f"again: 'batchboard submit --resume {chunk.submission_id}' (or the dashboard) looks for it "
            "first."
        )

    async def reconcile(self) -> list[Recovered]:
        """Resolve chunks whose create answer was lost, by looking for their batch in the batch list (see
        `recovery.reconcile`)."""
        from batchboard.core.submit.recovery import reconcile

        return await reconcile(self.store, self.client, self.clock)


def _not_created(where: str, submission_id: str, message: str, wait: float | None) -> str:
    waited = (
        f" The API asked to wait {wait:,.0f} s, longer than batchboard waits ({RATE_LIMIT_MAX_WAIT:.0f} s)."
        if wait is not None and wait > RATE_LIMIT_MAX_WAIT
        else (" It was still refused after waiting." if wait is not None else "")
    )
    return (
        f"{where} was not created: {message}.{waited} Nothing of it was sent; "
        f"run 'batchboard submit --resume {submission_id}' to try again."
    )
