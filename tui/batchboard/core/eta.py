"""When will an in-progress batch end? Estimated from this user's own history of batch durations.

Request counts do not move until a batch ends, so progress says nothing; past batches of a similar size
do. The estimate is a range (the 25th to 75th percentile of comparable durations), conditioned on the
batch still running after the time it has already taken, clamped to its 24-hour expiry. Pure and
deterministic: same inputs, same answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from batchboard.core.models import PROCESSING_WINDOW

#: Fewer ended batches than this and the app says so instead of guessing.
MIN_SAMPLES = 5
#: Samples within this factor of the batch's size count as "similar".
SIMILAR_SIZE_FACTOR = 4.0
#: Percentiles bounding the range.
LOW_PERCENTILE, HIGH_PERCENTILE = 0.25, 0.75
#: How duration grows with size (duration ~ size ** exponent) when history cannot tell: sublinear,
#: because queueing and start-up make up much of a batch's time.
DEFAULT_SIZE_EXPONENT = 0.5
#: At most this many (most recent) samples go into fitting the exponent.
FIT_SAMPLES = 500


@dataclass(frozen=True, slots=True)
class DurationSample:
    """How long one batch that ended normally took, from creation to end."""

    request_count: int
    seconds: float


@dataclass(frozen=True, slots=True)
class Eta:
    """An estimated end between `low` and `high`, or None for both with `reason` saying why."""

    low: datetime | None
    high: datetime | None
    samples: int
    """How many past batches the estimate rests on."""
    reason: str | None = None
    overdue: bool = False
    """The batch has run longer than every comparable batch: it may end any moment (low == high == now)."""


def estimate_eta(
    request_count: int, created_at: datetime, now: datetime, history: Sequence[DurationSample]
) -> Eta:
    usable = [s for s in history if s.request_count > 0 and s.seconds > 0 and math.isfinite(s.seconds)]
    if len(usable) < MIN_SAMPLES:
        return Eta(
            None,
            None,
            len(usable),
            reason=f"too little history: {len(usable)} of {MIN_SAMPLES} ended batches needed",
        )
    size = max(request_count, 1)
    smallest, largest = size / SIMILAR_SIZE_FACTOR, size * SIMILAR_SIZE_FACTOR
    similar = [s for s in usable if smallest <= s.request_count <= largest]
    chosen = similar if len(similar) >= MIN_SAMPLES else usable
    exponent = size_exponent(usable)
    scaled = sorted(s.seconds * (size / s.request_count) ** exponent for s in chosen)

    expires_at = created_at + PROCESSING_WINDOW
    if now >= expires_at:
        return Eta(now, now, len(chosen), reason="past its expiry time: ends any moment", overdue=True)
    # Condition on what we know: it is still running after `elapsed`, so only longer durations remain.
    elapsed = (now - created_at).total_seconds()
    remaining = [d for d in scaled if d > elapsed]
    if not remaining:
        return Eta(
            now,
            now,
            len(chosen),
            reason=f"running longer than all {len(chosen)} comparable batches: any moment",
            overdue=True,
        )
    low = created_at + timedelta(seconds=percentile(remaining, LOW_PERCENTILE))
    high = created_at + timedelta(seconds=percentile(remaining, HIGH_PERCENTILE))
    return Eta(max(min(low, expires_at), now), max(min(high, expires_at), now), len(chosen))


def size_exponent(samples: Sequence[DurationSample]) -> float:
    """Fit duration ~ size ** k on log scales, clamped to [0, 1]; the default when sizes barely vary.

    `samples` are oldest first, as `Store.durations` returns them.
    """
    samples = samples[-FIT_SAMPLES:]  # the most recent: bounds the cost, and recent behaviour matters most
    sizes = [s.request_count for s in samples]
    if len(samples) < 2 * MIN_SAMPLES or max(sizes) < SIMILAR_SIZE_FACTOR * min(sizes):
        return DEFAULT_SIZE_EXPONENT
    xs = [math.log(s.request_count) for s in samples]
    ys = [math.log(s.seconds) for s in samples]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return min(max(slope, 0.0), 1.0)


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Linear-interpolated percentile of already sorted values (numpy's default method)."""
    position = (len(sorted_values) - 1) * fraction
    below = math.floor(position)
    above = min(below + 1, len(sorted_values) - 1)
    weight = position - below
    return sorted_values[below] * (1 - weight) + sorted_values[above] * weight
