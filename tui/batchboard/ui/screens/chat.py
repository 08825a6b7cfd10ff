"""The chat pane: ask a question, watch the reply stream with live stats, send the same request as a batch,
and compare the two (time to first token / end-to-end, cost, the answers side by side).

The screen takes its dependencies in its constructor (an API backend, a batch submitter, a price lookup,
the model list, a clock and a monotonic timer), so tests push it in a small App with fakes or the emulator.
Install it on the app (`open_chat`) so `escape` returns to the table without losing the conversation.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer as TextualTimer
from textual.widgets import Input, Label, Markdown, Select, Static
from textual.worker import Worker

from batchboard.core import fsio
from batchboard.core.chat.compare import SafeBatchSubmitter, SubmitBatch, compare, comparison_custom_id
from batchboard.core.chat.conversation import BatchRun, ChatBackend, Conversation, Turn, TurnState, run_stream
from batchboard.core.chat.export import to_markdown
from batchboard.core.chat.stats import PriceLookup, Timer, format_seconds
from batchboard.core.clock import Clock, SystemClock
from batchboard.core.format import printable
from batchboard.core.gateway.chat import SdkChatBackend
from batchboard.core.gateway.errors import classify
from batchboard.core.pricing import known_models, price_for
from batchboard.ui.widgets.chat_export import ExportChatModal
from batchboard.ui.widgets.chat_prompt import ChatPrompt
from batchboard.ui.widgets.chat_reply import ReplyStream, warm_highlighter
from batchboard.ui.widgets.chat_turn import TurnView, stats_text
from batchboard.ui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from batchboard.core.gateway.client import AsyncAnthropic

CHAT_SCREEN_NAME = "chat"
DEFAULT_MAX_TOKENS = 1024
#: Narrower than this, the settings stack (see `ChatScreen._fit_width`).
STACKED_WIDTH = 100
#: Live stats refresh rate while a reply streams.
STATS_INTERVAL = 0.1


class ChatScreen(Screen[None]):
    """Streamed vs batched, on the user's own prompt."""

    CSS_PATH = "../chat.tcss"
    BINDINGS = [
        Binding("escape", "leave", "Back", id="chat.leave", tooltip="Stop the reply, or return to the table"),
        Binding(
            "ctrl+c",
            "stop",
            "Stop",
            id="chat.stop",
            priority=True,
            tooltip="Stop the reply, keeping its text",
        ),
        Binding(
            "b,ctrl+b", "send_as_batch", "Send as batch", id="chat.batch", tooltip="Same request, as a batch"
        ),
        Binding("ctrl+s", "export", "Export", id="chat.export", tooltip="Save the conversation as Markdown"),
    ]
    FOOTER_PRIORITY: ClassVar[tuple[str, ...]] = ("leave", "stop", "send_as_batch", "export")

    def __init__(
        self,
        backend: ChatBackend,
        *,
        submit: SubmitBatch,
        prices: PriceLookup,
        models: Sequence[str],
        default_model: str | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        clock: Clock | None = None,
        timer: Timer = time.perf_counter,
        poll_interval: float = 5.0,
        export_dir: Path | None = None,
        on_batch_submitted: Callable[[str], object] | None = None,
        name: str | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id)
        self.backend = backend
        self.submit = submit
        self.prices = prices
        self.models = list(dict.fromkeys(models)) or ([default_model] if default_model else [])
        self.default_model = default_model if default_model in self.models else self.models[0]
        self.default_max_tokens = max_tokens
        self.clock = clock or SystemClock()
        self.timer = timer
        self.poll_interval = poll_interval
        self.export_dir = export_dir
        self.on_batch_submitted = on_batch_submitted
        self.conversation = Conversation(timer)
        self._views: dict[int, TurnView] = {}
        self._stream_worker: Worker[None] | None = None
        self._stats_timer: TextualTimer | None = None
        # Tells this session's comparison batches apart from an earlier run's in the table.
        self._salt = int(self.clock.now().timestamp()) & 0xFFFFFF
        self.last_export: Path | None = None
        self.reply_stream: ReplyStream | None = None
        """The writer of the latest reply (the benchmark reads how much of it is on screen)."""

    # ------------------------------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Container(id="chat-settings"):
            with Horizontal(id="chat-settings-request"):
                yield Label("Model", classes="chat-setting-label")
                yield Select(
                    [(model, model) for model in self.models],
                    value=self.default_model,
                    allow_blank=False,
                    id="chat-model",
                )
                yield Label("max_tokens", classes="chat-setting-label")
                yield Input(str(self.default_max_tokens), type="integer", id="chat-max-tokens")
            with Horizontal(id="chat-settings-system"):
                yield Label("System", classes="chat-setting-label")
                yield Input(placeholder="System prompt (optional)", id="chat-system")
        yield VerticalScroll(id="chat-log", can_focus=True)
        yield Static(id="chat-stats")
        yield ChatPrompt(id="chat-prompt")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._fit_width(self.app.size.width)
        self.query_one("#chat-log", VerticalScroll).anchor()
        self._show_idle_hint()
        self.query_one(ChatPrompt).focus()
        self._prepare_backend()
        self._warm_highlighter()

    def on_resize(self, event: events.Resize) -> None:
        self._fit_width(event.size.width)

    def on_screen_resume(self) -> None:
        # The terminal may have been resized while the table was showing.
        self._fit_width(self.app.size.width)

    def _fit_width(self, width: int) -> None:
        """Below `STACKED_WIDTH` columns: the settings in two borderless rows (the system prompt on a row of
        its own, at full width) and the comparison card's two sides one above the other."""
        stacked = width < STACKED_WIDTH
        self.set_class(stacked, "-stacked")
        for field in self.query("#chat-settings Input, #chat-settings Select").results():
            if isinstance(field, Input | Select):
                field.compact = stacked

    @work(group="chat-prepare", exit_on_error=False)
    async def _prepare_backend(self) -> None:
        # Build the SDK client now (in a thread, by the backend), so the first reply's TTFT excludes it.
        try:
            await self.backend.prepare()
        except Exception as exc:
            self._set_status(f"Not connected: {classify(exc).explanation}", error=True)

    @work(group="chat-prepare", thread=True, exit_on_error=False)
    def _warm_highlighter(self) -> None:
        # Off the event loop: otherwise the first code block of the first reply stalls the screen.
        warm_highlighter()

    # ------------------------------------------------------------------------------------------ state

    @property
    def streaming(self) -> bool:
        return self._stream_worker is not None and self._stream_worker.is_running

    @property
    def last_turn(self) -> Turn | None:
        return self.conversation.last

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return self.streaming
        if action == "send_as_batch":
            turn = self.last_turn
            return (
                turn is not None
                and turn.state is TurnState.DONE
                and turn.batch is None
                and not self.streaming
            )
        if action == "export":
            return bool(self.conversation.turns)
        return True

    # ------------------------------------------------------------------------------------------ sending

    @on(ChatPrompt.Submitted)
    async def _prompt_submitted(self, event: ChatPrompt.Submitted) -> None:
        event.stop()
        if self.streaming:
            self.notify("A reply is still streaming: wait, or stop it with ctrl+c.", severity="warning")
            return
        max_tokens = self._max_tokens()
        if max_tokens is None:
            return
        model = self.query_one("#chat-model", Select).value
        assert isinstance(model, str)
        system = self.query_one("#chat-system", Input).value.strip() or None
        prompt = event.prompt
        prompt.remember(event.text)
        prompt.load_text("")
        await self.send(event.text, model=model, max_tokens=max_tokens, system=system)

    def _max_tokens(self) -> int | None:
        raw = self.query_one("#chat-max-tokens", Input).value.strip()
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value < 1:
            self.notify("max_tokens must be a whole number of at least 1.", severity="error")
            return None
        return value

    async def send(self, prompt: str, *, model: str, max_tokens: int, system: str | None = None) -> Turn:
        """Start streaming a reply to `prompt` (the history so far goes with it)."""
        turn = self.conversation.start_turn(prompt, model, max_tokens, system)
        view = TurnView(turn)
        self._views[turn.index] = view
        log = self.query_one("#chat-log", VerticalScroll)
        await log.mount(view)
        log.anchor()
        self._stream_worker = self._stream(turn, view)
        self._start_stats()
        self.refresh_bindings()
        return turn

    @work(group="chat-stream", exclusive=True, exit_on_error=False)
    async def _stream(self, turn: Turn, view: TurnView) -> None:
        stream = self.reply_stream = ReplyStream.get_stream(view.reply)
        try:
            await run_stream(self.backend, turn, stream.write)
        finally:
            await stream.stop()
            self._finish(turn, view)

    def _finish(self, turn: Turn, view: TurnView) -> None:
        if self._stats_timer is not None:
            self._stats_timer.pause()
        view.show_outcome(self.prices(turn.request.model))
        self._show_live_stats(turn)
        self.call_after_refresh(self.refresh_bindings)

    def _start_stats(self) -> None:
        if self._stats_timer is None:
            self._stats_timer = self.set_interval(STATS_INTERVAL, self._tick_stats)
        else:
            self._stats_timer.resume()

    def _tick_stats(self) -> None:
        turn = self.last_turn
        if turn is not None:
            self._show_live_stats(turn)

    def _show_live_stats(self, turn: Turn) -> None:
        state = {
            TurnState.WAITING: "waiting for the first token…",
            TurnState.STREAMING: "streaming…",
            TurnState.DONE: "done",
            TurnState.STOPPED: "stopped",
            TurnState.FAILED: "failed",
        }[turn.state]
        line = Text.assemble((f"Turn {turn.index} {state}  ", "bold"))
        line.append_text(stats_text(turn, self.prices(turn.request.model), compact=True))
        # A fixed-height line: no layout pass, which would re-measure the whole log ten times a second.
        self.query_one("#chat-stats", Static).update(line, layout=False)

    def _show_idle_hint(self) -> None:
        self._set_status(
            "Type a prompt and press enter (shift+enter or ctrl+j for a new line; up/down for history)."
        )

    def _set_status(self, message: str, *, error: bool = False) -> None:
        stats = self.query_one("#chat-stats", Static)
        stats.update(Text(printable(message)))
        stats.set_class(error, "-error")

    # ------------------------------------------------------------------------------------------ actions

    def action_stop(self) -> None:
        """Stop the streaming reply; the worker's finally keeps what arrived and shows the outcome."""
        if self._stream_worker is not None and self._stream_worker.is_running:
            self._stream_worker.cancel()

    def action_leave(self) -> None:
        if self.streaming:
            self.action_stop()
            return
        if len(self.app.screen_stack) > 1:
            self.dismiss()

    def action_send_as_batch(self) -> None:
        turn = self.last_turn
        if turn is None or turn.state is not TurnState.DONE or turn.batch is not None:
            return
        turn.batch = BatchRun(comparison_custom_id(turn.index, self._salt), submitted_at=self.timer())
        self._run_batch(turn)
        self.refresh_bindings()

    @work(group="chat-batch", exit_on_error=False)
    async def _run_batch(self, turn: Turn) -> None:
        run = turn.batch
        assert run is not None
        view = self._views[turn.index]
        price = self.prices(turn.request.model)
        await view.show_batch(f"Sending the same request as a one-request batch ({run.custom_id})…")
        try:
            run.batch_id = await self.submit(turn.request, run.custom_id)
            if self.on_batch_submitted is not None:
                self.on_batch_submitted(run.batch_id)
            await view.show_batch(
                f"Batch {run.batch_id} submitted: waiting for it to end "
                f"(checking every {format_seconds(self.poll_interval)})…"
            )
            run.answer = await self.backend.wait_for_batch(run.batch_id, run.custom_id, self.poll_interval)
            run.finished_at = self.timer()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            run.error = classify(exc).explanation
            await view.show_batch(f"The batch comparison failed: {run.error}")
            self.notify(f"Batch comparison failed: {run.error}", severity="error", markup=False)
            return
        answer = run.answer
        status = f"Batch {run.batch_id} ended ({answer.status}) after {format_seconds(run.end_to_end)}."
        if answer.error:
            status += f" {answer.error}"
        await view.show_batch(status, compare(turn, price))
        self.notify(f"Turn {turn.index}: the batch ended; comparison card ready.", markup=False)

    def action_export(self) -> None:
        if not self.conversation.turns:
            return
        folder = self.export_dir or Path.cwd()
        stamp = self.clock.now().strftime("%Y%m%d-%H%M%S")
        self.app.push_screen(ExportChatModal(folder / f"batchboard-chat-{stamp}.md"), self._export_to)

    def _export_to(self, path: Path | None) -> None:
        if path is not None:
            self._write_export(path)

    @work(group="chat-export", exit_on_error=False)
    async def _write_export(self, path: Path) -> None:
        text = to_markdown(self.conversation, self.prices, self.clock.now(), self._system_prompt())
        try:
            await asyncio.to_thread(fsio.write_atomic, path, text)  # whole or not at all, 0600
        except OSError as exc:
            self.notify(f"Could not write {path}: {exc.strerror or exc}", severity="error", markup=False)
            return
        self.last_export = path
        self.notify(f"Saved the conversation to {path}", markup=False)

    def _system_prompt(self) -> str | None:
        turn = self.last_turn
        return turn.request.system if turn is not None else None

    # ------------------------------------------------------------------------------------------ links

    @on(Markdown.LinkClicked)
    def _link_clicked(self, event: Markdown.LinkClicked) -> None:
        # Model output is untrusted: a click shows where a link goes and never opens it.
        event.stop()
        self.notify(f"Link (not opened): {printable(event.href)}", markup=False, timeout=8)


def open_chat(app: App[Any], make_screen: Callable[[], ChatScreen]) -> ChatScreen:
    """Show the chat pane, creating and installing it the first time so its conversation survives `escape`."""
    installed = app.get_screen(CHAT_SCREEN_NAME) if app.is_screen_installed(CHAT_SCREEN_NAME) else None
    if isinstance(installed, ChatScreen):
        screen = installed
    else:
        screen = make_screen()
        app.install_screen(screen, CHAT_SCREEN_NAME)
    if app.screen is not screen:
        app.push_screen(CHAT_SCREEN_NAME)
    return screen


def chat_screen_for(app: Any) -> ChatScreen:
    """The chat pane wired to batchboard's app: its settings, store, clock and API connection.

    `app` is the `BatchboardApp` (not imported here: it imports this module's neighbours). The SDK client
    is the controller's when it is connected, else one built from the same connection in a thread.
    """
    settings = app.settings
    built: list[Any] = []

    async def client() -> AsyncAnthropic:
        connected = app.controller.client()
        if connected is not None:
            return connected
        if not built:
            built.append(await asyncio.to_thread(app.controller.connect_api))
        return built[0].client

    def refresh_table(batch_id: str) -> None:
        # The comparison batch is in the store already, with its label: the controller takes the label
        # and polls now, so the table and the detail show it at once (as for a file sent with `n`).
        app.controller.submitted([batch_id])

    return ChatScreen(
        SdkChatBackend(client),
        submit=SafeBatchSubmitter(app.store, client, app.clock),
        prices=partial(price_for, settings=settings),
        models=known_models(),
        default_model=settings.default_model,
        clock=app.clock,
        poll_interval=settings.poll_interval,
        on_batch_submitted=refresh_table,
    )
