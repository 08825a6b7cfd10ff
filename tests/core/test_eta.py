"""ETA from hand-made histories: refusal with too little history, percentile ranges, size similarity,
conditioning on elapsed time, clamping at expiry, and "any moment" past every estimate."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from batchboard.core.eta import DurationSample, estimate_eta, percentile, size_exponent

CREATED = datetime(2026, 11, 23, 12, tzinfo=UTC)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def history(size: int, *durations_in_minutes: float) -> list[DurationSample]:
    return [DurationSample(size, m * 60) for m in durations_in_minutes]


TEN_TO_EIGHTY = history(100, 10, 20, 30, 40, 50, 60, 70, 80)


def test_too_little_history_says_how_much_is_needed() -> None:
    eta = estimate_eta(100, CREATED, CREATED, history(100, 10, 20))
    assert (eta.low, eta.high, eta.samples, eta.overdue) == (None, None, 2, False)
    assert eta.reason == "too little history: 2 of 5 ended batches needed"


def test_unusable_samples_do_not_count() -> None:
    broken = [*history(100, 10, 20, 30, 40), DurationSample(100, 0.0), DurationSample(0, 60.0)]
    eta = estimate_eta(100, CREATED, CREATED, broken)
    assert eta.reason == "too little history: 4 of 5 ended batches needed"


def test_range_is_the_interquartile_of_similar_batches() -> None:
    eta = estimate_eta(100, CREATED, CREATED, TEN_TO_EIGHTY)
    assert eta.reason is None and not eta.overdue and eta.samples == 8
    assert eta.low == CREATED + minutes(27.5)
    assert eta.high == CREATED + minutes(62.5)


def test_history_order_does_not_matter() -> None:
    shuffled = TEN_TO_EIGHTY[:]
    random.Random(4).shuffle(shuffled)
    assert estimate_eta(100, CREATED, CREATED, shuffled) == estimate_eta(100, CREATED, CREATED, TEN_TO_EIGHTY)


def test_uses_batches_of_similar_size_when_there_are_enough() -> None:
    mixed = history(10, 5, 5, 5, 5, 5) + history(10_000, 600, 600, 600, 600, 600)
    small = estimate_eta(10, CREATED, CREATED, mixed)
    large = estimate_eta(10_000, CREATED, CREATED, mixed)
    assert small.samples == large.samples == 5
    assert small.low == small.high == CREATED + minutes(5)
    assert large.low == large.high == CREATED + minutes(600)


def test_falls_back_to_all_batches_scaled_by_size() -> None:
    # Five batches of 10 requests; one of 1,000 is 100x larger. Too few samples to fit the exponent,
    # so the default square-root scaling applies: 5 minutes x sqrt(100) = 50 minutes.
    eta = estimate_eta(1_000, CREATED, CREATED, history(10, 5, 5, 5, 5, 5))
    assert eta.samples == 5
    assert eta.low == eta.high == CREATED + minutes(50)


def test_size_exponent_is_fitted_and_clamped() -> None:
    linear = [DurationSample(n, n * 6.0) for n in (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)]
    constant = [DurationSample(n, 600.0) for n in (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)]
    square = [DurationSample(n, n * n / 10) for n in (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)]
    assert size_exponent(linear) == pytest.approx(1.0)
    assert size_exponent(constant) == pytest.approx(0.0)
    assert size_exponent(square) == 1.0
    assert size_exponent(linear[:5]) == 0.5  # too few samples to fit


def test_conditions_on_time_already_elapsed() -> None:
    now = CREATED + minutes(45)
    eta = estimate_eta(100, CREATED, now, TEN_TO_EIGHTY)
    # Still running after 45 minutes: only the 50-80 minute batches remain comparable.
    assert eta.low == CREATED + minutes(57.5)
    assert eta.high == CREATED + minutes(72.5)
    assert eta.low is not None and eta.low >= now


def test_past_every_estimate_is_any_moment_not_a_time_in_the_past() -> None:
    now = CREATED + minutes(90)
    eta = estimate_eta(100, CREATED, now, TEN_TO_EIGHTY)
    assert eta.overdue
    assert eta.low == eta.high == now
    assert eta.reason == "running longer than all 8 comparable batches: any moment"


def test_clamped_to_expiry() -> None:
    slow = history(100, 20 * 60, 23 * 60, 26 * 60, 28 * 60, 30 * 60)
    eta = estimate_eta(100, CREATED, CREATED, slow)
    assert eta.high == CREATED + timedelta(hours=24)
    assert eta.low is not None and eta.low <= eta.high


def test_after_expiry_time() -> None:
    now = CREATED + timedelta(hours=24, minutes=1)
    eta = estimate_eta(100, CREATED, now, TEN_TO_EIGHTY)
    assert eta.overdue and eta.low == eta.high == now
    assert eta.reason == "past its expiry time: ends any moment"


def test_percentile_interpolates() -> None:
    assert percentile([1.0], 0.25) == 1.0
    assert percentile([0.0, 10.0], 0.25) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.75) == 4.0


def test_size_exponent_follows_the_most_recent_samples() -> None:
    sizes = (10, 100, 1000, 10000)
    old_constant = [DurationSample(sizes[i % 4], 600.0) for i in range(500)]
    recent_linear = [DurationSample(sizes[i % 4], sizes[i % 4] * 6.0) for i in range(500)]
    assert size_exponent(old_constant + recent_linear) == pytest.approx(1.0)
    assert size_exponent(recent_linear + old_constant) == pytest.approx(0.0)


def test_similar_means_within_a_factor_of_four() -> None:
    edge = history(400, 10, 10, 10, 10, 10) + history(401, 99, 99, 99, 99, 99)
    eta = estimate_eta(100, CREATED, CREATED, edge)
    # 400 is exactly 4x 100, so only those five count; 401 is not similar.
    assert eta.samples == 5
    assert eta.high is not None and eta.high < CREATED + minutes(20)
