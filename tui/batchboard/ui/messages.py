"""Messages between the poll worker, the controller and the App."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.message import Message

from batchboard.core.models import Batch

if TYPE_CHECKING:
    from batchboard.core.poller import PollStatus, PollUpdate


@dataclass
class PendingChanges:
    """Poll updates not drawn yet, merged: a busy UI handles only the latest state of each batch."""

    changed: dict[str, Batch] = field(default_factory=dict)
    ended: dict[str, Batch] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)
    status: PollStatus | None = None
    complete: bool = False

    def add(self, update: PollUpdate) -> None:
        for batch in update.changed:
            self.changed[batch.id] = batch
            self.removed.discard(batch.id)
        for batch in update.ended:
            self.ended[batch.id] = batch
        for batch_id in update.removed:
            self.changed.pop(batch_id, None)
            self.removed.add(batch_id)
        if update.complete:  # page-by-page updates of the first listing carry no new status
            self.status = update.status
            self.complete = True

    def take(self) -> PendingChanges:
        taken = PendingChanges(self.changed, self.ended, self.removed, self.status, self.complete)
        self.changed, self.ended, self.removed = {}, {}, set()
        self.status, self.complete = None, False
        return taken


class BatchesUpdated(Message):
    """New poll data is waiting in the controller's `PendingChanges`. Coalesces: one is enough."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, BatchesUpdated)
