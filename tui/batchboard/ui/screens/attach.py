"""Linking the source file of a batch sent elsewhere (`a`), as `batchboard attach BATCH_ID FILE` does.

The file is checked like a submit (every problem with its line; nothing stored if there is an error), the
batch's results are fetched if it has ended and they are not here, then the requests are stored as the
batch's, so `R` can resend its failures. The report says how many were linked and which custom_ids of the
batch the file lacks (and the other way round). Everything runs in a thread worker; paths, problems and
custom_ids are untrusted text and go in as `Content`, never markup.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from batchboard.core.clock import Clock
from batchboard.core.config import Settings
from batchboard.core.format import plural, printable
from batchboard.core.models import Batch
from batchboard.core.store import Store
from batchboard.ui.screens.submit import MAX_SHOWN_PROBLEMS, PathSuggester
from batchboard.ui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from batchboard.core.results.ingest import IngestProgress
    from batchboard.core.results.service import ResultsService
    from batchboard.core.submit.attach import Attached

#: custom_ids listed by name in the report (the rest are counted).
MAX_SHOWN_IDS = 10


class AttachScreen(ModalScreen[None]):
    """A path (with completion); enter checks the file and links it; escape closes. `on_attached(batch_id)`
    is called once the requests are stored (even if the screen was closed meanwhile)."""

    DEFAULT_CSS = """
    AttachScreen { align: center middle; }
    AttachScreen > Vertical {
        width: 90%; height: 80%; border: thick $primary; background: $surface; padding: 0 1;
    }
    AttachScreen #report { height: 1fr; border: round $panel; }
    AttachScreen .error { color: $error; }
    AttachScreen .warning { color: $warning; }
    AttachScreen .success { color: $success; }
    AttachScreen .hint { color: $text-muted; }
    AttachScreen.-narrow > Vertical { width: 100%; }
    AttachScreen.-short > Vertical { height: 100%; border: none; }
    """
    # Under 100 columns or 32 rows the dialog takes the whole terminal, as submit's does: at 80x24 the
    # report then has room for the check's result and what was linked.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="attach.close"),
    ]

    def __init__(
        self,
        store: Store,
        batch: Batch,
        results: ResultsService | None,
        settings: Settings,
        clock: Clock,
        *,
        on_attached: Callable[[str], None] | None = None,
        on_ingested: Callable[[str], None] | None = None,
        latest: Callable[[], Batch | None] | None = None,
        path: str = "",
    ) -> None:
        super().__init__()
        self.store = store
        self.target = batch
        self.results = results
        self.settings = settings
        self.clock = clock
        self.on_attached = on_attached
        self.on_ingested = on_ingested
        self.latest = latest
        """The batch as last polled (it may end while this screen is open)."""
        self.initial_path = path
        self.cancel_event = threading.Event()
        self.busy = False
        """True while a file is being checked and linked: enter waits for it."""
        self.outcome: Attached | None = None
        """The last attach done here."""

    @property
    def batch_id(self) -> str:
        return self.target.id

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Content.from_markup("[b]Link the source file of $id[/b]", id=printable(self.target.id)),
                id="title",
            )
            yield Static(
                Content(
                    "For a batch sent by another tool: its requests are read from the file and kept here, "
                    "so R can resend its failed items. The file is checked first; nothing is stored if it "
                    "has errors."
                ),
                classes="hint",
            )
            yield Static(Content(""), id="current", classes="hint")
            yield Input(
                value=self.initial_path,
                placeholder="path to FILE.jsonl",
                suggester=PathSuggester(),
                id="path",
            )
            yield VerticalScroll(id="report")
            yield Static(Content(""), id="status", classes="hint")
            yield Static(
                # escape is on the footer: one line at 80 columns.
                Content("enter: check and link · right arrow: complete the path"),
                classes="hint",
            )
            yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#path", Input).focus()
        self.read_current()

    def on_unmount(self) -> None:
        self.cancel_event.set()  # a results download under way stops at its next chunk

    def action_close(self) -> None:
        self.cancel_event.set()
        self.dismiss(None)

    # -- what is linked now ------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="attach-current", exit_on_error=False)
    def read_current(self) -> None:
        from batchboard.core.submit.intents import submission_for_batch

        try:
            submission = submission_for_batch(self.store, self.batch_id)
        except Exception:  # only a hint: a busy store must not stop anyone from linking
            return
        if submission is None:
            return
        if submission.kind == "attach":
            text = Content.assemble(
                "Linked now: ", printable(submission.source_path or "?"), " (a new file replaces it)"
            )
        else:
            text = Content(
                "batchboard sent this batch: its requests are stored already, there is nothing to link."
            )
        self.app.call_from_thread(self._show_current, text)

    def _show_current(self, text: Content) -> None:
        if self.is_attached:
            self.query_one("#current", Static).update(text)

    # -- checking and linking ----------------------------------------------------------------------

    @on(Input.Submitted, "#path")
    def _submitted(self) -> None:
        path = self.query_one("#path", Input).value.strip()
        if not path or self.busy:
            return
        self.busy = True
        self.clear()
        self.show(f"Checking {printable(path)}…")
        self.link_file(path)

    def clear(self) -> None:
        self.query_one("#report", VerticalScroll).remove_children()

    def show(self, *lines: Static | str) -> None:
        if not self.is_attached:
            return
        report = self.query_one("#report", VerticalScroll)
        report.mount_all(line if isinstance(line, Static) else Static(Content(line)) for line in lines)

    def _say(self, *lines: Static | str, clear: bool = False) -> None:
        """From the worker thread: add lines to the report (after clearing it)."""

        def update() -> None:
            if not self.is_attached:
                return
            if clear:
                self.clear()
            self.show(*lines)

        self.app.call_from_thread(update)

    @work(thread=True, exclusive=True, group="attach", exit_on_error=False)
    def link_file(self, path: str) -> None:
        try:
            self._check_and_link(path)
        except Exception as exc:  # said in plain words, never a crash
            self._say(_line(f"Could not link {printable(path)}: {type(exc).__name__}: {exc}", "error"))
        finally:
            self.app.call_from_thread(self._done)

    def _done(self) -> None:
        self.busy = False
        self._show_status(Content(""))

    def _show_status(self, text: Content) -> None:
        if self.is_attached:
            self.query_one("#status", Static).update(text)

    def _check_and_link(self, path: str) -> None:
        import sqlite3

        from batchboard.core.fsio import not_a_file
        from batchboard.core.submit.attach import attach_report
        from batchboard.core.submit.intents import SubmitError
        from batchboard.core.submit.rules import accepted_models
        from batchboard.core.submit.validate import validate_file

        shown = printable(path)
        file = Path(path).expanduser()
        if (problem := not_a_file(file)) is not None:
            self._say(_line(f"{shown}: {problem}", "error"), clear=True)
            return
        models = accepted_models(self.settings)
        try:
            report = validate_file(
                file, display_name=path, known_models=models, max_problems=MAX_SHOWN_PROBLEMS
            )
        except OSError as exc:
            self._say(_line(f"{shown}: could not read it ({exc.strerror or exc})", "error"), clear=True)
            return
        lines: list[Static | str] = [_line(printable(str(p)), p.severity) for p in report.problems]
        if report.omitted:
            lines.append(f"… and {plural(report.omitted, 'more problem')} not listed")
        if not report.ok:
            lines.append(
                _line(
                    f"{plural(report.errors, 'error')}, {plural(report.warnings, 'warning')}: "
                    "nothing was linked",
                    "error",
                )
            )
            self._say(*lines, clear=True)
            return
        lines.append(f"{shown}: {plural(report.requests, 'request')} OK")
        self._say(*lines, clear=True)
        notes = self._fetch_results()
        try:
            outcome = attach_report(self.store, self.batch_id, report, clock=self.clock)
        except SubmitError as error:
            self._say(*notes, _line(printable(str(error)), "error"))
            return
        except (OSError, sqlite3.Error) as exc:
            self._say(*notes, _line(f"Nothing was linked: {exc}", "error"))
            return
        self.app.call_from_thread(self._attached, outcome, shown, notes)

    def _fetch_results(self) -> list[Static | str]:
        """The batch's results in the index, to compare custom_ids; notes to show when they cannot be."""
        from batchboard.core.results.index import FileState
        from batchboard.core.results.ingest import IngestCancelled
        from batchboard.core.submit.attach import result_custom_ids

        if result_custom_ids(self.store, self.batch_id) is not None:
            return []
        unchecked = "custom_ids not compared (the retry screen lists failed items the file lacks)"
        batch = (self.latest() if self.latest is not None else None) or self.target
        if not batch.is_ended:
            return [_line(f"The batch has not ended, so it has no results yet: {unchecked}.", "warning")]
        if self.results is None:
            return [_line(f"Not connected to the API yet: {unchecked}.", "warning")]
        self._say(f"Fetching the results of {printable(self.batch_id)} to compare custom_ids…")
        try:
            report = self.results.ensure(batch, progress=self._progress, cancel=self.cancel_event)
        except IngestCancelled:
            return [_line(f"Results download canceled: {unchecked}.", "warning")]
        except Exception as exc:  # API and network errors alike: linking the file does not need them
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            return [_line(f"Could not fetch the results ({printable(message)}): {unchecked}.", "warning")]
        if report.state is FileState.UNAVAILABLE:
            reason = printable(report.message or "not available")
            return [_line(f"The results are not available ({reason}): {unchecked}.", "warning")]
        if self.on_ingested is not None:
            self.app.call_from_thread(self.on_ingested, self.batch_id)
        return []

    def _progress(self, progress: IngestProgress) -> None:
        text = Content(f"downloading results: {progress.items_done:,} · {progress.bytes_done / 1e6:.1f} MB")
        self.app.call_from_thread(self._show_status, text)

    def _attached(self, outcome: Attached, shown: str, notes: list[Static | str]) -> None:
        self.outcome = outcome
        if self.on_attached is not None:
            self.on_attached(outcome.batch_id)
        batch = printable(outcome.batch_id)
        self.app.notify(
            f"Linked to {batch} from {shown}: {outcome.linked_text()}",
            title="Source file linked",
            markup=False,
        )
        if not self.is_attached:
            return
        self.query_one("#current", Static).update(
            Content.assemble("Linked now: ", shown, " (a new file replaces it)")
        )
        lines: list[Static | str] = [
            *notes,
            _line(f"Linked {shown} to {batch}: {outcome.linked_text()}.", "success"),
        ]
        if outcome.compared:
            lines += _id_list(
                outcome.missing,
                ("custom_id of the batch is", "custom_ids of the batch are"),
                "not in the file (their failures cannot be retried)",
                "warning",
            )
            lines += _id_list(
                outcome.extra,
                ("custom_id in the file is", "custom_ids in the file are"),
                "not in the batch",
                "warning",
            )
            if not outcome.missing and not outcome.extra:
                lines.append("The file has exactly the batch's custom_ids.")
        if self._has_failures():
            lines.append("escape, then R: resend the batch's failed items from this file.")
        self.show(*lines)

    def _has_failures(self) -> bool:
        batch = (self.latest() if self.latest is not None else None) or self.target
        return batch is not None and batch.can_retry


def _line(text: str, severity: str) -> Static:
    return Static(Content(text), classes=severity)


def _id_list(ids: list[str], subject: tuple[str, str], what: str, severity: str) -> list[Static | str]:
    """ "1 custom_id of the batch is not in the file:" / "3 custom_ids ... are ...", then the ids."""
    if not ids:
        return []
    lines: list[Static | str] = [_line(f"{plural(len(ids), *subject)} {what}:", severity)]
    lines += [f"  {printable(cid)}" for cid in ids[:MAX_SHOWN_IDS]]
    if len(ids) > MAX_SHOWN_IDS:
        lines.append(f"  … and {len(ids) - MAX_SHOWN_IDS:,} more")
    return lines
