"""The app's own view of a message batch: plain dataclasses, so the UI never touches SDK types.

`Batch.from_api` converts an SDK `MessageBatch` (or anything with its attributes); everything derived
from the API's fields (outcome, deadlines, progress) is computed here once, in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

ProcessingStatus = Literal["in_progress", "canceling", "ended"]

#: Batches expire 24 hours after creation; results stay downloadable for 29 days after creation.
PROCESSING_WINDOW = timedelta(hours=24)
RESULTS_RETENTION = timedelta(days=29)


class Outcome(StrEnum):
    """What a batch's status means to a person, including how an ended batch went."""

    RUNNING = "running"
    CANCELING = "canceling"
    SUCCEEDED = "succeeded"  # ended, every request succeeded
    PARTIAL = "partial"  # ended, some requests succeeded and some did not
    FAILED = "failed"  # ended, no request succeeded
    CANCELED = "canceled"  # ended after a cancel
    EXPIRED = "expired"  # ended with expired requests (and no cancel)


@dataclass(frozen=True, slots=True)
class RequestCounts:
    processing: int = 0
    succeeded: int = 0
    errored: int = 0
    canceled: int = 0
    expired: int = 0

    @property
    def total(self) -> int:
        return self.processing + self.succeeded + self.errored + self.canceled + self.expired

    @property
    def problems(self) -> int:
        """Requests that ended without a result: errored, canceled or expired."""
        return self.errored + self.canceled + self.expired


@dataclass(frozen=True, slots=True)
class Batch:
    id: str
    processing_status: ProcessingStatus
    counts: RequestCounts
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None
    cancel_initiated_at: datetime | None = None
    archived_at: datetime | None = None
    results_url: str | None = None

    @classmethod
    def from_api(cls, batch: Any) -> Batch:
        """Build from an SDK `MessageBatch` (attribute access) without importing the SDK."""
        rc = batch.request_counts
        return cls(
            id=batch.id,
            processing_status=batch.processing_status,
            counts=RequestCounts(
                processing=rc.processing,
                succeeded=rc.succeeded,
                errored=rc.errored,
                canceled=rc.canceled,
                expired=rc.expired,
            ),
            created_at=batch.created_at,
            expires_at=batch.expires_at,
            ended_at=batch.ended_at,
            cancel_initiated_at=batch.cancel_initiated_at,
            archived_at=batch.archived_at,
            results_url=batch.results_url,
        )

    @property
    def is_ended(self) -> bool:
        return self.processing_status == "ended"

    @property
    def is_active(self) -> bool:
        return self.processing_status != "ended"

    @property
    def can_cancel(self) -> bool:
        return self.processing_status == "in_progress"

    @property
    def can_retry(self) -> bool:
        """Ended, with errored, canceled or expired items: something a retry could resend."""
        c = self.counts
        return self.is_ended and (c.errored + c.canceled + c.expired) > 0

    def can_retry_with(self, unusable: int) -> bool:
        """`can_retry`, or ended with `unusable` succeeded answers that cannot be used (truncated, invalid
        output, refused: as the results index counts them), which a retry resends with room to finish."""
        return self.can_retry or (self.is_ended and unusable > 0)

    @property
    def retention_ends_at(self) -> datetime:
        """When results stop being downloadable (29 days after creation)."""
        return self.archived_at or self.created_at + RESULTS_RETENTION

    def is_archived(self, now: datetime) -> bool:
        return self.archived_at is not None or now >= self.created_at + RESULTS_RETENTION

    @property
    def outcome(self) -> Outcome:
        if self.processing_status == "in_progress":
            return Outcome.RUNNING
        if self.processing_status == "canceling":
            return Outcome.CANCELING
        c = self.counts
        if self.cancel_initiated_at is not None and c.canceled:
            return Outcome.CANCELED
        if c.total and c.succeeded == c.total:
            return Outcome.SUCCEEDED
        if c.succeeded == 0:
            return Outcome.EXPIRED if c.expired and not c.errored else Outcome.FAILED
        if c.expired and not c.errored:
            return Outcome.EXPIRED
        return Outcome.PARTIAL

    def elapsed(self, now: datetime) -> timedelta:
        return (self.ended_at or now) - self.created_at
