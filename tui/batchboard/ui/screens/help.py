"""Every key of the screen below, as currently mapped, with its binding id and what it does (`ui/keys.py`
lists them); a key that does not apply now says why. Scrolls when it is taller than the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from batchboard.ui.keys import KeyAction


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape,q,question_mark", "dismiss(None)", "Close", tooltip="Close the help", id="help.close"
        ),
    ]

    def __init__(self, actions: Sequence[KeyAction], extra: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__()
        self.rows: list[tuple[str, str, str]] = []
        """(keys, what they do, binding id), as shown; keys from Textual's widgets have no id."""
        for entry in actions:
            what = entry.description
            if entry.tooltip and entry.tooltip != entry.description:
                what = f"{what}: {entry.tooltip}" if what else entry.tooltip
            if entry.reason is not None:
                what = f"{what} (not now: {entry.reason})"
            self.rows.append((entry.key_text, what, entry.binding_id))
        self.rows += [(keys, what, "") for keys, what in extra]

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2), expand=True)
        table.add_column(style="bold", no_wrap=True)
        table.add_column(ratio=1)
        table.add_column(style="italic", no_wrap=True)
        for keys, what, binding_id in self.rows:
            table.add_row(Text(keys), Text(what), Text(binding_id))
        with VerticalScroll(id="dialog"):
            yield Static(Text("batchboard keys", style="bold"), id="title")
            yield Static(table)
            yield Static(
                Text(
                    "Remap a key in the config file's [keymap] table: binding id = keys, "
                    'for example dashboard.cancel = "x".',
                    style="italic",
                ),
                classes="hint",
            )
