"""Display helpers shared by the table, the detail screen and the CLI: plain strings, never markup.

Everything here is pure and locale-independent, so snapshots and tests are stable on any machine.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from batchboard.core.eta import Eta

DASH = "—"  # shown for a value that is not known (yet); never a made-up number
ELLIPSIS = "…"
SHORT_ID_LENGTH = 8

ExpiryLevel = Literal["ok", "warning", "critical"]


def countdown(delta: timedelta, past: str = "overdue") -> str:
    """Time left, two units at most: "2d 4h", "3h 12m", "12m 05s", "45s"; `past` once below zero."""
    if delta < timedelta(0):
        return past
    seconds = int(delta.total_seconds())  # floor: a countdown never claims more time than is left
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def age(delta: timedelta) -> str:
    """How long ago, one unit: "45s", "5m", "3h", "2d". Negative ages (clock skew) read as "0s"."""
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3_600:
        return f"{seconds // 60}m"
    if seconds < 86_400:
        return f"{seconds // 3_600}h"
    return f"{seconds // 86_400}d"


def short_id(batch_id: str) -> str:
    """ "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF" -> "…NJJKqJ2EF"-style: the last 8 characters after the prefix.

    Batch ids end in random characters, so the tail stays unique in practice; ids already short are
    returned whole.
    """
    _, _, body = batch_id.rpartition("_")
    body = body or batch_id
    if len(body) <= SHORT_ID_LENGTH + 1:
        return body
    return ELLIPSIS + body[-SHORT_ID_LENGTH:]


def human_int(n: int) -> str:
    return f"{n:,}"


def plural(count: int, singular: str, many: str | None = None, *, number: bool = True) -> str:
    """ "1 batch", "0 batches", "2,500 requests": the count (with thousands separators) and its noun, in the
    singular for exactly one. `many` for an irregular plural ("custom_id(s)" reads as "custom_ids");
    `number=False` gives the noun alone, for a count styled apart from its word."""
    word = singular if count == 1 else (many or _plural_of(singular))
    return f"{count:,} {word}" if number else word


def _plural_of(word: str) -> str:
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and word[-2:-1] not in ("a", "e", "o", "u"):
        return word[:-1] + "ies"
    return word + "s"


def usd(amount: float | None) -> str:
    """ "$1.23", "$1,234.50", "$0.0042" (two significant digits under a cent), "—" when unknown.

    Amounts under a hundredth of a cent read "<$0.0001" rather than a long row of zeros."""
    if amount is None:
        return DASH
    sign = "-" if amount < 0 else ""
    value = abs(amount)
    if value == 0:
        return "$0.00"
    if value < 0.0001:
        return f"{sign}<$0.0001"
    if value < 0.01:
        return f"{sign}${value:.2g}"  # two significant digits: 0.0042, 0.00037
    return f"{sign}${value:,.2f}"


def expiry_level(remaining: timedelta, warning_hours: float, critical_hours: float) -> ExpiryLevel:
    """How urgent a countdown to expiry is: under `critical_hours` (or past) is critical."""
    if remaining < timedelta(hours=critical_hours):
        return "critical"
    if remaining < timedelta(hours=warning_hours):
        return "warning"
    return "ok"


def time_of_day(dt: datetime, now: datetime) -> str:
    """ "14:02 UTC" on the day of `now` (UTC), "2026-12-05 14:02 UTC" on another day."""
    aware = (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)
    same_day = aware.date() == now.astimezone(UTC).date()
    return aware.strftime("%H:%M UTC" if same_day else "%Y-%m-%d %H:%M UTC")


def timestamp(dt: datetime | None) -> str:
    """ "2026-11-23 14:05:09 UTC" whatever the local zone; "—" for None. Naive values are taken as UTC."""
    if dt is None:
        return DASH
    aware = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def eta_range(eta: Eta, now: datetime) -> str:
    """An ETA for a table cell: "in 20m–1h 05m", "in ~40m", "any moment", or "—" with no estimate."""
    if eta.overdue:
        return "any moment"
    if eta.low is None or eta.high is None:
        return DASH
    low, high = _coarse(eta.low - now), _coarse(eta.high - now)
    return f"in ~{low}" if low == high else f"in {low}–{high}"


def _coarse(delta: timedelta) -> str:
    # Minute resolution: an estimate with seconds in it would claim a precision it does not have.
    minutes = max(int(delta.total_seconds()) // 60, 0)
    if minutes < 1:
        return "<1m"
    hours, minutes = divmod(minutes, 60)
    if hours >= 24:
        return f"{hours // 24}d {hours % 24}h"
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str, *, one_line: bool = False) -> str:
    """`text` with terminal control characters made visible and harmless (ESC becomes ␛, C1 codes `\\x9b`).

    Newlines and tabs stay. Everything from outside (model output, API error text, labels, result fields)
    goes through this before it is displayed, so an ANSI or OSC escape can never reach the terminal.
    `one_line` (the CLI's plain output, one record a line): every control character, newlines and tabs
    included, becomes a `\\xNN` escape.
    """
    if one_line:
        return _ANY_CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", text)

    def visible(match: re.Match[str]) -> str:
        code = ord(match.group(0))
        if code < 0x20:
            return chr(0x2400 + code)  # the Unicode "control pictures" block
        if code == 0x7F:
            return "\u2421"
        return f"\\x{code:02x}"

    return _CONTROL.sub(visible, text.replace("\r\n", "\n"))


# A number as a reader sees it: "$5.98", "64,000", "12.5%", "3.2k". Cutting one would show a different value.
_NUMBER = re.compile(r"[$€£]?\d(?:[\d,._]*\d)?%?")


def cell_width(text: str) -> int:
    """Terminal cells `text` takes: East Asian wide and full-width characters two, combining marks none."""
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in "WF" else 1
    return width


def shorten(text: str, width: int, *, middle: bool = False, cells: Callable[[str], int] = cell_width) -> str:
    """`text` in at most `width` cells, the cut marked with `…`; a number is never cut, it goes whole.

    The one shortening rule of batchboard (table cells, the header, dialogs, file names): a cut that would
    fall inside a number ("64000" shown as "640") moves to before it, so what is left can never read as a
    different value. `middle` keeps the start and the end (a URL, a file name with its extension).
    `cells` measures display width (the UI passes Rich's, which knows the terminal's wide characters).
    """
    cut = cut_points(text, width, middle=middle, cells=cells)
    if cut is None:
        return text
    head, tail = cut
    return text[:head] + ELLIPSIS + text[tail:] if width > 0 else ""


def cut_points(
    text: str, width: int, *, middle: bool = False, cells: Callable[[str], int] = cell_width
) -> tuple[int, int] | None:
    """Where `shorten` cuts: `text[:head] + "…" + text[tail:]` fits `width`; None when `text` fits whole."""
    if cells(text) <= width:
        return None
    if width <= 1:
        return 0, len(text)
    if middle and width >= 5:
        head = _head(text, width - 1 - (width - 1) // 2, cells)
        return head, _tail(text, width - 1 - cells(text[:head]), cells)
    return _head(text, width - 1, cells), len(text)


def _head(text: str, room: int, cells: Callable[[str], int]) -> int:
    """The end of the longest start of `text` within `room` cells, neither inside a number nor on a space."""
    end = 0
    used = 0
    for char in text:
        used += cells(char)
        if used > room:
            break
        end += 1
    end = _outside_numbers(text, end, to_start=True)
    return len(text[:end].rstrip())


def _tail(text: str, room: int, cells: Callable[[str], int]) -> int:
    """The start of the longest end of `text` within `room` cells, neither inside a number nor on a space."""
    start = len(text)
    used = 0
    for char in reversed(text):
        used += cells(char)
        if used > room:
            break
        start -= 1
    start = _outside_numbers(text, start, to_start=False)
    return len(text) - len(text[start:].lstrip())


def _outside_numbers(text: str, at: int, *, to_start: bool) -> int:
    """`at`, or the start (`to_start`) or end of the number that `at` falls inside."""
    for match in _NUMBER.finditer(text):
        if match.start() >= at:
            break
        if at < match.end():
            return match.start() if to_start else match.end()
    return at
