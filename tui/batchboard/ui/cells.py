"""How a batch looks in a table cell or on the detail screen: Rich `Text`, never markup.

Pure functions of a batch, the time and a palette, shared by the table and the detail screen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.text import Text

from batchboard.core import format as fmt
from batchboard.core.models import Batch, Outcome
from batchboard.core.results.schema import INVALID_OUTPUT, REFUSED, TRUNCATED, UNUSABLE
from batchboard.ui.palette import Palette

if TYPE_CHECKING:
    from batchboard.core.eta import Eta


def shorten(text: str, width: int, *, middle: bool = False) -> str:
    """`format.shorten` measured in the terminal's cells: cut with `…`, numbers dropped whole."""
    return fmt.shorten(text, width, middle=middle, cells=cell_len)


def shorten_text(text: Text, width: int, *, middle: bool = False) -> Text:
    """Styled `text` in at most `width` cells, cut as `shorten` cuts (styles kept on what is left)."""
    cut = fmt.cut_points(text.plain, width, middle=middle, cells=cell_len)
    if cut is None:
        return text
    head, tail = cut
    if width <= 0:
        return Text("", end="")
    line = text[:head]
    line.end = ""
    line.no_wrap = True
    line.append(fmt.ELLIPSIS)
    if tail < len(text.plain):
        line.append_text(text[tail:])
    return line


def pack(pieces: Sequence[str], width: int, gap: int = 3) -> str:
    """`pieces` on as few lines of `width` cells as they fit, each one whole (never broken between lines),
    `gap` spaces apart; a piece wider than the line has a line of its own. No limit when `width` <= 0."""
    lines: list[str] = []
    for piece in pieces:
        if lines and (width <= 0 or cell_len(lines[-1]) + gap + cell_len(piece) <= width):
            lines[-1] += " " * gap + piece
        else:
            lines.append(piece)
    return "\n".join(lines)


def outcome_style(outcome: Outcome, palette: Palette) -> str | object:
    return {
        Outcome.RUNNING: palette.primary,
        Outcome.CANCELING: palette.warning,
        Outcome.SUCCEEDED: palette.success,
        Outcome.PARTIAL: palette.warning,
        Outcome.FAILED: palette.bold_error,
        Outcome.CANCELED: palette.muted,
        Outcome.EXPIRED: palette.error,
    }[outcome]


def status_text(batch: Batch, palette: Palette) -> Text:
    """The outcome, coloured by its mix: an ended batch where half errored reads "partial", not success."""
    outcome = batch.outcome
    style = outcome_style(outcome, palette)
    return Text(outcome.value, style=style)  # type: ignore[arg-type]


def count_text(n: int, style: object | None = None) -> Text:
    if n == 0:
        return Text("·", justify="right")
    return Text(fmt.human_int(n), style=style, justify="right")  # type: ignore[arg-type]


#: The Outcome bar's mark for succeeded answers that are unusable (truncated, invalid output, refused).
UNUSABLE_GLYPH = "▚"
#: How the detail screen names each unusable class.
UNUSABLE_WORDS = {TRUNCATED: "truncated", INVALID_OUTPUT: "invalid", REFUSED: "refused"}


def bar_text(batch: Batch, width: int, palette: Palette, unusable: int = 0) -> Text:
    """Requests by outcome as a bar: succeeded (usable, then `unusable` of them marked with
    UNUSABLE_GLYPH), errored, expired+canceled, then still processing. Any non-zero part shows."""
    c = batch.counts
    total = c.total
    text = Text(no_wrap=True)
    if total == 0 or width <= 0:
        return Text("░" * width, style=palette.muted)
    unusable = min(max(unusable, 0), c.succeeded)
    parts = [
        (c.succeeded - unusable, "█", palette.success),
        (unusable, UNUSABLE_GLYPH, palette.warning),
        (c.errored, "█", palette.error),
        (c.expired + c.canceled, "█", palette.warning),
        (c.processing, "░", palette.muted),
    ]
    # Largest-remainder rounding so the segments fill the width exactly, and any non-zero part shows.
    raw = [n * width / total for n, _, _ in parts]
    cells = [int(r) for r in raw]
    for i, (n, _, _) in enumerate(parts):
        if n and cells[i] == 0:
            cells[i] = 1
    while sum(cells) > width:
        i = max(range(len(cells)), key=lambda k: cells[k])
        cells[i] -= 1
    order = sorted(range(len(parts)), key=lambda k: raw[k] - int(raw[k]), reverse=True)
    k = 0
    while sum(cells) < width:
        i = order[k % len(order)]
        if parts[i][0]:
            cells[i] += 1
        k += 1
    for (_, glyph, style), n in zip(parts, cells, strict=True):
        if n:
            text.append(glyph * n, style=style)
    return text


def succeeded_text(succeeded: int, unusable: Mapping[str, int], palette: Palette) -> Text:
    """The succeeded count, and of those how many are unusable by class: "940 (12 truncated, 3 invalid,
    1 refused)"."""
    text = Text(fmt.human_int(succeeded), style=palette.success)
    parts = [
        f"{fmt.human_int(unusable[name])} {UNUSABLE_WORDS[name]}" for name in UNUSABLE if unusable.get(name)
    ]
    if parts:
        text.append(" (")
        text.append(UNUSABLE_GLYPH, style=palette.warning)
        text.append(" " + ", ".join(parts) + ")", style=palette.warning)
    return text


def deadline_text(
    batch: Batch, now: datetime, palette: Palette, warning_hours: float, critical_hours: float
) -> Text:
    """Active: countdown to expiry (warning/critical colours). Ended: countdown to results archival."""
    if batch.is_active:
        remaining = batch.expires_at - now
        level = fmt.expiry_level(remaining, warning_hours, critical_hours)
        style = {"ok": None, "warning": palette.warning, "critical": palette.bold_error}[level]
        return Text("expires " + fmt.countdown(remaining, past="now"), style=style)  # type: ignore[arg-type]
    if batch.is_archived(now):
        return Text("archived", style=palette.muted)
    return Text("archive " + fmt.countdown(batch.retention_ends_at - now), style=palette.muted)


def eta_text(batch: Batch, eta: Eta | None, now: datetime, palette: Palette) -> Text:
    if not batch.is_active or eta is None:
        return Text("")
    if batch.processing_status == "canceling":
        return Text("canceling", style=palette.muted)
    if eta.low is None and not eta.overdue:
        return Text("no history", style=palette.muted)
    return Text(fmt.eta_range(eta, now))


def age_text(batch: Batch, now: datetime) -> Text:
    return Text(fmt.age(now - batch.created_at), justify="right")


def elapsed_text(batch: Batch, now: datetime) -> str:
    elapsed = batch.elapsed(now)
    return fmt.countdown(elapsed) if elapsed >= timedelta(0) else "0s"


def end_summary(batch: Batch) -> str:
    """How a batch ended, in words, for its notification."""
    c = batch.counts
    parts = [f"{fmt.human_int(c.succeeded)} succeeded"]
    for n, word in ((c.errored, "errored"), (c.canceled, "canceled"), (c.expired, "expired")):
        if n:
            parts.append(f"{fmt.human_int(n)} {word}")
    return f"{batch.outcome.value}: " + ", ".join(parts) + f" of {fmt.human_int(c.total)}"
