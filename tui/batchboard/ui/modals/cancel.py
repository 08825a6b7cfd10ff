"""Confirm a cancel, saying what it does and does not do."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from batchboard.core import format as fmt
from batchboard.core.models import Batch


class CancelConfirm(ModalScreen[bool]):
    """Returns True when the user confirms."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "confirm", "Cancel the batch", id="cancel.confirm"),
        Binding("n,escape", "dismiss(False)", "Keep it running", id="cancel.keep"),
    ]

    def __init__(self, batch: Batch, label: str = "") -> None:
        super().__init__()
        self.target = batch
        self.label = label

    def compose(self) -> ComposeResult:
        batch = self.target
        with Vertical(id="dialog"):
            yield Static(Content.from_markup("[b]Cancel batch $id?[/b]", id=batch.id), id="title")
            if self.label:
                yield Static(Content.from_markup("Label: $label", label=self.label))
            yield Static(
                Content(
                    f"{fmt.plural(batch.counts.processing, 'request')} "
                    f"{'has' if batch.counts.processing == 1 else 'have'} not finished. "
                    "Canceling stops the batch: requests already being processed may still finish "
                    "(and are billed); requests not yet processed are canceled and not billed. "
                    "The batch shows 'canceling' until the API ends it. This cannot be undone."
                ),
                id="explain",
            )
            with Horizontal(id="buttons"):
                yield Button("Cancel batch (y)", variant="error", id="yes")
                yield Button("Keep running (n)", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def _no(self) -> None:
        self.dismiss(False)
