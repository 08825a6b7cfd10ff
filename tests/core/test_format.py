"""Display helpers: exact strings, independent of the local time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from batchboard.core.eta import Eta
from batchboard.core.format import (
    age,
    cell_width,
    countdown,
    eta_range,
    expiry_level,
    human_int,
    short_id,
    shorten,
    timestamp,
    usd,
)


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(hours=3, minutes=12, seconds=59), "3h 12m"),
        (timedelta(minutes=12, seconds=5), "12m 05s"),
        (timedelta(seconds=45.9), "45s"),
        (timedelta(days=2, hours=4, minutes=30), "2d 4h"),
        (timedelta(hours=1), "1h 00m"),
        (timedelta(0), "0s"),
        (timedelta(seconds=-1), "overdue"),
    ],
)
def test_countdown(delta: timedelta, expected: str) -> None:
    assert countdown(delta) == expected


def test_countdown_custom_past_word() -> None:
    assert countdown(timedelta(minutes=-5), past="expired") == "expired"


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(seconds=30), "30s"),
        (timedelta(minutes=5, seconds=59), "5m"),
        (timedelta(hours=3, minutes=59), "3h"),
        (timedelta(days=2, hours=23), "2d"),
        (timedelta(seconds=-30), "0s"),
    ],
)
def test_age(delta: timedelta, expected: str) -> None:
    assert age(delta) == expected


def test_short_id() -> None:
    assert short_id("msgbatch_013Zva2CMHLNnXjNJJKqJ2EF") == "…JJKqJ2EF"
    assert short_id("msgbatch_short") == "short"
    assert short_id("plainid") == "plainid"
    # The random tail is what is kept, and the same id always gives the same text.
    assert short_id("msgbatch_AAAA0000000012345678") != short_id("msgbatch_AAAA0000000012345679")
    assert short_id("msgbatch_013Zva2CMHLNnXjNJJKqJ2EF") == short_id("msgbatch_013Zva2CMHLNnXjNJJKqJ2EF")


def test_human_int() -> None:
    assert human_int(12345) == "12,345"
    assert human_int(0) == "0"
    assert human_int(1_000_000) == "1,000,000"


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (None, "—"),
        (0.0, "$0.00"),
        (1.234, "$1.23"),
        (1234.5, "$1,234.50"),
        (0.0042, "$0.0042"),
        (0.00037123, "$0.00037"),
        (0.00000001, "<$0.0001"),
        (-0.5, "-$0.50"),
    ],
)
def test_usd(amount: float | None, expected: str) -> None:
    assert usd(amount) == expected


@pytest.mark.parametrize(
    ("remaining", "expected"),
    [
        (timedelta(hours=5), "ok"),
        (timedelta(hours=4), "ok"),
        (timedelta(hours=3, minutes=59), "warning"),
        (timedelta(hours=1), "warning"),
        (timedelta(minutes=59), "critical"),
        (timedelta(minutes=-5), "critical"),
    ],
)
def test_expiry_level(remaining: timedelta, expected: str) -> None:
    assert expiry_level(remaining, warning_hours=4, critical_hours=1) == expected


def test_timestamp_is_utc_whatever_the_zone() -> None:
    tokyo = timezone(timedelta(hours=9))
    assert timestamp(datetime(2026, 11, 23, 23, 5, 9, tzinfo=tokyo)) == "2026-11-23 14:05:09 UTC"
    assert timestamp(datetime(2026, 11, 23, 14, 5, 9, 999, tzinfo=UTC)) == "2026-11-23 14:05:09 UTC"
    assert timestamp(None) == "—"


def test_eta_range() -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    assert eta_range(Eta(now + timedelta(minutes=20), now + timedelta(hours=1, minutes=5), 8), now) == (
        "in 20m–1h 05m"
    )
    assert eta_range(Eta(now + timedelta(minutes=40), now + timedelta(minutes=40, seconds=30), 8), now) == (
        "in ~40m"
    )
    assert eta_range(Eta(now, now, 8, reason="x", overdue=True), now) == "any moment"
    assert eta_range(Eta(None, None, 2, reason="too little history"), now) == "—"


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("max_tokens: 900000 > 64000", 26, "max_tokens: 900000 > 64000"),  # fits: whole
        ("max_tokens: 900000 > 64000", 25, "max_tokens: 900000 >…"),  # never "> 6400…"
        ("max_tokens: 900000 > 64000", 24, "max_tokens: 900000 >…"),
        ("max_tokens: 900000 > 64000", 16, "max_tokens:…"),  # never "900…"
        ("spend $1,234.56 today", 12, "spend…"),  # "$1,2…" would be a different amount
        ("12.5% of 40", 4, "…"),
        ("overloaded", 1, "…"),
        ("overloaded", 0, ""),
        ("日本語のラベル", 7, "日本語…"),  # wide characters count two cells
    ],
)
def test_shorten_marks_the_cut_and_never_cuts_a_number(text: str, width: int, expected: str) -> None:
    assert shorten(text, width) == expected
    assert cell_width(shorten(text, width)) <= width


def test_shorten_in_the_middle_keeps_both_ends() -> None:
    url = "https://api.anthropic.com/v1/messages/batches/msgbatch_01234/results"
    short = shorten(url, 40, middle=True)
    assert short == "https://api.anthropi…batch_01234/results" and len(short) <= 40
    assert shorten("results-msgbatch_013Zva2CMHLNnXjNJJKqJ2EF.jsonl", 30, middle=True).endswith(".jsonl")
    # the tail never starts inside a number either
    assert shorten("limit 12345678 tokens", 12, middle=True) == "limit…tokens"


def test_every_shortening_fits_and_keeps_numbers_whole() -> None:
    text = "HTTP 529 overloaded_error: retry after 30s (request req_0123456789) $5.98"
    numbers = {"529", "30", "0123456789", "$5.98"}
    for width in range(len(text) + 1):
        for middle in (False, True):
            short = shorten(text, width, middle=middle)
            assert cell_width(short) <= width
            if short != text:
                assert short.count("…") == 1 or width == 0
            for token in __import__("re").findall(r"\$?\d[\d.,]*\d|\d", short):
                assert token in numbers, (width, middle, short)
