"""One result in full: its request (when batchboard kept it) and its result or error, pretty-printed JSON in
read-only text areas (scrollable, selectable) with keys to copy either to the clipboard.

The API never returns requests, so the request is shown only when the submit path stored it locally.
Model output and error text are untrusted: TextArea content is never parsed as markup, and the header is
`rich.text.Text`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import orjson
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane, TextArea

from batchboard.core.format import human_int, printable, usd
from batchboard.core.results.index import ResultItem, ResultsIndex

#: (batch_id, custom_id) -> the stored request (`params`, or the whole line), or None when not stored.
RequestLookup = Callable[[str, str], Any]

NOT_STORED = (
    "Not stored locally.\n\n"
    "The API never returns the requests of a batch. batchboard keeps them for batches it submits; for a "
    "batch submitted elsewhere, link its source file with 'batchboard attach BATCH_ID FILE.jsonl'."
)


def pretty_json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode("utf-8")


class InspectorScreen(Screen[None]):
    CSS_PATH = "../results.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="inspector.back"),
        Binding("c", "copy", "Copy", tooltip="Copy the shown JSON to the clipboard", id="inspector.copy"),
        Binding(
            "t",
            "toggle_tab",
            "Result/Request",
            tooltip="Switch between result and request",
            id="inspector.tab",
        ),
    ]

    def __init__(self, index: ResultsIndex, item: ResultItem, request: Any = None) -> None:
        super().__init__()
        self.index = index
        self.item = item
        self.request = request
        self.result_text = index.pretty(item)
        self.request_text = NOT_STORED if request is None else pretty_json(request)

    def compose(self) -> ComposeResult:
        yield Static(self._header(), id="inspector-header")
        with TabbedContent(id="inspector-tabs"):
            with TabPane("Result", id="inspector-result-tab"):
                yield TextArea(
                    self.result_text,
                    read_only=True,
                    soft_wrap=True,
                    show_line_numbers=True,
                    id="inspector-result",
                )
            with TabPane("Request", id="inspector-request-tab"):
                yield TextArea(
                    self.request_text,
                    read_only=True,
                    soft_wrap=True,
                    show_line_numbers=self.request is not None,
                    id="inspector-request",
                )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#inspector-result", TextArea).focus()

    def _header(self) -> Text:
        item = self.item
        text = Text()
        text.append(printable(item.custom_id), style="bold")
        text.append(f"  ·  {printable(item.result_type)}")
        if item.error_type:
            text.append("  ·  ")
            text.append(printable(item.error_type))
        if item.result_type == "succeeded":
            text.append(f"  ·  {printable(item.model or '?')}  ·  {printable(item.stop_reason or '?')}")
            text.append(f"  ·  {human_int(item.tokens.input)} in / {human_int(item.tokens.output)} out")
            text.append(f"  ·  {usd(item.cost_batch)}")
        if item.error_message:
            text.append("\n")
            text.append(printable(item.error_message))
        text.append(f"\nline {human_int(item.line + 1)} of the results file, {human_int(item.length)} bytes")
        return text

    @property
    def showing_request(self) -> bool:
        return self.query_one("#inspector-tabs", TabbedContent).active == "inspector-request-tab"

    def action_copy(self) -> None:
        what, text = ("request", self.request_text) if self.showing_request else ("result", self.result_text)
        if what == "request" and self.request is None:
            self.notify(
                "The request is not stored locally: nothing to copy.", severity="warning", markup=False
            )
            return
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied the {what} ({human_int(len(text))} characters).", markup=False)

    def action_toggle_tab(self) -> None:
        tabs = self.query_one("#inspector-tabs", TabbedContent)
        showing_request = tabs.active == "inspector-request-tab"
        tabs.active = "inspector-result-tab" if showing_request else "inspector-request-tab"
        area = "#inspector-result" if showing_request else "#inspector-request"
        self.query_one(area, TextArea).focus()
