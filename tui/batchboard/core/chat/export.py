"""A turn's figures as (label, value) rows, for the pane and the export, and the whole conversation as a
Markdown document."""

from __future__ import annotations

from datetime import datetime

from batchboard.core.chat.compare import Comparison, compare
from batchboard.core.chat.conversation import Conversation, Turn
from batchboard.core.chat.stats import PriceLookup, Usage, format_cost, format_reply_cost, format_seconds
from batchboard.core.format import printable
from batchboard.core.pricing import ModelPrice

# ---------------------------------------------------------------------------------------------- export


def stats_lines(turn: Turn, price: ModelPrice | None, *, compact: bool = False) -> list[tuple[str, str]]:
    """(label, value) pairs describing a turn's stream, as the pane and the export show them.

    `compact` uses short labels, for the one-line live bar. Values marked ≈ are estimates until the
    API reports the final usage.
    """
    stats = turn.stats
    approx = "" if stats.exact_usage else "≈"
    rate = stats.tokens_per_second()
    labels = (
        ("TTFT", "total", "tokens/s", "in", "out", "standard", "as a batch")
        if compact
        else (
            "time to first token",
            "total time",
            "output tokens/s",
            "input tokens",
            "output tokens",
            "cost (standard)",
            "same request as a batch",
        )
    )
    values = (
        format_seconds(stats.ttft),
        format_seconds(stats.total()),
        f"{rate:.1f}" if rate is not None else "–",
        str(stats.input_tokens) if stats.input_tokens is not None else "–",
        f"{approx}{stats.output_tokens}",
        format_reply_cost(stats, price),
        format_reply_cost(stats, price, batch=True),
    )
    rows = list(zip(labels, values, strict=True))
    if stats.stop_reason and not compact:
        rows.append(("stop reason", stats.stop_reason))
    return rows


def usage_text(usage: Usage | None) -> str:
    """A reply's billed tokens in short: "in 1,000 · out 100" (cache reads and writes when there are some)."""
    if usage is None:
        return "no usage"
    parts = [f"in {usage.input_tokens:,}", f"out {usage.output_tokens:,}"]
    if usage.cache_read_input_tokens:
        parts.append(f"cache read {usage.cache_read_input_tokens:,}")
    if usage.cache_creation_input_tokens:
        parts.append(f"cache write {usage.cache_creation_input_tokens:,}")
    return " · ".join(parts)


def same_tokens_text(comparison: Comparison) -> str:
    """The like-for-like line of a comparison: one reply's tokens priced both ways, and the saving."""
    c = comparison
    if c.same_tokens is None:
        return "Same tokens both ways: no usage to price (neither reply reported one)."
    whose = "the streamed reply's" if c.same_tokens_of == "streamed" else "the batched reply's"
    if c.same_standard is None or c.same_batch is None:
        return f"Same tokens both ways ({whose}: {usage_text(c.same_tokens)}): price unknown."
    saving = format_cost(c.saving)
    if c.saving_percent is not None:
        saving += f" ({c.saving_percent:.0f}% less)"
    return (
        f"Same tokens both ways ({whose}: {usage_text(c.same_tokens)}): {format_cost(c.same_standard)} "
        f"streamed, {format_cost(c.same_batch)} as a batch, saving {saving}."
    )


def to_markdown(
    conversation: Conversation, prices: PriceLookup, exported_at: datetime, system: str | None = None
) -> str:
    """The conversation with each turn's stats (and comparison, if any) as a Markdown document."""
    out = [f"# batchboard chat\n\nExported {exported_at.strftime('%Y-%m-%d %H:%M:%S %Z')}.\n"]
    if system:
        out.append(f"System prompt:\n\n> {printable(system).replace(chr(10), chr(10) + '> ')}\n")
    for turn in conversation.turns:
        request = turn.request
        price = prices(request.model)
        out.append(f"## Turn {turn.index} · {request.model} · max_tokens {request.max_tokens}\n")
        out.append(f"### You\n\n{printable(turn.prompt)}\n")
        out.append(f"### Claude (streamed, {turn.state.value})\n\n{turn.reply or '*(no text)*'}\n")
        if turn.error:
            out.append(f"**Error:** {printable(turn.error)}\n")
        out.append("| stat | value |\n|---|---|")
        out.extend(f"| {label} | {value} |" for label, value in stats_lines(turn, price))
        out.append("")
        if turn.batch is not None:
            out.append(_comparison_markdown(turn, price))
    return "\n".join(out).rstrip() + "\n"


def _comparison_markdown(turn: Turn, price: ModelPrice | None) -> str:
    batch = turn.batch
    assert batch is not None
    lines = [f"### Sent as a batch ({batch.batch_id or 'not created'}, custom_id {batch.custom_id})\n"]
    if batch.error:
        lines.append(f"**Error:** {printable(batch.error)}\n")
    if batch.answer is None:
        lines.append("*(the batch had not ended when this was exported)*\n")
        return "\n".join(lines)
    c = compare(turn, price)
    lines += [
        "| | streamed | batched |",
        "|---|---|---|",
        f"| first token / end-to-end | {format_seconds(c.streamed_ttft)} / {format_seconds(c.streamed_total)}"
        f" | {format_seconds(c.batched_end_to_end)} |",
        f"| cost (its own usage) | {c.streamed_cost_text} | {c.batched_cost_text} |",
        f"| tokens | {usage_text(c.streamed_usage)} | {usage_text(c.batched_usage)} |",
        "",
        same_tokens_text(c),
        "",
        f"Batched answer ({batch.answer.status}):\n",
        printable(batch.answer.text)
        if batch.answer.text
        else f"*({printable(batch.answer.error or 'no text')})*",
        "",
    ]
    return "\n".join(lines)
