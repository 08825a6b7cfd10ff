"""The line above the table: demo marker, how fresh the data is, what is running, and the spend.

Parts have priorities: as the width shrinks, the spend and the counts shorten, then drop whole (a number is
never cut); the connection state never drops. STALE keeps its age and next retry on the first line; its
reason takes a second line when one line has no room for it (cut with `…` only if it is longer than that).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from textual import events
from textual.content import Content

from batchboard.core import format as fmt
from batchboard.ui.book import BatchBook, SpendTexts, spend_texts
from batchboard.ui.cells import shorten
from batchboard.ui.widgets.text_line import TextLine

SEPARATOR = Content(" · ")


@dataclass
class Part:
    """One part of the header: its texts from the longest to the shortest; `None` last if it may drop."""

    variants: Sequence[Content | None]
    level: int = 0

    @property
    def shown(self) -> Content | None:
        return self.variants[self.level]

    def step(self) -> bool:
        """Shorten (or drop) once; False when it cannot go further."""
        if self.level + 1 >= len(self.variants):
            return False
        self.level += 1
        return True


#: Which part gives way next while the line is too wide: first the spend's extras, then the counts'
#: words, then whole counts; the state shortens last and never drops.
GIVE_WAY = ("spend", "flight", "ended", "spend", "state", "spend", "flight", "ended", "spend", "state")


def fit_parts(parts: dict[str, Part], width: int, order: Sequence[str] = GIVE_WAY) -> Content:
    """The parts (in their order) joined on one line, shortened by `order` until they fit `width`."""

    def line() -> Content:
        return SEPARATOR.join(p.shown for p in parts.values() if p.shown is not None)

    joined = line()
    for name in order:
        if width <= 0 or joined.cell_length <= width:
            break
        part = parts.get(name)
        if part is not None and part.step():
            joined = line()
    if width <= 0 or joined.cell_length > width:
        return joined
    # A later step may have made room for an earlier one: give back, most important part first.
    for name in reversed(order):
        part = parts.get(name)
        if part is None or part.level == 0:
            continue
        part.level -= 1
        longer = line()
        if longer.cell_length <= width:
            joined = longer
        else:
            part.level += 1
    return joined


class SummaryBar(TextLine):
    """Freshness (or STALE and why), active batches, requests in flight, ended today, spend and savings."""

    DEFAULT_CSS = """
    SummaryBar {
        height: auto;
        max-height: 2;
        padding: 0 1;
        background: $panel;
        color: $foreground;
    }
    SummaryBar.-stale {
        background: $error 30%;
    }
    """

    def __init__(self, book: BatchBook, *, demo: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.book = book
        self.demo = demo
        self.connect_message = "connecting…"
        self._stale_full = Content()
        self._counts: tuple[tuple[object, ...], dict[str, list[Content | None]]] | None = None
        """The figures the count parts were last made from, and their texts."""

    def show_summary(self) -> None:
        """Draw the line again if it reads differently now (every second, for "updated 3s ago")."""
        self.show_line(self.summary(self.book.clock.now()))

    def on_resize(self, event: events.Resize) -> None:
        self.show_summary()

    @property
    def line_width(self) -> int:
        """Cells for the text (0 before the first layout: no shortening then)."""
        return self.content_size.width

    def summary(self, now: datetime) -> Content:
        book = self.book
        width = self.line_width
        demo = Content.styled(" DEMO ", "bold $background on $accent") if self.demo else None
        if not book.connected and book.saved_at is None:
            self.set_class(False, "-stale")
            room = width - (demo.cell_length + 1 if demo is not None else 0) if width else 0
            message = Content(shorten(self.connect_message, room) if room > 0 else self.connect_message)
            return Content(" ").join([demo, message] if demo is not None else [message])
        status = book.status
        stale = status is not None and not status.ok
        self.set_class(stale, "-stale")
        parts: dict[str, Part] = {}
        if demo is not None:
            parts["demo"] = Part([demo])
        reason: str | None = None
        if book.showing_saved and book.saved_at is not None:
            # First, before any freshness: these rows are the last session's, not the service's yet.
            waiting = self.connect_message if not book.connected else "connecting…"
            when = fmt.time_of_day(book.saved_at, now)
            parts["state"] = Part(
                [
                    Content.from_markup(
                        "[b $warning]saved view from $when[/] · $waiting", when=when, waiting=waiting
                    ),
                    Content.from_markup("[b $warning]saved $when[/] · connecting…", when=when),
                ]
            )
        elif status is None:
            parts["state"] = Part([Content.styled("loading…", "$text-muted")])
        elif status.ok:
            ago = fmt.age(now - status.last_success) if status.last_success else fmt.DASH
            parts["state"] = Part(
                [
                    Content.styled(f"updated {ago} ago", "$text-muted"),
                    Content.styled(f"{ago} ago", "$text-muted"),
                ]
            )
        else:
            # Never reached this start: stale since the saved view was taken.
            since = (book.saved_at if status.last_success is None else None) or status.stale_since or now
            age = fmt.age(now - since)
            retry = f" · retrying in {status.retry_in:.0f}s" if status.retry_in is not None else ""
            short_retry = f" · retry in {status.retry_in:.0f}s" if status.retry_in is not None else ""
            reason = status.error or "unknown error"
            self._stale_full = Content.from_markup(
                "[b $error]STALE[/] since $since ($age): $why$retry",
                since=fmt.timestamp(since),
                age=age,
                why=reason,
                retry=retry,
            )
            parts["state"] = Part(
                [
                    Content.from_markup(
                        "[b $error]STALE[/] since $since ($age)$retry",
                        since=fmt.timestamp(since),
                        age=age,
                        retry=retry,
                    ),
                    Content.from_markup("[b $error]STALE[/] $age$retry", age=age, retry=short_retry),
                ]
            )
        parts.update(self._count_parts(now))
        if reason is not None:
            one_line = self._stale_on_one_line(parts, width)
            if one_line is not None:
                return one_line
            first = fit_parts(parts, width)
            return Content("\n").join([first, Content(shorten(reason, width) if width else reason)])
        return fit_parts(parts, width)

    def _count_parts(self, now: datetime) -> dict[str, Part]:
        """The counts and the spend (fresh parts, not shortened yet); their texts are made again only when
        a figure changes, not every second."""
        book = self.book
        texts = spend_texts(book.results)
        figures = (book.active_count, book.in_flight, book.ended_on(now.date()), texts)
        if self._counts is None or self._counts[0] != figures:
            self._counts = (figures, self._count_variants(*figures))
        return {name: Part(variants) for name, variants in self._counts[1].items()}

    @staticmethod
    def _count_variants(
        active_count: int, in_flight: int, ended_today: int, texts: SpendTexts | None
    ) -> dict[str, list[Content | None]]:
        active = fmt.human_int(active_count)
        flight = fmt.human_int(in_flight)
        ended = fmt.human_int(ended_today)
        requests = fmt.plural(in_flight, "request", number=False)
        month, today, every, saved = (
            (texts.month, texts.today, texts.all_time, texts.saved) if texts else (fmt.DASH,) * 4
        )
        bold = "[b]$n[/b]"
        spend_variants: list[Content | None] = [
            Content.from_markup(
                "spend this month [b]$m[/b] (today $t, all time $a) · saved [b]$s[/b]",
                m=month,
                t=today,
                a=every,
                s=saved,
            )
            if texts
            else Content.from_markup("spend this month [b]$m[/b] · saved [b]$s[/b]", m=month, s=saved),
            Content.from_markup("spend this month [b]$m[/b] · saved [b]$s[/b]", m=month, s=saved),
            Content.from_markup("[b]$m[/b] this month · saved [b]$s[/b]", m=month, s=saved),
            Content.from_markup("[b]$m[/b] this month", m=month),
            None,
        ]
        return {
            "active": [Content.from_markup(f"{bold} active", n=active)],
            "flight": [
                Content.from_markup(f"{bold} $requests in flight", n=flight, requests=requests),
                Content.from_markup(f"{bold} in flight", n=flight),
                None,
            ],
            "ended": [Content.from_markup(f"{bold} ended today", n=ended), None],
            "spend": spend_variants,
        }

    def _stale_on_one_line(self, parts: dict[str, Part], width: int) -> Content | None:
        """The whole STALE text and its reason on one line with the active count, if that fits."""
        with_reason = self._stale_full
        trial = {k: Part([with_reason] if k == "state" else p.variants, p.level) for k, p in parts.items()}
        line = fit_parts(trial, width)
        if width <= 0 or line.cell_length <= width:
            return line
        return None
