"""Submitting a JSONL file (`n`) and resubmitting a batch's failures (`R`) from the TUI.

Both screens do what the CLI does, through the same core: check (every problem, with line and field),
estimate, confirm, then the crash-safe send. Validation and store writes run in thread workers, API calls in
async workers; problems, paths and custom_ids are untrusted text and go in as `Content`, never markup.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Static

from batchboard.core.clock import Clock
from batchboard.core.config import Settings
from batchboard.core.format import plural, printable
from batchboard.core.store import Store
from batchboard.ui.cells import pack
from batchboard.ui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from textual.widget import AwaitMount

    from batchboard.core.gateway.client import AsyncAnthropic
    from batchboard.core.jobs import RetryPlan
    from batchboard.core.submit.estimate import Estimate
    from batchboard.core.submit.jsonl import Report
    from batchboard.core.submit.recovery import Recovered

#: The retry screen's toggles of succeeded but unusable answers (`--types` words), and the max_tokens `m`
#: steps through for the truncated ones (None: each one's own doubled; all capped at the model's limit).
UNUSABLE_TOGGLES = ("truncated", "invalid_output", "refused")
MAX_TOKENS_STEPS: tuple[int | None, ...] = (None, 8_192, 16_384, 32_768, 65_536, 131_072)

#: Returns the connected SDK client, or None while the app is still connecting.
ClientSource = Callable[[], "AsyncAnthropic | None"]
MAX_SHOWN_PROBLEMS = 200
MAX_SHOWN_IDS = 50

DEFAULT_CSS = """
SubmitScreen, RetryScreen { align: center middle; }
SubmitScreen > Vertical, RetryScreen > Vertical {
    width: 90%; height: 80%; border: thick $primary; background: $surface; padding: 0 1;
}
/* The gutter is kept: a scrollbar appearing must not rewrap the lines after the estimate is scrolled to. */
SubmitScreen #report, RetryScreen #report { height: 1fr; border: round $panel; scrollbar-gutter: stable; }
SubmitScreen .error { color: $error; }
SubmitScreen .warning { color: $warning; }
SubmitScreen .hint, RetryScreen .hint { color: $text-muted; }
RetryScreen #choices { margin: 1 0 0 0; }
SubmitScreen.-narrow > Vertical, RetryScreen.-narrow > Vertical { width: 100%; }
SubmitScreen.-short > Vertical, RetryScreen.-short > Vertical { height: 100%; border: none; }
"""


class PathSuggester(Suggester):
    """Completes a path from the file system: the first entry of the directory that extends what is typed."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        import asyncio

        return await asyncio.to_thread(complete_path, value) if value else None


def complete_path(value: str) -> str | None:
    """`value` extended by the first directory or .jsonl file whose name starts with what is typed."""
    typed = Path(value).expanduser()
    directory, prefix = (typed, "") if value.endswith("/") else (typed.parent, typed.name)
    try:
        names = sorted(
            entry.name + ("/" if entry.is_dir() else "")
            for entry in directory.iterdir()
            if entry.name.startswith(prefix) and (entry.is_dir() or entry.suffix == ".jsonl")
        )
    except OSError:
        return None
    return value + names[0][len(prefix) :] if names else None


def _requests(count: int) -> str:
    return plural(count, "request")


def _problem_line(text: str, severity: str) -> Static:
    return Static(Content(text), classes=severity)


class _SendingScreen(ModalScreen[list[str] | None]):
    """Shared: the report area, the estimate, and the crash-safe send of a prepared submission."""

    DEFAULT_CSS = DEFAULT_CSS
    # Under 100 columns or 32 rows the dialog takes the whole terminal: at 80x24 the report then has 12
    # lines, room for the file's summary and the whole estimate.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]
    #: count_tokens calls in flight at once for the estimate. With 1, the API (the emulator) sees them in
    #: file order, so the request ids an error shows are the same on every run (snapshots).
    COUNT_CONCURRENCY: ClassVar[int] = 8

    def __init__(self, store: Store, client: ClientSource, settings: Settings, clock: Clock) -> None:
        super().__init__()
        self.store = store
        self.client_source = client
        self.settings = settings
        self.clock = clock
        self.ready = False
        """True once checked and estimated with nothing wrong: `y` sends."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "send":
            return self.ready
        return True

    def ready_to_send(self) -> None:
        self.ready = True
        self.refresh_bindings()
        self.query_one("#report", VerticalScroll).focus()  # out of the inputs, so `y` is a key, not a letter

    def show(self, *lines: Static | str) -> AwaitMount:
        report = self.query_one("#report", VerticalScroll)
        return report.mount_all(line if isinstance(line, Static) else Static(Content(line)) for line in lines)

    def clear(self) -> None:
        self.query_one("#report", VerticalScroll).remove_children()

    def replace_report(self, *lines: Static | str) -> None:
        """The report is these lines now (no "Checking …" left above an error)."""
        self.clear()
        self.show(*lines)

    async def estimate(
        self, tallies: dict[str, Any], requests: Callable[[], Iterator[dict[str, Any]]]
    ) -> Estimate:
        from batchboard.core.submit.estimate import counted_estimate, local_estimate

        client = self.client_source()
        if client is None:
            return local_estimate(tallies, self.settings)
        return await counted_estimate(
            tallies,
            requests,
            client,
            mode="sample",
            concurrency=self.COUNT_CONCURRENCY,
            settings=self.settings,
        )

    async def show_estimate(self, estimate: Estimate, closing: str, lead: Static | None = None) -> None:
        """Add the estimate and `closing` (what to press), then scroll the estimate to the report's top
        (from `lead`, the line that says what is estimated, when it is just above): the costs stay in view
        below whatever the report says first."""
        from batchboard.core.submit.estimate import format_estimate

        lines = [Static(Content(line)) for line in format_estimate(estimate)]
        await self.show(*lines, closing)  # all in place before the scroll is worked out
        if lines:
            report = self.query_one("#report", VerticalScroll)
            top = lead if lead is not None and lead.is_attached else lines[0]
            report.call_after_refresh(report.scroll_to_widget, top, top=True, animate=False)

    async def send_submission(self, submission_id: str) -> None:
        from batchboard.core.submit.intents import SubmitError, Submitter

        client = self.client_source()
        if client is None:
            self.show(_problem_line("Not connected to the API yet; try again in a moment.", "error"))
            return
        self.ready = False
        self.refresh_bindings()
        self.show("Sending…")
        countdown = Static(Content(""), classes="warning")
        self.show(countdown)

        def waiting(seconds: int) -> None:  # a 429 on create: nothing was created; it sends again after this
            text = (
                f"Rate limited (HTTP 429): nothing was created; sending again in {seconds} s"
                if seconds
                else ""
            )
            countdown.update(Content(text))

        try:
            done = await Submitter(self.store, client, self.clock, on_wait=waiting).send(submission_id)
        except SubmitError as error:
            self.show(_problem_line(str(error), "error"))
            return
        self.app.notify(f"Created {', '.join(done.batch_ids)}", title="Submitted", markup=False, timeout=8)
        self.dismiss(done.batch_ids)


class SubmitScreen(_SendingScreen):
    """`n`: a path (with completion) and a label; enter checks and estimates; `y` sends."""

    DEFAULT_CSS = DEFAULT_CSS  # on each screen: Textual applied the base class's copy to SubmitScreen only
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Back", id="submit.back"),
        Binding("y", "send", "Send", tooltip="Send the checked file", id="submit.send"),
    ]
    FOOTER_PRIORITY: ClassVar[tuple[str, ...]] = ("dismiss(None)", "send")

    def __init__(
        self, store: Store, client: ClientSource, settings: Settings, clock: Clock, path: str = ""
    ) -> None:
        super().__init__(store, client, settings, clock)
        self.initial_path = path
        self.report: Report | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content.from_markup("[b]Submit a JSONL file[/b]"), id="title")
            yield Input(
                value=self.initial_path,
                placeholder="path to FILE.jsonl",
                suggester=PathSuggester(),
                id="path",
            )
            yield Input(placeholder="label (optional)", id="label")
            yield VerticalScroll(id="report")
            yield Static(
                # y and escape are on the footer: one line at 80 columns.
                Content("enter: check and estimate · right arrow: complete the path"),
                classes="hint",
            )
            yield KeyFooter()  # the keys of this screen (`y` once the file is checked), not the dashboard's

    def on_mount(self) -> None:
        self.query_one("#path", Input).focus()

    @on(Input.Submitted)
    def _check(self) -> None:
        path = self.query_one("#path", Input).value.strip()
        if not path:
            return
        self.ready = False
        self.refresh_bindings()
        self.clear()
        self.show(f"Checking {path}…")
        self.check_file(path)

    @work(thread=True, exclusive=True, group="submit-check", exit_on_error=False)
    def check_file(self, path: str) -> None:
        from batchboard.core.fsio import not_a_file
        from batchboard.core.submit.rules import accepted_models
        from batchboard.core.submit.validate import validate_file

        file = Path(path).expanduser()
        if (problem := not_a_file(file)) is not None:
            self.app.call_from_thread(
                self.replace_report, _problem_line(f"{printable(path)}: {problem}", "error")
            )
            return
        models = accepted_models(self.settings)
        report = validate_file(file, display_name=path, known_models=models, max_problems=MAX_SHOWN_PROBLEMS)
        self.app.call_from_thread(self.checked, report)

    def checked(self, report: Report) -> None:
        self.report = report
        self.clear()
        lines: list[Static | str] = [_problem_line(str(p), p.severity) for p in report.problems]
        if report.omitted:
            lines.append(f"… and {plural(report.omitted, 'more problem')} not listed")
        if not report.ok:
            lines.append(
                _problem_line(
                    f"{plural(report.errors, 'error')}, {plural(report.warnings, 'warning')}: "
                    "nothing will be sent",
                    "error",
                )
            )
            self.show(*lines)
            return
        batches = plural(len(report.chunks), "batch")
        summary = Static(
            Content(f"{report.file}: {_requests(report.requests)} OK, to be sent as {batches}. Estimating…")
        )
        lines.append(summary)
        self.show(*lines)
        self.estimate_file(report, summary)

    @work(exclusive=True, group="submit-estimate", exit_on_error=False)
    async def estimate_file(self, report: Report, summary: Static) -> None:
        from batchboard.core.submit.estimate import params_of
        from batchboard.core.submit.jsonl import iter_chunk

        def requests() -> Iterator[dict[str, Any]]:
            for chunk in report.chunks:
                yield from params_of(iter_chunk(report.path, chunk))

        estimate = await self.estimate(report.models, requests)
        await self.show_estimate(estimate, "Press y to send, escape to go back.", lead=summary)
        self.ready_to_send()

    def action_send(self) -> None:
        if self.ready and self.report is not None:
            label = self.query_one("#label", Input).value.strip() or None
            self.send_file(self.report, label)

    @work(exclusive=True, group="submit-send", exit_on_error=False)
    async def send_file(self, report: Report, label: str | None) -> None:
        import asyncio

        from batchboard.core.submit.intents import SubmitError, prepare_file

        try:
            submission = await asyncio.to_thread(
                prepare_file, self.store, report, label=label, clock=self.clock
            )
        except SubmitError as error:
            self.show(_problem_line(str(error), "error"))
            return
        await self.send_submission(submission.id)


class RetryScreen(_SendingScreen):
    """`R`: the failed items of a batch that will be resent, their estimate, and `y` to send them as a new
    batch that records its parent. By default the retryable errors and expired items; `c` adds canceled
    items and `i` the invalid requests (which usually need a fix first); `t`, `o` and `r` the succeeded
    answers that are truncated, invalid outputs or refused, and `m` sets the truncated ones' max_tokens."""

    DEFAULT_CSS = DEFAULT_CSS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Back", id="retry.back"),
        Binding("y", "send", "Send", tooltip="Send the failed items again", id="retry.send"),
        Binding(
            "c", "include('canceled')", "Canceled", tooltip="Include canceled items", id="retry.canceled"
        ),
        Binding(
            "i",
            "include('invalid')",
            "Invalid",
            tooltip="Include invalid_request_error items (they usually need a fix first)",
            id="retry.invalid",
        ),
        Binding(
            "t", "include('truncated')", "Truncated", tooltip="Include truncated answers", id="retry.cut"
        ),
        Binding(
            "o",
            "include('invalid_output')",
            "Bad output",
            tooltip="Include invalid outputs",
            id="retry.output",
        ),
        Binding("r", "include('refused')", "Refused", tooltip="Include refused answers", id="retry.refused"),
        Binding(
            "m",
            "more_tokens",
            "max_tokens",
            tooltip="max_tokens of the truncated answers: doubled, or a fixed value (up to the model limit)",
            id="retry.max_tokens",
        ),
    ]
    #: Back and send first, then the ways to change the plan (the report says what each would include).
    FOOTER_PRIORITY: ClassVar[tuple[str, ...]] = (
        "dismiss(None)",
        "send",
        "more_tokens",
        "include('truncated')",
        "include('invalid_output')",
        "include('refused')",
        "include('invalid')",
        "include('canceled')",
    )

    def __init__(
        self,
        store: Store,
        client: ClientSource,
        settings: Settings,
        clock: Clock,
        batch_id: str,
        types: str | None = None,
    ) -> None:
        super().__init__(store, client, settings, clock)
        from batchboard.core.jobs import DEFAULT_TYPES

        self.batch_id = batch_id
        words = {w.strip() for w in (types or ",".join(DEFAULT_TYPES)).split(",") if w.strip()}
        self.include_canceled = "canceled" in words
        self.include_invalid = "invalid_request_error" in words
        self.unusable = {w for w in UNUSABLE_TOGGLES if w in words}
        """The classes of succeeded but unusable answers that are resent."""
        self.max_tokens: int | None = None
        """max_tokens for the truncated answers (None: each doubled); `m` steps through MAX_TOKENS_STEPS."""
        toggled = ("canceled", "invalid_request_error", *UNUSABLE_TOGGLES)
        self.base_types = [w for w in words if w not in toggled]
        self.plan: RetryPlan | None = None

    @property
    def types(self) -> str:
        """The `--types` this screen's choices amount to (the same words as `batchboard retry`)."""
        words = sorted(self.base_types)
        if self.include_canceled:
            words.append("canceled")
        if self.include_invalid:
            words.append("invalid_request_error")
        words += [w for w in UNUSABLE_TOGGLES if w in self.unusable]
        return ",".join(words)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Content.from_markup("[b]Retry the failures of $id[/b]", id=self.batch_id), id="title"
            )
            yield Static(self.choices_text(), id="choices")
            yield VerticalScroll(id="report")
            yield KeyFooter()  # y sends; each choice names its key; ? lists them all

    def on_mount(self) -> None:
        self.replan()

    def on_resize(self) -> None:
        self.call_after_refresh(self._show_choices)  # laid out again for the new width

    def _show_choices(self) -> None:
        self.query_one("#choices", Static).update(self.choices_text())

    def choices_text(self) -> Content:
        """Each choice whole on its line, as many on a line as the width allows."""

        def box(on: bool) -> str:
            return "[x]" if on else "[ ]"

        room = "doubled" if self.max_tokens is None else f"{self.max_tokens:,}"
        choices = [
            "resend: [x] retryable errors and expired",
            f"{box(self.include_canceled)} canceled (c)",
            f"{box(self.include_invalid)} invalid_request_error (i)",
            f"{box('truncated' in self.unusable)} ✂ truncated (t, max_tokens {room}: m)",
            f"{box('invalid_output' in self.unusable)} {{}} invalid output (o)",
            f"{box('refused' in self.unusable)} ⊘ refused (r)",
        ]
        width = self.query_one("#choices", Static).content_size.width if self.is_mounted else 0
        return Content(pack(choices, width))

    def action_include(self, which: str) -> None:
        if which == "canceled":
            self.include_canceled = not self.include_canceled
        elif which in UNUSABLE_TOGGLES:
            self.unusable ^= {which}
        else:
            self.include_invalid = not self.include_invalid
        self._show_choices()
        self.replan()

    def action_more_tokens(self) -> None:
        steps = MAX_TOKENS_STEPS
        self.max_tokens = steps[(steps.index(self.max_tokens) + 1) % len(steps)]
        self._show_choices()
        if "truncated" in self.unusable:
            self.replan()

    def replan(self) -> None:
        self.ready = False
        self.plan = None
        self.refresh_bindings()
        self.workers.cancel_group(self, "retry-estimate")
        self.clear()
        self.show("Looking at the failed items…")
        self.make_plan(self.types, self.max_tokens)

    @work(thread=True, exclusive=True, group="retry-plan", exit_on_error=False)
    def make_plan(self, types: str, max_tokens: int | None = None) -> None:
        from batchboard.core.jobs import Selection, plan_retry
        from batchboard.core.submit.intents import SubmitError

        try:
            plan = plan_retry(self.store, self.batch_id, Selection.parse(types), max_tokens=max_tokens)
        except SubmitError as error:
            message = f"{error}: download its results first (d), then retry."
            self.app.call_from_thread(self._plan_failed, message)
            return
        self.app.call_from_thread(self.planned, plan, types, max_tokens)

    def _plan_failed(self, message: str) -> None:
        self.clear()
        self.show(_problem_line(message, "error"))

    def planned(self, plan: RetryPlan, types: str | None = None, max_tokens: int | None = None) -> None:
        if types is not None and (types, max_tokens) != (self.types, self.max_tokens):
            return  # the choices changed while this plan was made: a newer one is on its way
        self.plan = plan
        self.clear()
        lines: list[Static | str] = [
            f"retry {count:,} {group}" for group, count in sorted(plan.groups.items())
        ]
        hints = {
            "canceled": " (c includes them)",
            "invalid_request_error": " (needs a fix first? i includes them)",
            "truncated": " (t includes them, with more room)",
            "invalid_output": " (o includes them)",
            "refused": " (r includes them)",
        }
        lines += [
            f"leave out {count:,} {group}{hints.get(group, ' (needs a fix first, or not asked for)')}"
            for group, count in sorted(plan.left_out.items())
        ]
        lines += plan.notes()
        counts = plan.counts_line()
        if counts is not None:
            attached = plan.source_kind == "attach"
            hint = (
                "a on the batch links another file" if attached else "sent elsewhere? a links its source file"
            )
            lines.append(_problem_line(f"{printable(counts)} ({hint})", "warning"))
        if not plan.requests:
            lines.append("Nothing to retry.")
            self.show(*lines)
            return
        lines.append(f"What will be sent ({_requests(len(plan.requests))}):")
        for custom_id, _ in plan.requests[:MAX_SHOWN_IDS]:
            lines.append(f"  {custom_id}  {plan.groups_by_id.get(custom_id, '')}")
        if len(plan.requests) > MAX_SHOWN_IDS:
            lines.append(f"  … and {len(plan.requests) - MAX_SHOWN_IDS:,} more")
        self.show(*lines)
        self.estimate_plan(plan)

    @work(exclusive=True, group="retry-estimate", exit_on_error=False)
    async def estimate_plan(self, plan: RetryPlan) -> None:
        import orjson

        from batchboard.core.submit.rules import tally_params

        def requests() -> Iterator[dict[str, Any]]:
            for _, params in plan.requests:
                yield orjson.loads(params)

        # Parsing every stored request (up to 100,000) is CPU work: a thread, not the event loop.
        tallies = await asyncio.to_thread(tally_params, requests())
        estimate = await self.estimate(tallies, requests)
        if plan is not self.plan:
            return  # superseded by a newer choice
        await self.show_estimate(estimate, f"Press y to send {_requests(len(plan.requests))} as a new batch.")
        self.ready_to_send()

    def action_send(self) -> None:
        if self.ready and self.plan is not None:
            self.send_plan(self.plan)

    @work(exclusive=True, group="retry-send", exit_on_error=False)
    async def send_plan(self, plan: RetryPlan) -> None:
        import asyncio

        from batchboard.core.submit.intents import prepare_requests

        label = self.store.label(self.batch_id)
        submission = await asyncio.to_thread(
            prepare_requests,
            self.store,
            plan.requests,
            parent_batch_id=self.batch_id,
            label=label,
            clock=self.clock,
        )
        await self.send_submission(submission.id)


# The controller opens these screens (`n`, `R`) and, once connected, runs reconcile_on_start(...) so a
# submission whose answer was lost before a crash is resolved, not resent.


@dataclass(frozen=True, slots=True)
class RecoveryNotice:
    """One thing reconciling or verifying found, for a notification; `ask` when the user decides."""

    title: str
    message: str
    severity: str = "information"
    ask: tuple[str, int] | None = None
    """(submission id, chunk) of a chunk the user may send again."""


_TITLES = {
    "recovered": ("Submission recovered, unverified", "warning"),
    "verified": ("Recovered batch verified", "information"),
    "mismatch": ("Recovered batch was not ours", "error"),
    "none": ("Submission not confirmed", "warning"),
    "ambiguous": ("Submission not confirmed", "warning"),
    "duplicate": ("Duplicate batch id", "error"),
}


def notices_for(outcomes: list[Recovered]) -> list[RecoveryNotice]:
    notices = []
    for o in outcomes:
        title, severity = _TITLES.get(o.outcome, ("Submission", "information"))
        ask = (o.submission_id, o.chunk) if o.needs_choice else None
        notices.append(RecoveryNotice(title, o.message, severity, ask))
    return notices


async def reconcile_on_start(
    store: Store,
    client: AsyncAnthropic,
    clock: Clock,
    ensure_results: Callable[[str], None] | None = None,
) -> list[RecoveryNotice]:
    """Resolve submissions left open by a crash or a lost answer, and check recovered batches against their
    results (`ensure_results(batch_id)` downloads an ended one's, blocking: this runs in a thread worker);
    returns what to tell the user, and what to ask."""
    from batchboard.core.results.index import ResultsIndex
    from batchboard.core.submit.intents import Submitter
    from batchboard.core.submit.recovery import unverified_batches, verify

    outcomes = await Submitter(store, client, clock).reconcile()
    if ensure_results is not None:
        for batch_id in unverified_batches(store):
            with contextlib.suppress(Exception):  # not ended yet, not reachable: checked another time
                ensure_results(batch_id)
    outcomes += verify(store, ResultsIndex(store))
    return notices_for(outcomes)


def verify_after_results(store: Store, batch_id: str) -> list[RecoveryNotice]:
    """A batch's results were just indexed: if it is a recovered batch, check it now (blocking, cheap when
    it is not one: call it in a thread)."""
    from batchboard.core.results.index import ResultsIndex
    from batchboard.core.submit.recovery import unverified_batches, verify

    if batch_id not in unverified_batches(store):
        return []
    return notices_for(verify(store, ResultsIndex(store), [batch_id]))


def show_recovery(app: Any, notices: list[RecoveryNotice], resend: Callable[[RecoveryNotice], None]) -> None:
    """Say what reconciling found, and ask about each chunk the user must decide on (one modal at a time);
    `resend(notice)` when the user chooses to send one again (the controller sends it)."""
    asks = [n for n in notices if n.ask is not None]
    for notice in notices:
        if notice.ask is None:
            app.notify(notice.message, title=notice.title, severity=notice.severity, timeout=12, markup=False)

    def chosen(notice: RecoveryNotice, again: bool | None) -> None:
        if again:
            resend(notice)

    for notice in asks:
        app.push_screen(ResendScreen(notice), callback=partial(chosen, notice))


class ResendScreen(ModalScreen[bool]):
    """A chunk whose batch could not be identified: send it again, or keep waiting (asked again on the next
    start)."""

    DEFAULT_CSS = """
    ResendScreen { align: center middle; }
    ResendScreen > Vertical { width: 80%; max-width: 100; height: auto; border: thick $warning;
        background: $surface; padding: 0 1; }
    ResendScreen .hint { color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "r", "choose(True)", "Re-send", tooltip="Send this chunk again as a new batch", id="resend.yes"
        ),
        Binding(
            "w,escape",
            "choose(False)",
            "Keep waiting",
            tooltip="Leave it; ask again next start",
            id="resend.no",
        ),
    ]
    FOOTER_PRIORITY: ClassVar[tuple[str, ...]] = ("choose(True)", "choose(False)")

    def __init__(self, notice: RecoveryNotice) -> None:
        super().__init__()
        self.notice = notice

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content.from_markup("[b]$title[/b]", title=self.notice.title))
            yield Static(Content(self.notice.message))
            yield Static(
                Content("r: send it again · w or escape: keep waiting (asked again next start)"),
                classes="hint",
            )
            yield KeyFooter()

    def action_choose(self, resend: bool) -> None:
        self.dismiss(resend)
