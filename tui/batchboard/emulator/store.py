"""The emulator's batches and their life, computed from the clock on every read.

Nothing runs in the background: a batch's status, counts and end follow from its creation time, planned
duration, cancel time and the current instant, so advancing a manual clock takes effect at once.

Each request gets a completion point (a fraction of the batch's planned duration) and a fate (succeeded,
invalid request, overloaded, api_error), both deterministic from the seed and its custom_id. When the batch
ends at its planned end, every request has its fate; when it ends early (cancel, 24 h expiry), requests
whose completion point lies beyond the end are `canceled` or `expired`.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import orjson

from batchboard.emulator._util import base62_from_digest, base62_id, digest, rfc3339, unit_hash
from batchboard.emulator.reply import Reply, compose
from batchboard.emulator.text import reply_for
from batchboard.emulator.validation import Prompt

EXPIRY = timedelta(hours=24)
ARCHIVE_AFTER = timedelta(days=29)
MAX_CANCEL_DELAY = 20.0
CANCEL_DELAY_SHARE = 0.1
#: Share of caching requests in a batch that write the cache (batch requests may not see each other's writes).
CACHE_WRITE_SHARE = 0.3

SUCCEEDED, INVALID, OVERLOADED, API_ERROR = 0, 1, 2, 3
#: Twists of a succeeded request (bits): refused, or an output that breaks its schema (the knobs).
REFUSED, INVALID_OUTPUT = 1, 2


class ApiError(Exception):
    """An error the HTTP layer turns into the API's error envelope."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


@dataclass(slots=True)
class Request:
    """One request of a batch, as the results file needs it."""

    custom_id: str
    fate: int
    point: float  # completion point, a fraction of the planned duration in (0, 1]
    prompt: Prompt | None
    error: str | None = None
    twist: int = 0


class RequestSource(Protocol):
    """The requests of a batch: recorded from a create call, or synthesized (demo, add_batch)."""

    def __len__(self) -> int: ...

    def completed(self, cutoff: float) -> tuple[int, int]:
        """(succeeded, errored) among the requests whose completion point is at or before `cutoff`."""
        ...

    def __iter__(self) -> Iterator[Request]: ...


def fate_for(seed: int, custom_id: str, error_rate: float, attempt: int = 0) -> int:
    """Retryable failures are chosen from the seed, the custom_id and its attempt number.

    The attempt is how many earlier batches in this emulator carried the same custom_id, so a run is
    reproducible from the seed, yet a retry of a failed request gets a fresh draw (as on the real API,
    where an overloaded request usually succeeds the next time) instead of failing forever.
    """
    key = custom_id if attempt == 0 else f"{custom_id}#{attempt}"
    if error_rate > 0 and unit_hash(seed, key, "fail") < error_rate:
        return OVERLOADED if unit_hash(seed, key, "failkind") < 0.6 else API_ERROR
    return SUCCEEDED


def twist_for(seed: int, custom_id: str, attempt: int, refusal_rate: float, invalid_rate: float) -> int:
    """Refusal and invalid output, drawn like the fate: from the seed, the custom_id and its attempt."""
    key = custom_id if attempt == 0 else f"{custom_id}#{attempt}"
    twist = 0
    if refusal_rate > 0 and unit_hash(seed, key, "refuse") < refusal_rate:
        twist |= REFUSED
    if invalid_rate > 0 and unit_hash(seed, key, "invalid") < invalid_rate:
        twist |= INVALID_OUTPUT
    return twist


class RecordedRequests:
    """Requests parsed from a create call, kept as compact records."""

    def __init__(self, requests: list[Request]) -> None:
        self._requests = requests
        self._completed: dict[float, tuple[int, int]] = {}

    def __len__(self) -> int:
        return len(self._requests)

    def __iter__(self) -> Iterator[Request]:
        return iter(self._requests)

    def completed(self, cutoff: float) -> tuple[int, int]:
        cached = self._completed.get(cutoff)
        if cached is None:
            succeeded = errored = 0
            for request in self._requests:
                if request.point <= cutoff:
                    if request.fate == SUCCEEDED:
                        succeeded += 1
                    else:
                        errored += 1
            cached = self._completed[cutoff] = (succeeded, errored)
        return cached


@dataclass
class Batch:
    id: str
    seq: int
    created_at: datetime
    duration: float
    source: RequestSource
    cancel_delay: float
    cancel_initiated_at: datetime | None = None
    deleted: bool = False

    @property
    def expires_at(self) -> datetime:
        return self.created_at + EXPIRY

    @property
    def sort_key(self) -> tuple[float, int]:
        # Ascending order of this key is newest first.
        return (-self.created_at.timestamp(), -self.seq)

    def end(self) -> tuple[datetime, str]:
        """The instant processing ends and why: 'planned', 'expired' or 'canceled'."""
        end = self.created_at + timedelta(seconds=self.duration)
        reason = "planned"
        if self.expires_at < end:
            end, reason = self.expires_at, "expired"
        if self.cancel_initiated_at is not None:
            cancel_end = self.cancel_initiated_at + timedelta(seconds=self.cancel_delay)
            if cancel_end < end:
                end, reason = cancel_end, "canceled"
        return end, reason

    def cutoff(self) -> float:
        end, reason = self.end()
        if reason == "planned":
            return 1.0
        return (end - self.created_at).total_seconds() / self.duration if self.duration > 0 else 1.0

    def is_ended(self, now: datetime) -> bool:
        return now >= self.end()[0]

    def archived_at(self, now: datetime) -> datetime | None:
        when = self.created_at + ARCHIVE_AFTER
        return when if now >= when and self.is_ended(now) else None

    def counts(self, now: datetime) -> dict[str, int]:
        total = len(self.source)
        counts = {"processing": total, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if not self.is_ended(now):
            return counts
        _end, reason = self.end()
        succeeded, errored = self.source.completed(self.cutoff())
        unfinished = total - succeeded - errored
        counts.update(processing=0, succeeded=succeeded, errored=errored)
        if unfinished:
            counts["canceled" if reason == "canceled" else "expired"] = unfinished
        return counts

    def status(self, now: datetime) -> str:
        if self.is_ended(now):
            return "ended"
        return "canceling" if self.cancel_initiated_at is not None else "in_progress"

    def to_json(self, now: datetime, origin: str) -> dict[str, Any]:
        ended = self.is_ended(now)
        end, _reason = self.end()
        archived = self.archived_at(now)
        return {
            "id": self.id,
            "type": "message_batch",
            "processing_status": self.status(now),
            "request_counts": self.counts(now),
            "created_at": rfc3339(self.created_at),
            "expires_at": rfc3339(self.expires_at),
            "ended_at": rfc3339(end) if ended else None,
            "cancel_initiated_at": rfc3339(self.cancel_initiated_at) if self.cancel_initiated_at else None,
            "archived_at": rfc3339(archived) if archived else None,
            "results_url": f"{origin}/v1/messages/batches/{self.id}/results" if ended else None,
        }

    def result_lines(self, seed: int) -> Iterator[bytes]:
        """The results file, one JSONL line per request, generated on the fly."""
        cutoff = self.cutoff()
        _end, reason = self.end()
        unfinished = orjson.dumps({"type": "canceled" if reason == "canceled" else "expired"})
        for request in self.source:
            custom_id = orjson.dumps(request.custom_id)
            if request.point > cutoff:
                yield b'{"custom_id":' + custom_id + b',"result":' + unfinished + b"}\n"
                continue
            result = result_for(request, seed, self.id)
            yield b'{"custom_id":' + custom_id + b',"result":' + orjson.dumps(result) + b"}\n"


_RETRYABLE = {
    OVERLOADED: ("overloaded_error", "Overloaded"),
    API_ERROR: ("api_error", "Internal server error"),
}


def error_envelope(kind: str, message: str, request_id: str | None) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id}


def usage_for(prompt: Prompt, output_tokens: int, *, cache_write: bool, service_tier: str) -> dict[str, Any]:
    cached = prompt.cached_tokens
    writes_5m = prompt.cache_5m if cache_write else 0
    writes_1h = prompt.cache_1h if cache_write else 0
    return {
        "input_tokens": prompt.input_tokens - cached,
        "cache_creation_input_tokens": writes_5m + writes_1h,
        "cache_read_input_tokens": 0 if cache_write else cached,
        "cache_creation": {"ephemeral_5m_input_tokens": writes_5m, "ephemeral_1h_input_tokens": writes_1h},
        "output_tokens": output_tokens,
        "service_tier": service_tier,
    }


def message_for(
    prompt: Prompt,
    message_id: str,
    salt: int,
    *,
    cache_write: bool,
    service_tier: str,
    twist: int = 0,
    reply: Reply | None = None,
) -> dict[str, Any]:
    """The Message for `prompt`: from `reply` when given (a stream sends the same), else composed here."""
    if reply is None:
        if prompt.plain and not twist:  # the common case, kept lean: batch results run through here
            text, tokens, stop_reason = reply_for(
                prompt.kind, prompt.snippet, salt, prompt.max_tokens, as_json=prompt.as_json
            )
            return {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": prompt.model,
                "content": [{"type": "text", "text": text}],
                "stop_reason": stop_reason,
                "stop_sequence": None,
                "stop_details": None,
                "usage": usage_for(prompt, tokens, cache_write=cache_write, service_tier=service_tier),
            }
        reply = compose(prompt, salt, refuse=bool(twist & REFUSED), invalid=bool(twist & INVALID_OUTPUT))
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": prompt.model,
        "content": reply.blocks,
        "stop_reason": reply.stop_reason,
        "stop_sequence": reply.stop_sequence,
        "stop_details": reply.stop_details,
        "usage": usage_for(prompt, reply.output_tokens, cache_write=cache_write, service_tier=service_tier),
    }


def result_for(request: Request, seed: int, batch_id: str) -> dict[str, Any]:
    if request.fate == INVALID or request.prompt is None:
        return {
            "type": "errored",
            "error": error_envelope("invalid_request_error", request.error or "Invalid request", None),
        }
    if request.fate in _RETRYABLE:
        kind, text = _RETRYABLE[request.fate]
        return {"type": "errored", "error": error_envelope(kind, text, None)}
    # One hash per request gives its reply's salt, its cache write-or-read draw and its message id.
    mixed = digest(seed, batch_id, request.custom_id)
    salt = int.from_bytes(mixed[:8], "big")
    cache_write = request.prompt.cached_tokens > 0 and int.from_bytes(mixed[8:16], "big") / 2.0**64 < (
        CACHE_WRITE_SHARE
    )
    message = message_for(
        request.prompt,
        "msg_" + base62_from_digest(mixed[16:40]),
        salt,
        cache_write=cache_write,
        service_tier="batch",
        twist=request.twist,
    )
    return {"type": "succeeded", "message": message}


class BatchStore:
    """All batches, newest first, behind one lock (the server thread and test threads share it)."""

    def __init__(self, seed: int, instance: str = "") -> None:
        self.seed = seed
        self.instance = instance
        self._lock = threading.RLock()
        self._batches: dict[str, Batch] = {}
        self._order: list[tuple[float, int]] = []  # sort keys, ascending = newest first
        self._ids: list[str] = []
        self._seq = 0
        #: custom_id -> how many accepted batches carried it; a retry's outcome is drawn afresh from it.
        self.attempts: dict[str, int] = {}

    def __len__(self) -> int:
        with self._lock:
            return sum(1 for batch in self._batches.values() if not batch.deleted)

    @property
    def next_seq(self) -> int:
        return self._seq

    def add(
        self, created_at: datetime, duration: float, source: RequestSource, cancel_delay: float | None = None
    ) -> Batch:
        with self._lock:
            seq = self._seq
            self._seq += 1
            batch = Batch(
                id=base62_id("msgbatch_", self.seed, self.instance, "batch", seq),
                seq=seq,
                created_at=created_at,
                duration=max(duration, 1e-3),
                source=source,
                cancel_delay=cancel_delay
                if cancel_delay is not None
                else min(max(duration, 0.0) * CANCEL_DELAY_SHARE, MAX_CANCEL_DELAY),
            )
            position = bisect.bisect_left(self._order, batch.sort_key)
            self._order.insert(position, batch.sort_key)
            self._ids.insert(position, batch.id)
            self._batches[batch.id] = batch
            return batch

    def get(self, batch_id: str) -> Batch:
        with self._lock:
            batch = self._batches.get(batch_id)
            if batch is None or batch.deleted:
                raise ApiError(404, "not_found_error", f"No batch found with id '{batch_id}'")
            return batch

    def cancel(self, batch_id: str, now: datetime) -> Batch:
        with self._lock:
            batch = self.get(batch_id)
            status = batch.status(now)
            if status != "in_progress":
                raise ApiError(
                    400,
                    "invalid_request_error",
                    f"Batch {batch_id} cannot be canceled because its processing status is '{status}'.",
                )
            batch.cancel_initiated_at = now
            return batch

    def delete(self, batch_id: str, now: datetime) -> None:
        with self._lock:
            batch = self.get(batch_id)
            if not batch.is_ended(now):
                raise ApiError(
                    400,
                    "invalid_request_error",
                    f"Batch {batch_id} cannot be deleted while it is still processing "
                    f"(status '{batch.status(now)}'). Cancel it first, then delete it once it has ended.",
                )
            batch.deleted = True

    def page(self, limit: int, after_id: str | None, before_id: str | None) -> tuple[list[Batch], bool]:
        """A page newest first: after `after_id` (older), or the `limit` just before `before_id` (newer)."""
        with self._lock:
            if before_id is not None:
                end = self._position(before_id, "before_id")
                picked: list[Batch] = []
                index = end - 1
                while index >= 0 and len(picked) < limit:
                    batch = self._batches[self._ids[index]]
                    if not batch.deleted:
                        picked.append(batch)
                    index -= 1
                has_more = any(not self._batches[self._ids[i]].deleted for i in range(index, -1, -1))
                picked.reverse()
                return picked, has_more
            start = self._position(after_id, "after_id") + 1 if after_id is not None else 0
            picked = []
            index = start
            while index < len(self._ids) and len(picked) < limit:
                batch = self._batches[self._ids[index]]
                if not batch.deleted:
                    picked.append(batch)
                index += 1
            has_more = any(not self._batches[self._ids[i]].deleted for i in range(index, len(self._ids)))
            return picked, has_more

    def _position(self, batch_id: str, name: str) -> int:
        batch = self._batches.get(batch_id)
        if batch is None:
            raise ApiError(400, "invalid_request_error", f"{name}: no batch found with id '{batch_id}'")
        return bisect.bisect_left(self._order, batch.sort_key)

    def all(self) -> list[Batch]:
        with self._lock:
            return [self._batches[i] for i in self._ids if not self._batches[i].deleted]
