"""Shown when there is no API key: what to set, and the demo as a way in."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

from batchboard.ui.widgets.key_footer import KeyFooter


class NoKeyScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "app.open_demo", "Open the demo", id="nokey.demo"),
        Binding("q", "app.quit", "Quit", id="nokey.quit"),
    ]

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Content.from_markup("[b]No API key[/b]"), id="title")
            yield Static(Content(self.message))
            yield Static(
                Content(
                    "Press d to open the demo: a local emulator of the API with a seeded world of batches, "
                    "no key and no network. Press q to quit."
                ),
                classes="hint",
            )
        yield KeyFooter()
