"""Every key, as currently mapped (remaps from the config's keymap included)."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

#: Keys that come from Textual's own widgets, described here so the help is complete.
MOVES = [
    ("↑ ↓ / j k", "move the cursor"),
    ("g / G, home / end", "first / last batch"),
    ("page up / page down", "scroll a page"),
    ("enter", "open the batch's detail"),
    ("ctrl+p", "command palette (every action)"),
]


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss(None)", "Close", id="help.close"),
    ]

    def __init__(self, sources: list[object]) -> None:
        super().__init__()
        self.sources = sources  # the screen and app whose bindings are listed
        self.rows: list[tuple[str, str, str]] = []  # (keys, what they do, binding id), as shown

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 3))
        table.add_column(style="bold", min_width=18)
        table.add_column()
        table.add_column(style="italic")
        self.rows = [(keys, what, "") for keys, what in MOVES]
        seen: set[str] = set()
        for source in self.sources:
            bindings = getattr(source, "_bindings", None)
            if bindings is None:
                continue
            bindings = bindings.copy()
            bindings.apply_keymap(self.app._keymap)  # as Textual does when it dispatches a key
            by_action: dict[str, list[str]] = {}
            descriptions: dict[str, str] = {}
            ids: dict[str, str] = {}
            for entries in bindings.key_to_bindings.values():
                for binding in entries:
                    if not binding.description or binding.action in seen:
                        continue
                    by_action.setdefault(binding.action, []).append(self.app.get_key_display(binding))
                    what = binding.description
                    if binding.tooltip and binding.tooltip != what:
                        what = f"{what}: {binding.tooltip}"
                    descriptions[binding.action] = what
                    ids[binding.action] = binding.id or ""
            for action, key_names in by_action.items():
                seen.add(action)
                self.rows.append((" / ".join(dict.fromkeys(key_names)), descriptions[action], ids[action]))
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
