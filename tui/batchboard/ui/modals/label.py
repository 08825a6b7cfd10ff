"""Set or clear a batch's label (kept in the local store, searchable with `/`)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class LabelInput(ModalScreen[str | None]):
    """Returns the new label ("" clears it), or None when dismissed."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Back", id="label.back"),
    ]

    def __init__(self, batch_id: str, current: str = "") -> None:
        super().__init__()
        self.batch_id = batch_id
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Content.from_markup("[b]Label for $id[/b]", id=self.batch_id), id="title")
            yield Input(value=self.current, placeholder="a label (empty to clear)", id="label")
            yield Static(Content("enter: save · escape: back"), classes="hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _save(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)
