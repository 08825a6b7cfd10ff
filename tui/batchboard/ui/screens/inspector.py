"""One result in full: its request (when batchboard kept it) and its result or error, pretty-printed JSON in
read-only text areas (scrollable, selectable) with keys to copy either to the clipboard. A succeeded answer
also has its output as the model wrote it; an unusable one says why in the header (for an invalid output:
the first schema violation, led by its JSON path).

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
from textual.widgets import Static, TabbedContent, TabPane, TextArea

from batchboard.core.format import human_int, plural, printable, usd
from batchboard.core.results.index import ResultItem, ResultsIndex
from batchboard.core.results.schema import INVALID_OUTPUT, MAX_TOKENS_STOP, REFUSED, TRUNCATED
from batchboard.core.results.usable import output_text
from batchboard.ui.widgets.key_footer import KeyFooter

#: (batch_id, custom_id) -> the stored request (`params`, or the whole line), or None when not stored.
RequestLookup = Callable[[str, str], Any]

NOT_STORED = (
    "Not stored locally.\n\n"
    "The API never returns the requests of a batch. batchboard keeps them for batches it submits; for a "
    "batch submitted elsewhere, link its source file with 'batchboard attach BATCH_ID FILE.jsonl'."
)


#: Why each class of unusable answer is unusable, for the header.
UNUSABLE_WHY = {
    TRUNCATED: "✂ truncated",
    INVALID_OUTPUT: "{} invalid output",
    REFUSED: "⊘ refused",
}
TABS = ("inspector-output-tab", "inspector-result-tab", "inspector-request-tab")


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
            "Output/Result/Request",
            tooltip="Switch between the output, the result and the request",
            id="inspector.tab",
        ),
    ]
    FOOTER_PRIORITY: ClassVar[tuple[str, ...]] = ("app.pop_screen", "toggle_tab", "copy")

    def __init__(self, index: ResultsIndex, item: ResultItem, request: Any = None) -> None:
        super().__init__()
        self.index = index
        self.item = item
        self.request = request
        self.result_text = index.pretty(item)
        self.request_text = NOT_STORED if request is None else pretty_json(request)
        self.output_text = self._output() if item.result_type == "succeeded" else None

    def _output(self) -> str:
        try:
            message = self.index.raw_object(self.item)["result"]["message"]
        except (FileNotFoundError, orjson.JSONDecodeError, KeyError, TypeError):
            return "(the raw line is not here)"
        return output_text(message) or "(no text in the output)"

    def compose(self) -> ComposeResult:
        yield Static(self._header(), id="inspector-header")
        initial = "inspector-output-tab" if self.item.unusable else "inspector-result-tab"
        with TabbedContent(id="inspector-tabs", initial=initial):
            if self.output_text is not None:
                with TabPane("Output", id="inspector-output-tab"):
                    yield TextArea(
                        self.output_text,
                        read_only=True,
                        soft_wrap=True,
                        show_line_numbers=True,
                        id="inspector-output",
                    )
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
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#inspector-output" if self.item.unusable else "#inspector-result", TextArea).focus()

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
        if item.unusable:
            text.append("\n")
            text.append(UNUSABLE_WHY.get(item.unusable, printable(item.unusable)), style="bold")
            if item.unusable == TRUNCATED:
                text.append(
                    ": cut off at max_tokens (R resends it with more room)"
                    if item.stop_reason == MAX_TOKENS_STOP
                    else ": the prompt filled the model's context window (more max_tokens will not help)"
                )
            if item.unusable_detail:
                text.append(": ")
                text.append(printable(item.unusable_detail))  # from the output: untrusted
        text.append(f"\nline {human_int(item.line + 1)} of the results file, {plural(item.length, 'byte')}")
        return text

    @property
    def showing_request(self) -> bool:
        return self.query_one("#inspector-tabs", TabbedContent).active == "inspector-request-tab"

    def action_copy(self) -> None:
        active = self.query_one("#inspector-tabs", TabbedContent).active
        what, text = ("result", self.result_text)
        if active == "inspector-request-tab":
            what, text = ("request", self.request_text)
        elif active == "inspector-output-tab" and self.output_text is not None:
            what, text = ("output", self.output_text)
        if what == "request" and self.request is None:
            self.notify(
                "The request is not stored locally: nothing to copy.", severity="warning", markup=False
            )
            return
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied the {what} ({plural(len(text), 'character')}).", markup=False)

    def action_toggle_tab(self) -> None:
        tabs = self.query_one("#inspector-tabs", TabbedContent)
        shown = [t for t in TABS if t != "inspector-output-tab" or self.output_text is not None]
        following = shown[(shown.index(tabs.active) + 1) % len(shown)] if tabs.active in shown else shown[0]
        tabs.active = following
        self.query_one("#" + following.removesuffix("-tab"), TextArea).focus()
