"""The line above the table: demo marker, what is running, and how fresh the data is."""

from __future__ import annotations

from datetime import datetime

from textual.content import Content
from textual.widgets import Static

from batchboard.core import format as fmt
from batchboard.ui.book import BatchBook


class SummaryBar(Static):
    """Active batches, requests in flight, ended today, this month's spend and savings, freshness."""

    DEFAULT_CSS = """
    SummaryBar {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $foreground;
    }
    SummaryBar.-stale {
        background: $error 30%;
    }
    """

    def __init__(self, book: BatchBook, *, demo: bool = False, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.book = book
        self.demo = demo
        self.connect_message = "connecting…"

    def show_summary(self) -> None:
        self.update(self.summary(self.book.clock.now()))

    def summary(self, now: datetime) -> Content:
        book = self.book
        parts: list[Content] = []
        if self.demo:
            parts.append(Content.styled(" DEMO ", "bold $background on $accent"))
        if not book.connected and book.saved_at is None:
            parts.append(Content(self.connect_message))
            self.set_class(False, "-stale")
            return Content(" ").join(parts)
        spend, saved = fmt.DASH, fmt.DASH
        if book.results is not None:
            # Imported once results exist (after connecting): it is heavy, and the first frame must be fast.
            from batchboard.ui import results_actions

            spend, saved = results_actions.header_spend(book.results)
        parts.append(
            Content.from_markup(
                "[b]$active[/b] active · [b]$flight[/b] requests in flight · [b]$ended[/b] ended today"
                " · spend this month [b]$spend[/b] · saved [b]$saved[/b]",
                active=fmt.human_int(book.active_count),
                flight=fmt.human_int(book.in_flight),
                ended=fmt.human_int(book.ended_on(now.date())),
                spend=spend,
                saved=saved,
            )
        )
        status = book.status
        stale = status is not None and not status.ok
        self.set_class(stale, "-stale")
        if book.showing_saved and book.saved_at is not None:
            # First, before any freshness: these rows are the last session's, not the service's yet.
            waiting = self.connect_message if not book.connected else "connecting…"
            parts.append(
                Content.from_markup(
                    "[b $warning]saved view from $when[/] · $waiting",
                    when=fmt.time_of_day(book.saved_at, now),
                    waiting=waiting,
                )
            )
        elif status is None:
            parts.append(Content.styled("loading…", "$text-muted"))
        elif status.ok:
            ago = fmt.age(now - status.last_success) if status.last_success else "—"
            parts.append(Content.styled(f"updated {ago} ago", "$text-muted"))
        else:
            # Never reached this start: stale since the saved view was taken.
            since = (book.saved_at if status.last_success is None else None) or status.stale_since or now
            retry = f" · retrying in {status.retry_in:.0f}s" if status.retry_in is not None else ""
            parts.append(
                Content.from_markup(
                    "[b $error]STALE[/] since $since ($ago): $why$retry",
                    since=fmt.timestamp(since),
                    ago=fmt.age(now - since),
                    why=status.error or "unknown error",
                    retry=retry,
                )
            )
        return Content(" · ").join(parts)
