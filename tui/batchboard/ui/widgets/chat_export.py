"""The chat export dialog: the user picks the path the conversation is saved to as Markdown."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static


class ExportChatModal(ModalScreen[Path | None]):
    """Asks for a file path; dismisses with it (expanded, absolute), or None on escape.

    An existing file is only replaced when the user presses enter a second time on the same path.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="chat-export.cancel")]

    DEFAULT_CSS = """
    ExportChatModal {
        align: center middle;
        & > Vertical {
            width: 80%;
            max-width: 100;
            height: auto;
            border: round $primary;
            background: $surface;
            padding: 1 2;
        }
        #chat-export-problem { color: $error; height: auto; }
    }
    """

    def __init__(self, suggested: Path) -> None:
        super().__init__()
        self.suggested = suggested
        self._confirmed_overwrite: Path | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Export the conversation as Markdown to:")
            yield Input(str(self.suggested), id="chat-export-path")
            yield Static("", id="chat-export-problem")

    @on(Input.Submitted, "#chat-export-path")
    def _submitted(self, event: Input.Submitted) -> None:
        raw = event.value.strip()
        problem = self.query_one("#chat-export-problem", Static)
        if not raw:
            problem.update("Type a file path.")
            return
        path = Path(raw).expanduser().absolute()
        if path.is_dir():
            problem.update(Text(f"{path} is a folder: add a file name."))
            return
        if not path.parent.is_dir():
            problem.update(Text(f"The folder {path.parent} does not exist."))
            return
        if path.exists() and self._confirmed_overwrite != path:
            self._confirmed_overwrite = path
            problem.update(Text(f"{path} exists: press enter again to replace it, or change the name."))
            return
        self.dismiss(path)

    def action_cancel(self) -> None:
        self.dismiss(None)
