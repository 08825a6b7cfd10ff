"""Every key of the screen below, as currently mapped, with its binding id and what it does (`ui/keys.py`
lists them); a key that does not apply now says why. One line per key at any width: what a key does is
shortened to fit (its tooltip first, never the reason it does not apply now), then cut with "…". Scrolls
when it is taller than the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.geometry import Size
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Static

from batchboard.ui.keys import KeyAction
from batchboard.ui.widgets.key_footer import KeyFooter

GAP = 2
#: Below this many columns for what a key does, the binding ids make way (the config's hint names them).
MIN_WHAT = 24
KEYS_MAX = 12


@dataclass(frozen=True, slots=True)
class HelpRow:
    """One key of the help: its keys, what it does (longest first: each shorter one fits more widths), and
    its binding id (empty for keys of Textual's widgets)."""

    keys: str
    what: tuple[str, ...]
    binding_id: str = ""


def _row(entry: KeyAction) -> HelpRow:
    description = entry.description or entry.tooltip
    full = description
    if entry.tooltip and entry.tooltip != entry.description:
        full = f"{description}: {entry.tooltip}" if entry.description else entry.tooltip
    if entry.reason is None:
        return HelpRow(entry.key_text, (full,), entry.binding_id)
    not_now = f"(not now: {entry.reason})"
    return HelpRow(entry.key_text, (f"{full} {not_now}", f"{description} {not_now}"), entry.binding_id)


def help_lines(rows: Sequence[HelpRow], width: int) -> list[Content]:
    """The rows as lines of at most `width` cells: keys, what they do, binding id, in columns."""
    keys_width = min(KEYS_MAX, max((Content(r.keys).cell_length for r in rows), default=0))
    id_width = max((len(r.binding_id) for r in rows), default=0)
    what_width = width - keys_width - GAP - (id_width + GAP if id_width else 0)
    show_ids = id_width > 0 and what_width >= MIN_WHAT
    if not show_ids:
        what_width = width - keys_width - GAP
    what_width = max(what_width, 1)
    lines: list[Content] = []
    for row in rows:
        what = next((w for w in row.what if Content(w).cell_length <= what_width), row.what[-1])
        parts = [
            Content.styled(row.keys, "bold").truncate(keys_width, ellipsis=True, pad=True),
            Content(" " * GAP),
            Content(what).truncate(what_width, ellipsis=True, pad=True),
        ]
        if show_ids:
            parts += [Content(" " * GAP), Content.styled(row.binding_id, "italic $text-muted")]
        lines.append(Content.assemble(*parts).rstrip())
    return lines


class HelpKeys(Widget):
    """The keys, one line each, laid out for the widget's width whenever it changes."""

    DEFAULT_CSS = """
    HelpKeys { height: auto; }
    """

    def __init__(self, rows: Sequence[HelpRow]) -> None:
        super().__init__()
        self.rows = list(rows)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.rows)

    def render(self) -> Content:
        return Content("\n").join(help_lines(self.rows, self.content_size.width))


class HelpScreen(ModalScreen[None]):
    FOOTER_PRIORITY: ClassVar[tuple[str, ...]] = ("dismiss(None)",)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape,q,question_mark", "dismiss(None)", "Close", tooltip="Close the help", id="help.close"
        ),
    ]

    def __init__(self, actions: Sequence[KeyAction], extra: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__()
        self.help_rows = [_row(entry) for entry in actions] + [HelpRow(keys, (what,)) for keys, what in extra]
        self.rows: list[tuple[str, str, str]] = [(r.keys, r.what[0], r.binding_id) for r in self.help_rows]
        """(keys, what they do, binding id), in full; keys from Textual's widgets have no id."""

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Static(Content.styled("batchboard keys", "bold"), id="title")
            yield HelpKeys(self.help_rows)
            yield Static(
                Content.styled(
                    "Remap a key in the config file's [keymap] table: binding id = keys, "
                    'for example dashboard.cancel = "x".',
                    "italic",
                ),
                classes="hint",
            )
        yield KeyFooter()
