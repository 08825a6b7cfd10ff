"""A streamed reply: Markdown for model output (links never open on a click) and a coalescing writer.

`ReplyStream` is the pane's equivalent of Textual's `MarkdownStream`, with the same contract (`write`, then
`finally: await stop()`), tuned for token floods: `write` only queues text, and the Markdown widget is
appended to at most once per `min_interval` (a frame), so the cost of re-parsing the document's last block
is paid per frame instead of per token. Appends are never cancelled halfway, so the document is always the
exact concatenation of what was written.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from functools import lru_cache

from markdown_it import MarkdownIt
from textual.widgets import Markdown

#: At most this many Markdown appends a second while streaming: about the terminal's refresh rate.
DEFAULT_FRAME_RATE = 30.0


@lru_cache(maxsize=1)
def _shared_parser() -> MarkdownIt:
    # The same configuration Markdown uses by default, built once: building a MarkdownIt costs about as
    # much as parsing a paragraph, and Markdown.append builds one per call. Parsing does not mutate it.
    return MarkdownIt("gfm-like")


class ReplyMarkdown(Markdown):
    """Model output as Markdown. Its links post `Markdown.LinkClicked` but never open by themselves."""

    def __init__(
        self,
        markdown: str | None = None,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(
            markdown, name=name, id=id, classes=classes, parser_factory=_shared_parser, open_links=False
        )


class ReplyStream:
    """Streams Markdown fragments into a Markdown widget, coalescing them to one append per frame."""

    def __init__(self, markdown: Markdown, frame_rate: float = DEFAULT_FRAME_RATE) -> None:
        self.markdown = markdown
        self._min_interval = 1.0 / frame_rate
        self._pending: list[str] = []
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    @classmethod
    def get_stream(cls, markdown: Markdown, frame_rate: float = DEFAULT_FRAME_RATE) -> ReplyStream:
        """Like `Markdown.get_stream`: a started stream for `markdown`."""
        stream = cls(markdown, frame_rate)
        stream.start()
        return stream

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="reply-stream")

    def write(self, fragment: str) -> None:
        """Queue a fragment for the next frame. Cheap and synchronous: safe to call once per token."""
        if self._stopped:
            raise RuntimeError("Can't write to the stream after it has stopped.")
        if fragment:
            self._pending.append(fragment)
            self._wake.set()

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    async def stop(self) -> None:
        """Render whatever is queued, then end. Waits for the last append to finish."""
        self._stopped = True
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            task, self._task = self._task, None
            await asyncio.shield(task)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            started = time.perf_counter()
            if self._pending:
                text = "".join(self._pending)
                self._pending.clear()
                await self.markdown.append(text)
            if self._stopping.is_set():
                if not self._pending:
                    return
                continue
            # Let a frame's worth of text gather before the next append (or end at once on stop).
            delay = self._min_interval - (time.perf_counter() - started)
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
