"""The chat prompt: a multi-line TextArea where Enter sends, and up/down at the edges walk the history."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.message import Message
from textual.widgets import TextArea


class ChatPrompt(TextArea):
    """Enter sends the prompt; shift+enter or ctrl+j starts a new line. Up on the first line and down on
    the last line recall earlier prompts, keeping the unsent draft to come back to."""

    @dataclass
    class Submitted(Message):
        prompt: ChatPrompt
        text: str

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, soft_wrap=True, show_line_numbers=False)
        self.prompt_history: list[str] = []
        self._history_index: int | None = None
        """Position in `history` while browsing it; None when editing the draft."""
        self._draft = ""

    def remember(self, text: str) -> None:
        """Add a sent prompt to the history (consecutive duplicates are kept once)."""
        if text and (not self.prompt_history or self.prompt_history[-1] != text):
            self.prompt_history.append(text)
        self._history_index = None
        self._draft = ""

    def on_key(self, event: events.Key) -> None:
        # Runs before TextArea's own key handling, which `prevent_default` skips.
        key = event.key
        if key == "enter":
            event.stop()
            event.prevent_default()
            text = self.text
            if text.strip():
                self.post_message(self.Submitted(self, text))
            return
        if key in ("shift+enter", "ctrl+j"):
            event.stop()
            event.prevent_default()
            start, end = self.selection
            self.replace("\n", start, end)
            return
        if key == "up" and self.cursor_location[0] == 0 and self._recall(-1):
            event.stop()
            event.prevent_default()
            return
        if key == "down" and self.cursor_location[0] == self.document.line_count - 1 and self._recall(1):
            event.stop()
            event.prevent_default()

    def _recall(self, step: int) -> bool:
        """Move through the history by `step`; False when there is nowhere to go."""
        if not self.prompt_history:
            return False
        if self._history_index is None:
            if step > 0:
                return False
            self._draft = self.text
            index = len(self.prompt_history) - 1
        else:
            index = self._history_index + step
        if index < 0:
            return False
        if index >= len(self.prompt_history):
            self._history_index = None
            self.load_text(self._draft)
        else:
            self._history_index = index
            self.load_text(self.prompt_history[index])
        # Land where the next press continues the walk: the end for "down", the start for "up".
        self.move_cursor((0, 0) if step < 0 else self.document.end)
        return True
