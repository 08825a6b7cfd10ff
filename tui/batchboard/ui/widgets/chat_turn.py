"""One exchange in the chat log: the prompt, the streamed reply, its stats, and the comparison card.

Everything shown here came from the user or the model: it goes in as `Text`/`Content`, never as markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from batchboard.core.chat.compare import Comparison
from batchboard.core.chat.conversation import Turn, TurnState
from batchboard.core.chat.export import same_tokens_text, stats_lines, usage_text
from batchboard.core.chat.stats import format_seconds
from batchboard.core.format import printable
from batchboard.core.pricing import ModelPrice
from batchboard.ui.widgets.chat_reply import ReplyMarkdown


def stats_text(turn: Turn, price: ModelPrice | None, *, compact: bool = False) -> Text:
    """One line of `label value` pairs."""
    text = Text()
    for i, (label, value) in enumerate(stats_lines(turn, price, compact=compact)):
        if i:
            text.append("  ·  ", style="dim")
        text.append(f"{label} ", style="dim")
        text.append(value, style="bold")
    return text


class TurnView(Vertical):
    """A prompt and its reply. The reply is a `ReplyMarkdown` the screen streams into."""

    def __init__(self, turn: Turn) -> None:
        super().__init__(classes="chat-turn")
        self.turn = turn
        self.reply = ReplyMarkdown(classes="chat-reply")
        self.stats = Static(classes="chat-turn-stats")
        self.error = Static(classes="chat-error")
        self.batch_card = Vertical(classes="chat-comparison")

    def compose(self) -> ComposeResult:
        turn = self.turn
        yield Label(
            Text.assemble(
                ("You", "bold"), f"  ·  {turn.request.model}  ·  max_tokens {turn.request.max_tokens}"
            ),
            classes="chat-you-label",
        )
        yield Static(Text(printable(turn.prompt)), classes="chat-you")
        yield Label(Text("Claude", style="bold"), classes="chat-claude-label")
        yield self.reply
        yield self.error
        yield self.stats
        yield self.batch_card

    def on_mount(self) -> None:
        self.error.display = False
        self.batch_card.display = False

    def show_stats(self, price: ModelPrice | None) -> None:
        self.stats.update(stats_text(self.turn, price))

    def show_outcome(self, price: ModelPrice | None) -> None:
        """After the stream: final stats, and what went wrong in plain words if something did."""
        self.show_stats(price)
        turn = self.turn
        message: str | None = None
        if turn.state is TurnState.FAILED:
            kept = " The text that arrived before it is kept above." if turn.reply else ""
            message = f"{turn.error}{kept}"
        elif turn.state is TurnState.STOPPED:
            message = "Stopped. What arrived before you stopped it is kept above."
        if message:
            self.error.update(Text(printable(message)))
            self.error.set_class(turn.state is TurnState.FAILED, "-failed")
            self.error.display = True

    async def show_batch(self, status: str, comparison: Comparison | None = None) -> None:
        """The comparison card: a status line while the batch runs, then streamed vs batched side by side."""
        card = self.batch_card
        card.display = True
        await card.remove_children()
        await card.mount(Static(Text(printable(status)), classes="chat-comparison-status"))
        batch = self.turn.batch
        if comparison is None or batch is None or batch.answer is None:
            return
        answer = batch.answer
        streamed = Vertical(
            Label(Text("Streamed", style="bold"), classes="chat-comparison-head"),
            Static(
                Text(
                    f"first token {format_seconds(comparison.streamed_ttft)}\n"
                    f"end-to-end {format_seconds(comparison.streamed_total)}\n"
                    f"cost {comparison.streamed_cost_text} (standard price)\n"
                    f"{usage_text(comparison.streamed_usage)}"
                )
            ),
            ReplyMarkdown(self.turn.reply or "*(no text)*"),
            classes="chat-comparison-side",
        )
        batched_text = answer.text or f"*({printable(answer.error or answer.status)})*"
        batched = Vertical(
            Label(Text("Batched", style="bold"), classes="chat-comparison-head"),
            Static(
                Text(
                    f"first token {format_seconds(comparison.batched_end_to_end)} (all at once)\n"
                    f"end-to-end {format_seconds(comparison.batched_end_to_end)}\n"
                    f"cost {comparison.batched_cost_text} (batch price)\n"
                    f"{usage_text(comparison.batched_usage)}"
                )
            ),
            ReplyMarkdown(printable(batched_text)),
            classes="chat-comparison-side",
        )
        await card.mount(
            Static(Text(same_tokens_text(comparison)), classes="chat-comparison-same"),
            Horizontal(streamed, batched, classes="chat-comparison-sides"),
        )
