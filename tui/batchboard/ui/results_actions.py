"""Results in the dashboard: the download dialog (`d`), opening a batch's problems (`e`), ingesting batches as
they end, and the results service the table, header and detail read costs from.

Ingestion is disk- and CPU-heavy, so it runs in thread workers that reach the UI only through
`call_from_thread`; the screens here take their dependencies in the constructor.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from weakref import WeakKeyDictionary

import orjson
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, ProgressBar, Static
from textual.worker import Worker, WorkerCancelled, WorkerFailed, get_current_worker

from batchboard.core import fsio
from batchboard.core.format import human_int, plural, printable
from batchboard.core.models import Batch
from batchboard.core.results.index import ResultsIndex
from batchboard.core.results.ingest import IngestCancelled, IngestError, IngestProgress, IngestReport
from batchboard.core.results.service import ResultsService
from batchboard.ui.cells import shorten
from batchboard.ui.screens.problems import ProblemsScreen

if TYPE_CHECKING:
    from batchboard.core.clock import Clock
    from batchboard.core.config import Settings
    from batchboard.core.gateway.batches import BatchApi
    from batchboard.core.gateway.client import Anthropic
    from batchboard.core.store import Store


def sync_clients(api: Callable[[], BatchApi | None]) -> Callable[[], Anthropic]:
    """Sync SDK clients for worker threads, built from the connected async client (`api()`, None until
    connected: then an IngestError says so)."""

    def client_factory() -> Anthropic:
        connected = api()
        if connected is None:
            raise IngestError("not connected to the API yet")
        from batchboard.core.gateway.client import sync_client_like

        return sync_client_like(connected.client)

    return client_factory


def make_results_service(
    store: Store, settings: Settings, clock: Clock, api: Callable[[], BatchApi | None]
) -> ResultsService:
    """The results service on the app's store, downloading with `sync_clients(api)`."""
    return ResultsService(ResultsIndex(store), settings, clock, sync_clients(api))


def request_lookup_for(store: Store) -> Any:
    """(batch_id, custom_id) -> the request as submitted, when the submit path stored it."""

    def lookup(batch_id: str, custom_id: str) -> Any:
        try:
            from batchboard.core.submit.intents import stored_requests
        except ImportError:  # pragma: no cover - the submit module ships with batchboard
            return None
        store.ensure_schemas()  # the submit module's tables, registered on its import
        found = stored_requests(store, batch_id, [custom_id]).get(custom_id)
        if found is None:
            return None
        try:
            return {"custom_id": custom_id, "params": orjson.loads(found)}
        except orjson.JSONDecodeError:
            return {"custom_id": custom_id, "params": found.decode("utf-8", errors="replace")}

    return lookup


def open_problems(
    app: App[Any], service: ResultsService, batch: Batch, on_ingested: Callable[[str], None] | None = None
) -> None:
    """`e`: the batch's problems; downloads the results first when they are not here yet (then calls
    `on_ingested(batch_id)`, so costs on screen can be filled in)."""
    store = service.index.store

    def show() -> None:
        app.push_screen(ProblemsScreen(service.index, batch.id, request_lookup=request_lookup_for(store)))

    if service.is_indexed(batch.id):
        show()
        return
    if not batch.is_ended:
        app.notify("Results come when the batch ends.", title="No results yet", severity="warning")
        return

    def downloaded(report: IngestReport | None) -> None:
        if report is not None and service.is_indexed(batch.id):
            if on_ingested is not None:
                on_ingested(batch.id)
            show()

    app.push_screen(DownloadScreen(service, batch, offer_export=False), downloaded)


def open_download(
    app: App[Any], service: ResultsService, batch: Batch, on_ingested: Callable[[str], None] | None = None
) -> None:
    """`d`: download (or reuse) the results, then offer to save a copy."""
    if not batch.is_ended:
        app.notify("Results come when the batch ends.", title="No results yet", severity="warning")
        return

    def closed(report: IngestReport | None) -> None:
        if report is not None and on_ingested is not None and service.is_indexed(batch.id):
            on_ingested(batch.id)

    app.push_screen(DownloadScreen(service, batch), closed)


class DownloadScreen(ModalScreen["IngestReport | None"]):
    """Progress of one batch's download + index; escape cancels (nothing is kept). Afterwards, an input
    offers to write a copy of the results file (atomically) where the user wants it.

    When the batch is already being ingested in the background (the fetcher, or its end), that ingestion
    is hurried (no more pacing) and its progress shown instead of a second download; escape then only
    closes the dialog, and the background work goes on."""

    class Progressed(Message):
        """Progress of the background ingestion this dialog waits for (posted from its thread)."""

        def __init__(self, progress: IngestProgress) -> None:
            super().__init__()
            self.progress = progress

    CSS_PATH = "results.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Cancel / close", id="download.close"),
    ]

    def __init__(self, service: ResultsService, batch: Batch, *, offer_export: bool = True) -> None:
        super().__init__()
        self.service = service
        self.target = batch
        self.offer_export = offer_export
        self.cancel_event = threading.Event()
        self.report: IngestReport | None = None
        self.error: str | None = None
        self.waiting = False
        """Waiting for the batch's background ingestion: escape closes, that work goes on."""

    def compose(self) -> ComposeResult:
        with Vertical(id="download-dialog"):
            title = Text("Results of ")
            title.append(self.target.id, style="bold")
            yield Static(title, id="download-title")
            yield ProgressBar(total=self.target.counts.total or None, id="download-progress")
            yield Static(Text("starting…"), id="download-status")
            yield Static(Text(""), id="download-error")
            yield Input(id="download-path")
            yield Static(Text("escape: cancel (nothing is kept)"), id="download-hint", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#download-path", Input).display = False
        background = ingest_worker(self.app, self.target.id)
        if background is None:
            self.run_ingest()
        else:
            self.waiting = True
            self.wait_for_background(background)

    @work(exclusive=True, group="download-wait", exit_on_error=False)
    async def wait_for_background(self, background: Worker[None]) -> None:
        """Hurry the batch's background ingestion, show its progress, then take its result (a quick
        `ensure`: the results are here; or a fresh try in the foreground if it failed)."""
        shared = hurry(self.app, self.target.id)

        def listener(progress: IngestProgress) -> None:  # in the ingestion's thread: post_message is safe
            self.post_message(self.Progressed(progress))

        self.query_one("#download-status", Static).update(Text("downloading in the background…"))
        self.query_one("#download-hint", Static).update(
            Text("escape: close (the download goes on in the background)")
        )
        if shared is not None:
            shared.listeners.append(listener)
            if shared.latest is not None:
                self._progress(shared.latest)
        try:
            # Shielded: this dialog closing must not cancel the background work it waits for.
            await asyncio.shield(background.wait())
        except WorkerCancelled:
            return  # the app is quitting
        except WorkerFailed:
            pass  # it said so itself; the foreground tries once more below
        finally:
            if shared is not None and listener in shared.listeners:
                shared.listeners.remove(listener)
        self.waiting = False
        self.query_one("#download-hint", Static).update(Text("escape: cancel (nothing is kept)"))
        self.run_ingest()

    @on(Progressed)
    def _background_progress(self, message: Progressed) -> None:
        if self.waiting:
            self._progress(message.progress)

    def on_unmount(self) -> None:
        self.cancel_event.set()  # the app is quitting (or the dialog closed): stop at the next chunk

    @work(thread=True, exclusive=True, group="download", exit_on_error=False)
    def run_ingest(self) -> None:
        try:
            report = self.service.ensure(
                self.target,
                progress=lambda p: self.app.call_from_thread(self._progress, p),
                cancel=self.cancel_event,
            )
        except IngestCancelled:
            if self.is_attached:  # escape, not the app quitting
                self.app.call_from_thread(self.dismiss, None)
            return
        except IngestError as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        except Exception as exc:  # anything else is still said in plain words, never a crash
            self.app.call_from_thread(self._failed, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._done, report)

    def _progress(self, progress: IngestProgress) -> None:
        bar = self.query_one("#download-progress", ProgressBar)
        bar.update(progress=progress.items_done)
        retry = f" · attempt {progress.attempt}" if progress.attempt > 1 else ""
        status = f"{plural(progress.items_done, 'result')} · {progress.bytes_done / 1e6:.1f} MB{retry}"
        self.query_one("#download-status", Static).update(Text(status))

    def _failed(self, message: str) -> None:
        self.error = message
        self.query_one("#download-error", Static).update(Text(message))
        self.query_one("#download-status", Static).update(Text("nothing was kept"))
        self.query_one("#download-hint", Static).update(Text("escape: close"))

    def _done(self, report: IngestReport) -> None:
        self.report = report
        bar = self.query_one("#download-progress", ProgressBar)
        if report.path is None:  # archived, no local copy
            self._failed(report.message or "results are not available")
            return
        bar.update(total=max(report.items, 1), progress=report.items)
        where = "downloaded" if report.downloaded else "already here"
        status_line = self.query_one("#download-status", Static)
        status = Text(f"{plural(report.items, 'result')}, {report.bytes / 1e6:.1f} MB, {where}:\n")
        # The file on a line of its own, never broken mid-name: cut in the middle (the start of the path
        # and the file name stay) when the dialog is narrower than it.
        status.append(shorten(str(report.path), status_line.content_size.width or 74, middle=True))
        status_line.update(status)
        if not self.offer_export:
            self.dismiss(report)
            return
        path_input = self.query_one("#download-path", Input)
        path_input.value = str(Path.cwd() / f"{self.target.id}.jsonl")
        path_input.display = True
        path_input.focus()
        self.query_one("#download-hint", Static).update(Text("enter: save a copy there · escape: close"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if self.report is None or self.report.path is None:
            return
        target = Path(event.value.strip()).expanduser()
        if not event.value.strip():
            return
        self.export(self.report.path, target)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def export(self, source: Path, target: Path) -> None:
        try:
            copy_atomic(source, target)
        except OSError as exc:
            message = f"could not write {target}: {exc.strerror or exc}"
            self.app.call_from_thread(self.notify, message, severity="error", markup=False)
            return
        self.app.call_from_thread(self.notify, f"Saved {target}", title="Results saved", markup=False)
        self.app.call_from_thread(self.dismiss, self.report)

    def action_close(self) -> None:
        if self.waiting:  # the background ingestion goes on; its end fills the costs in
            self.dismiss(None)
            return
        if self.report is None and self.error is None:
            self.cancel_event.set()  # the worker stops at the next chunk and dismisses
            self.query_one("#download-status", Static).update(Text("canceling…"))
            return
        self.dismiss(self.report)


def copy_atomic(source: Path, target: Path, chunk_size: int = 1 << 20) -> None:
    """Copy `source` to `target` whole or not at all: nobody sees half a file."""
    with fsio.atomic_file(target) as out, open(source, "rb") as src:
        while block := src.read(chunk_size):
            out.write(block)


class BackgroundIngest:
    """What a background ingestion shares with the UI while it runs: a `hurry` event that drops its pacing
    (the user wants this batch now), its latest progress, and listeners called (in the worker's thread)
    with each progress, so a dialog opened meanwhile can show it."""

    def __init__(self) -> None:
        self.hurry = threading.Event()
        self.latest: IngestProgress | None = None
        self.listeners: list[Callable[[IngestProgress], None]] = []

    def progressed(self, progress: IngestProgress) -> None:
        self.latest = progress
        for listener in list(self.listeners):
            listener(progress)


#: Each app's background ingestions under way, by batch id.
_INGESTS: WeakKeyDictionary[App[Any], dict[str, BackgroundIngest]] = WeakKeyDictionary()


def background_ingests(app: App[Any]) -> dict[str, BackgroundIngest]:
    """The app's background ingestions under way, by batch id."""
    return _INGESTS.setdefault(app, {})


def hurry(app: App[Any], batch_id: str) -> BackgroundIngest | None:
    """The user wants `batch_id`'s results now: its background ingestion, if one runs, drops its pacing.
    Returns that ingestion (None when there is none)."""
    found = background_ingests(app).get(batch_id)
    if found is not None:
        found.hurry.set()
    return found


def ingest_worker(app: App[Any], batch_id: str) -> Worker[None] | None:
    """The thread worker ingesting `batch_id` in the background right now, if any."""
    group = f"ingest-{batch_id}"
    for worker in app.workers:
        if worker.group == group and worker.node is app and not (worker.is_finished or worker.is_cancelled):
            return worker
    return None


def ingest_in_background(
    app: App[Any],
    service: ResultsService,
    batch: Batch,
    on_done: Callable[[str], None] | None = None,
    on_failed: Callable[[str], None] | None = None,
    pace: float = 0.0,
) -> Worker[None]:
    """Ingest an ended batch in a thread worker (one per batch: when one is already on its way, that one is
    returned and its callbacks stand). `on_done(batch_id)` follows success; a failure is a toast, or is
    handed to `on_failed(message)` instead (plain text). `pace`: seconds of pause per second of work, so
    work nobody waits for leaves the UI thread the GIL (Python threads share one; a busy one slows the UI)."""
    running = ingest_worker(app, batch.id)
    if running is not None:
        return running

    def failed(message: str, *, unexpected: bool) -> None:
        if on_failed is not None:
            app.call_from_thread(on_failed, message)
            return
        app.call_from_thread(
            app.notify,
            message,
            title="Could not download results",
            severity="error" if unexpected else "warning",
            markup=False,
        )

    shared = BackgroundIngest()
    registry = background_ingests(app)
    registry[batch.id] = shared

    def run() -> None:
        # Set when the worker is cancelled (the app quitting): the ingestion stops at the next chunk and
        # leaves nothing behind.
        cancelled = get_current_worker().cancelled_event
        pause = paced(pace, cancelled, shared.hurry) if pace > 0 else None

        def progress(p: IngestProgress) -> None:
            shared.progressed(p)
            if pause is not None:
                pause(p)

        try:
            service.ensure(batch, cancel=cancelled, progress=progress)
        except IngestCancelled:
            return
        except IngestError as exc:
            failed(str(exc), unexpected=False)
            return
        except Exception as exc:  # disk full, a broken file, a database error, the SDK: said, never lost
            failed(
                f"{type(exc).__name__}: {exc}. The results of {batch.id} were not indexed; "
                "press d on the batch to try again.",
                unexpected=True,
            )
            return
        finally:
            if registry.get(batch.id) is shared:
                del registry[batch.id]
        if on_done is not None:
            app.call_from_thread(on_done, batch.id)

    return app.run_worker(run, thread=True, group=f"ingest-{batch.id}", exclusive=True, exit_on_error=False)


def paced(
    pace: float, cancelled: threading.Event, hurry: threading.Event | None = None
) -> Callable[[IngestProgress], None]:
    """A progress callback that pauses `pace` times as long as the work since its last call took (wall
    time: the download's reader thread and the GIL waits count too). A cancel ends the pause at once;
    once `hurry` is set (the user is waiting for this batch) there are no more pauses."""
    last = time.monotonic()

    def progress(_: IngestProgress) -> None:
        nonlocal last
        if hurry is not None and hurry.is_set():
            return
        deadline = time.monotonic() + min((time.monotonic() - last) * pace, 1.0)
        while not cancelled.is_set() and (hurry is None or not hurry.is_set()):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            (hurry or cancelled).wait(min(left, 0.02))
        last = time.monotonic()

    return progress


def cost_breakdown(service: ResultsService | None, batch_id: str) -> list[tuple[Text, Text]]:
    """Rows for the detail screen's cost section: per model, tokens by kind and cost; a hint when the
    results are not indexed yet; "price unknown" for a model without a price (never a zero). Every cell is
    a `Text`: model names come from the results file and must never be read as markup."""
    from batchboard.core.format import usd
    from batchboard.core.pricing import PRICE_UNKNOWN, TOKEN_KINDS
    from batchboard.ui.book import cost_text

    cost = service.cost(batch_id) if service is not None else None
    if cost is None:
        reason = service.unavailable_reason(batch_id) if service is not None else None
        return [(Text(""), Text(reason or "known once the results are downloaded (press d) and indexed"))]
    rows: list[tuple[Text, Text]] = [
        (Text("Standard price"), Text(cost_text(cost.standard_cost, cost.complete))),
        (Text("Billed requests"), Text(f"{human_int(cost.requests)} (only succeeded requests are billed)")),
    ]
    for model in cost.models:
        tokens = ", ".join(
            f"{human_int(getattr(model.tokens, kind))} {kind.replace('_', ' ')}"
            for kind in TOKEN_KINDS
            if getattr(model.tokens, kind)
        )
        line = Text(f"{plural(model.requests, 'request')} · {tokens} · ")
        if model.price_known:
            line.append(f"{usd(model.batch_cost)} (standard {usd(model.standard_cost)})")
        else:
            line.append(PRICE_UNKNOWN)
        rows.append((Text(printable(model.model)), line))
    return rows


def fetch_when_viewed(
    app: App[Any],
    service: ResultsService | None,
    batch: Batch | None,
    on_done: Callable[[str], None] | None = None,
) -> None:
    """Ingest an ended batch's results in the background when the user opens it, unless they are here
    already or known to be unavailable (archived); `on_done(batch_id)` follows success."""
    if service is None or batch is None or not batch.is_ended:
        return
    if service.is_indexed(batch.id) or service.unavailable_reason(batch.id) is not None:
        return
    if batch.archived_at is not None:
        return
    ingest_in_background(app, service, batch, on_done=on_done)
    hurry(app, batch.id)  # being fetched in the background already: the user is looking at it now


def header_spend(service: ResultsService | None) -> tuple[str, str]:
    """The header's spend and saving texts: this month's, with today and all time beside it; "—" until some
    batch of this month has been priced (a zero would claim more than is known). "+?" marks a total that
    leaves out a model with no price, "no price" one with nothing priced (as in the table)."""
    from batchboard.ui.book import spend_texts

    texts = spend_texts(service)
    if texts is None:
        from batchboard.core.format import DASH

        return DASH, DASH
    return f"{texts.month} (today {texts.today}, all time {texts.all_time})", texts.saved
