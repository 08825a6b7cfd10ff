"""Finding the batch of a chunk whose create answer was lost, and proving it is that chunk's.

The batch list is all there is to go on, and it holds everyone's batches: the same file sent from another
machine, another tool's batch of the same size. So a batch is only a candidate when all of these hold:

- it was created after this chunk's send began: not before the chunk's floor (`floor_for`: the newest
  batch listed just before the send, and the send's start on the service's own clock, measured from the
  batches this store created, less a two-second margin), and not among the batches listed then;
- no submission of this store records it, this store never learnt it is someone else's (`foreign_batches`),
  and the store had not seen it before the send began;
- it has the chunk's request count, and was created within `CREATE_WINDOW` of the send.

One candidate is recorded as the chunk's batch, *unverified*: when its results are here (`verify`), its
custom_ids are compared with the chunk's; a match makes it verified, a mismatch lets it go (it becomes
foreign) and leaves the chunk `unresolved`. No candidate, or several, also leave the chunk unresolved:
nothing is guessed, and the user chooses to send it again (`mark_for_resend`) or to leave it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import orjson

from batchboard.core.clock import Clock
from batchboard.core.format import plural
from batchboard.core.gateway.submit import newest_batches
from batchboard.core.models import Batch
from batchboard.core.store import Store, from_db_time, to_db_time
from batchboard.core.submit.intents import (
    CLOCK_SKEW,
    CREATE_WINDOW,
    CREATED,
    PENDING,
    SENDING,
    UNRESOLVED,
    UNVERIFIED,
    VERIFIED,
    ChunkState,
    _chunk_state,
    _ready,
    _set_chunk,
    load_submission,
    record_created,
)

if TYPE_CHECKING:
    from batchboard.core.gateway.client import AsyncAnthropic
    from batchboard.core.results.index import ResultsIndex

#: The slack allowed below a floor measured on the service's clock (created_at has whole microseconds,
#: clocks drift between the measure and the send).
MARGIN = timedelta(seconds=2)
_OFFSET_KEY = "service_clock_offset_seconds"
#: Outcomes after which the user decides: send the chunk again, or leave it.
NEEDS_CHOICE = ("none", "ambiguous", "mismatch")
_OPEN = (SENDING, UNRESOLVED)


@dataclass(frozen=True, slots=True)
class Recovered:
    """What reconciling or verifying did with one chunk, said plainly in `message`."""

    submission_id: str
    chunk: int
    outcome: str
    """'recovered' (one candidate, recorded unverified), 'verified', 'mismatch' (let go), 'none', 'ambiguous'
    (several candidates): the last three leave the chunk unresolved, for the user to decide."""
    message: str
    batch_id: str | None = None
    candidates: tuple[str, ...] = ()

    @property
    def needs_choice(self) -> bool:
        return self.outcome in NEEDS_CHOICE


# ---------------------------------------------------------------------------------- the service's clock


def note_service_clock(store: Store, created_at: datetime, received_at: datetime) -> None:
    """Remember how far the service's clock is ahead of ours, from a batch this store just created: its
    created_at less the moment its answer arrived is a lower bound (it was created before it answered)."""
    offset = (created_at - received_at).total_seconds()
    store.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (_OFFSET_KEY, repr(offset)),
    )


def service_offset(store: Store) -> timedelta | None:
    rows = store.query("SELECT value FROM meta WHERE key = ?", (_OFFSET_KEY,))
    return timedelta(seconds=float(rows[0][0])) if rows else None


def floor_for(store: Store, before: list[Batch], sent_at: datetime) -> tuple[datetime | None, list[str]]:
    """(the earliest created_at this send's batch can have, on the service's clock; the ids listed just
    before the send). None when nothing is known: an empty account and no batch created here yet."""
    bounds = [max(b.created_at for b in before)] if before else []
    offset = service_offset(store)
    if offset is not None:
        bounds.append(sent_at + offset - MARGIN)
    return (max(bounds) if bounds else None), [b.id for b in before]


# ------------------------------------------------------------------------------------------ reconcile


async def reconcile(store: Store, client: AsyncAnthropic, clock: Clock) -> list[Recovered]:
    """Look for the batches of chunks whose create answer was lost (`sending`) or that are still
    `unresolved`, by the rules in the module docstring; record a single candidate as unverified."""
    rows = store.query(
        "SELECT seen_ids, " + _columns() + " FROM submission_chunks WHERE state IN (?, ?) ORDER BY sent_at",
        _OPEN,
    )
    if not rows:
        return []
    opened = [(_chunk_state(row[1:]), set(orjson.loads(row[0])) if row[0] else set()) for row in rows]
    offset = service_offset(store)
    floors = {(c.submission_id, c.chunk): _floor(c) for c, _ in opened}
    earliest = min(floors.values())
    taken = _taken(store)
    first_seen = {
        batch_id: from_db_time(seen)
        for batch_id, seen in store.query(
            "SELECT batch_id, first_seen_at FROM batches WHERE created_at >= ?",
            (to_db_time(earliest - MARGIN),),
        )
    }
    listed: list[Batch] = []
    async for batch in newest_batches(client):
        if batch.created_at < earliest:
            break  # newest first: everything after this is older still
        if batch.id not in taken:
            listed.append(batch)

    matches: dict[tuple[str, int], list[Batch]] = {}
    for chunk, seen in opened:
        floor = floors[(chunk.submission_id, chunk.chunk)]
        sent = chunk.sent_at or floor
        latest = (
            max(floor, sent + (offset or timedelta()))
            + CREATE_WINDOW
            + (CLOCK_SKEW if offset is None else timedelta())
        )
        matches[(chunk.submission_id, chunk.chunk)] = [
            b
            for b in listed
            if b.counts.total == chunk.request_count
            and floor <= b.created_at <= latest
            and b.id not in seen
            and not (b.id in first_seen and chunk.sent_at is not None and first_seen[b.id] < chunk.sent_at)
        ]
    wanted_by: dict[str, int] = {}
    for found in matches.values():
        for batch in found:
            wanted_by[batch.id] = wanted_by.get(batch.id, 0) + 1

    outcomes: list[Recovered] = []
    now = clock.now()
    for chunk, _ in opened:
        found = matches[(chunk.submission_id, chunk.chunk)]
        submission = load_submission(store, chunk.submission_id)
        where = _where(chunk, len(submission.chunks))
        if len(found) == 1 and wanted_by[found[0].id] == 1:
            batch = found[0]
            record_created(
                store, chunk.submission_id, chunk.chunk, batch, "reconciled", submission.label, now
            )
            state = _load(store, chunk.submission_id, chunk.chunk)
            if state.state != CREATED:  # its id is known under another identity: reported, not merged
                outcomes.append(
                    Recovered(chunk.submission_id, chunk.chunk, "duplicate", state.error or "", batch.id)
                )
                continue
            outcomes.append(
                Recovered(
                    chunk.submission_id,
                    chunk.chunk,
                    "recovered",
                    _recovered_message(where, chunk, batch),
                    batch.id,
                )
            )
            continue
        if chunk.state == UNRESOLVED and chunk.recovery == "mismatch" and not found:
            outcomes.append(
                Recovered(
                    chunk.submission_id, chunk.chunk, "mismatch", chunk.error or "", None, chunk.candidates
                )
            )
            continue
        ids = tuple(b.id for b in found)
        kind = "ambiguous" if found else "none"
        message = _ambiguous_message(where, chunk, ids) if found else _none_message(where, chunk)
        _set_chunk(
            store,
            chunk.submission_id,
            chunk.chunk,
            state=UNRESOLVED,
            recovery=kind,
            candidates=orjson.dumps(list(ids)).decode() if ids else None,
            error=message,
        )
        outcomes.append(Recovered(chunk.submission_id, chunk.chunk, kind, message, None, ids))
    return outcomes


def _columns() -> str:
    from batchboard.core.submit.intents import _CHUNK_COLUMNS

    return _CHUNK_COLUMNS


def _floor(chunk: ChunkState) -> datetime:
    if chunk.floor_at is not None:
        return chunk.floor_at
    # A chunk sent by an older batchboard (no floor recorded): the old window around its send.
    assert chunk.sent_at is not None
    return chunk.sent_at - CLOCK_SKEW


def _taken(store: Store) -> set[str]:
    """Batch ids no chunk may take: recorded by a submission (also as a duplicate), or someone else's."""
    rows = store.query(
        "SELECT batch_id FROM submission_chunks WHERE batch_id IS NOT NULL "
        "UNION SELECT duplicate_batch_id FROM submission_chunks WHERE duplicate_batch_id IS NOT NULL "
        "UNION SELECT batch_id FROM foreign_batches"
    )
    return {row[0] for row in rows}


def _load(store: Store, submission_id: str, chunk: int) -> ChunkState:
    return next(c for c in load_submission(store, submission_id).chunks if c.chunk == chunk)


def _where(chunk: ChunkState, of: int) -> str:
    return f"batch {chunk.chunk + 1} of {of} of submission {chunk.submission_id}"


def _recovered_message(where: str, chunk: ChunkState, batch: Batch) -> str:
    requests = plural(chunk.request_count, "request")
    return (
        f"{where}: recovered, unverified: its create answer was lost, and {batch.id} "
        f"({requests}, created after the send began) is the one batch that can be it; "
        "it was not sent again. Its "
        "custom_ids are checked once its results are here: if they differ, it is let go and you are "
        "asked whether to send the chunk again."
    )


def _cause(chunk: ChunkState) -> str:
    """Why the answer was lost, as the create's failure said it (only while it is being looked for: once
    unresolved, `error` holds the last explanation, not to be quoted inside the next one)."""
    return f" ({chunk.error})" if chunk.state == SENDING and chunk.error else ""


def _none_message(where: str, chunk: ChunkState) -> str:
    requests = plural(chunk.request_count, "request")
    return (
        f"{where}: its create answer was lost{_cause(chunk)}, and no batch created after "
        f"the send began has its {requests}: it was most likely never created. "
        "Nothing was sent twice, and nothing is taken for it. Send it again with "
        f"'batchboard submit --resume {chunk.submission_id}' (it looks once more, then asks), or leave it."
    )


def _ambiguous_message(where: str, chunk: ChunkState, ids: tuple[str, ...]) -> str:
    requests = plural(chunk.request_count, "request")
    if len(ids) == 1:  # one batch, but another open chunk of that size, sent in that window, fits it too
        return (
            f"{where}: its create answer was lost{_cause(chunk)}, and the one batch created after the send "
            f"began with its {requests} ({ids[0]}) fits another chunk whose answer was "
            "lost too: batchboard cannot tell whose it is, so it took it for neither. Look at it (the "
            "dashboard, 'batchboard list'); then send the chunk again with 'batchboard submit --resume "
            f"{chunk.submission_id}' (it asks first), or leave it."
        )
    shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
    return (
        f"{where}: its create answer was lost, and {len(ids)} batches created after the send began have "
        f"its {requests} ({shown}): batchboard cannot tell which, if any, is its "
        "batch, so it took none. Look at them (the dashboard, 'batchboard list'); then send the chunk "
        f"again with 'batchboard submit --resume {chunk.submission_id}' (it asks first), or leave it."
    )


# ------------------------------------------------------------------------------------------ verifying


def unverified_batches(store: Store) -> list[str]:
    """The batches recorded as recovered but not yet checked against their results."""
    _ready(store)
    rows = store.query(
        "SELECT batch_id FROM submission_chunks WHERE state = ? AND recovery = ? ORDER BY sent_at",
        (CREATED, UNVERIFIED),
    )
    return [row[0] for row in rows]


def verify(store: Store, index: ResultsIndex, batch_ids: list[str] | None = None) -> list[Recovered]:
    """Check recovered batches whose results are indexed here against their chunks' custom_ids: the same
    set makes one verified; any difference lets it go (see the module docstring)."""
    from batchboard.core.submit.intents import _chunks

    wanted = (
        unverified_batches(store)
        if batch_ids is None
        else [b for b in batch_ids if b in set(unverified_batches(store))]
    )
    outcomes: list[Recovered] = []
    for batch_id in wanted:
        info = index.file(batch_id)
        if info is None or not info.indexed or not index.items_path(batch_id).is_file():
            continue  # not here yet: checked when they are
        ((sid, chunk_index),) = store.query(
            "SELECT submission_id, chunk FROM submission_chunks WHERE batch_id = ?", (batch_id,)
        )
        chunk = next(c for c in _chunks(store, sid) if c.chunk == chunk_index)
        where = _where(chunk, len(_chunks(store, sid)))
        ours = {
            row[0]
            for row in store.query(
                "SELECT custom_id FROM submission_requests WHERE submission_id = ? AND chunk = ?",
                (sid, chunk_index),
            )
        }
        theirs = set(index.custom_ids(batch_id))
        if theirs == ours:
            _set_chunk(store, sid, chunk_index, recovery=VERIFIED, error=None)
            ids = plural(len(ours), "custom_id")
            message = f"{where}: recovered and verified: {batch_id} has exactly its {ids}"
            outcomes.append(Recovered(sid, chunk_index, "verified", message, batch_id))
            continue
        missing, extra = len(ours - theirs), len(theirs - ours)
        message = (
            f"{where}: {batch_id} is not its batch after all: its custom_ids differ ({missing:,} of the "
            f"chunk's {len(ours):,} missing, {plural(extra, 'other')}). It was let go (kept as another's "
            "batch, never taken again), and the chunk was not sent. Send it again with "
            f"'batchboard submit --resume {sid}' (it asks first), or leave it."
        )
        _let_go(store, chunk, batch_id, message)
        outcomes.append(Recovered(sid, chunk_index, "mismatch", message, None, (batch_id,)))
    return outcomes


def _let_go(store: Store, chunk: ChunkState, batch_id: str, message: str) -> None:
    label = load_submission(store, chunk.submission_id).label
    with store.transaction() as db:
        db.execute(
            "INSERT OR IGNORE INTO foreign_batches (batch_id, reason, noted_at) VALUES (?, ?, ?)",
            (batch_id, f"custom_ids differ from submission {chunk.submission_id}'s", to_db_time(_now())),
        )
        db.execute(
            "UPDATE submission_chunks SET state = ?, batch_id = NULL, resolved_by = NULL, recovery = ?, "
            "candidates = ?, error = ? WHERE submission_id = ? AND chunk = ?",
            (
                UNRESOLVED,
                "mismatch",
                orjson.dumps([batch_id]).decode(),
                message,
                chunk.submission_id,
                chunk.chunk,
            ),
        )
        if label:  # the label went on with the chunk: it goes with it
            db.execute("DELETE FROM labels WHERE batch_id = ? AND label = ?", (batch_id, label))


def _now() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)


# ------------------------------------------------------------------------------------- asking the user


def mark_for_resend(store: Store, submission_id: str, chunk: int) -> None:
    """The user chose to send an unresolved chunk again: it goes back to pending (the next send looks at
    the batch list first, as always, so what exists now is never taken for it)."""
    _set_chunk(
        store,
        submission_id,
        chunk,
        state=PENDING,
        recovery=None,
        candidates=None,
        error=None,
    )


def unresolved(store: Store) -> list[ChunkState]:
    """Chunks waiting for the user's choice."""
    _ready(store)
    rows = store.query(
        f"SELECT {_columns()} FROM submission_chunks WHERE state = ? ORDER BY sent_at", (UNRESOLVED,)
    )
    return [_chunk_state(row) for row in rows]


def needs_attention(store: Store) -> bool:
    """Something for reconciling or verifying: a lost answer, an unresolved chunk, an unverified batch."""
    _ready(store)
    rows = store.query(
        "SELECT 1 FROM submission_chunks WHERE state IN (?, ?) OR (state = ? AND recovery = ?) LIMIT 1",
        (*_OPEN, CREATED, UNVERIFIED),
    )
    return bool(rows)


def recovery_state(store: Store, batch_id: str) -> str | None:
    """How a batch recorded by reconciling stands, in words (the detail screen, `--json`), or None for a
    batch whose create answer arrived (or that no submission has)."""
    _ready(store)
    rows = store.query(
        "SELECT recovery FROM submission_chunks WHERE batch_id = ? AND resolved_by = 'reconciled'",
        (batch_id,),
    )
    if not rows:
        return None
    if rows[0][0] == VERIFIED:
        return "recovered, verified (found after a lost create answer; its custom_ids match)"
    return "recovered, unverified (found after a lost create answer; checked once its results are here)"


def recovered_label(chunk: ChunkState) -> str | None:
    """ "recovered, unverified" or "recovered, verified" for a chunk whose batch was found by reconciling;
    None otherwise (its create answer arrived, or it has no batch)."""
    if chunk.state != CREATED or chunk.resolved_by != "reconciled":
        return None
    return "recovered, verified" if chunk.recovery == VERIFIED else "recovered, unverified"


# ------------------------------------------------------------------------------ one id, two identities


def identity_conflict(store: Store, batch: Batch, submission_id: str, chunk: int) -> str | None:
    """How the store already knows `batch.id` under another identity, or None: recorded by another chunk,
    known as someone else's batch, or seen before as a batch created at another time."""
    _ready(store)
    rows = store.query(
        "SELECT submission_id, chunk FROM submission_chunks WHERE (batch_id = ? OR duplicate_batch_id = ?) "
        "AND NOT (submission_id = ? AND chunk = ?)",
        (batch.id, batch.id, submission_id, chunk),
    )
    if rows:
        return f"batch {rows[0][1] + 1} of submission {rows[0][0]}"
    rows = store.query("SELECT reason FROM foreign_batches WHERE batch_id = ?", (batch.id,))
    if rows:
        return f"a batch that is not this store's ({rows[0][0]})"
    rows = store.query(
        "SELECT created_at FROM batches WHERE batch_id = ? "
        "AND processing + succeeded + errored + canceled + expired > 0",  # not a notice's placeholder row
        (batch.id,),
    )
    if rows and abs((from_db_time(rows[0][0]) - batch.created_at).total_seconds()) > 1:
        return f"a batch created at {rows[0][0]}, seen by this store before"
    return None


def duplicate_message(submission_id: str, chunk: int, batch_id: str, other: str) -> str:
    return (
        f"batch {chunk + 1} of submission {submission_id} was created, but the service answered with batch "
        f"id {batch_id}, which this store already knows as {other}. It was not merged: {batch_id} stays "
        "as it was, and this submission keeps the id as a duplicate (shown by "
        f"'batchboard submit --resume {submission_id} --json'). Do not send it again (a batch was "
        f"created): compare {batch_id} in the Console (https://console.anthropic.com) with what you sent, "
        "and quote both to Anthropic support."
    )
