"""The chat pane's logic without Textual: stats from an injected timer, costs, errors, history, export."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from batchboard.core.chat.compare import compare, comparison_custom_id
from batchboard.core.chat.conversation import (
    BatchAnswer,
    BatchRun,
    ChatMessage,
    Conversation,
    Turn,
    TurnState,
    run_stream,
)
from batchboard.core.chat.export import stats_lines, to_markdown
from batchboard.core.chat.stats import StreamStats, Usage, cost, format_reply_cost
from batchboard.core.format import printable
from batchboard.core.gateway.errors import classify
from batchboard.core.pricing import price_for
from chat.fakes import FakeBackend, FakeTimer, StatusError
from conftest import HOSTILE

SONNET = price_for("claude-sonnet-5-5")


def test_stats_measure_ttft_total_and_rate_from_the_timer() -> None:
    timer = FakeTimer()
    stats = StreamStats(timer)
    stats.start()
    timer.advance(0.4)
    stats.on_text("Hel")
    for _ in range(9):
        timer.advance(0.05)
        stats.on_text("lo")
    timer.advance(0.01)
    stats.finish("end_turn", Usage(input_tokens=30, output_tokens=10))
    assert stats.ttft == pytest.approx(0.4)
    assert stats.total() == pytest.approx(0.86)
    # 9 tokens after the first arrive over 0.45 s.
    assert stats.tokens_per_second() == pytest.approx(20.0)
    assert stats.exact_usage and stats.output_tokens == 10 and stats.input_tokens == 30


def test_live_stats_estimate_output_until_usage_arrives() -> None:
    timer = FakeTimer()
    stats = StreamStats(timer)
    stats.start()
    stats.on_usage(Usage(input_tokens=50, output_tokens=1))
    timer.advance(0.2)
    stats.on_text("x" * 40)
    timer.advance(1.0)
    assert stats.total() == pytest.approx(1.2)  # still running: measured to now
    assert stats.output_tokens == 10  # message_start says 1; the text so far says ≈40/4
    stats.on_usage(Usage(output_tokens=25))
    assert stats.output_tokens == 25  # a running count from the API wins when it is larger
    assert not stats.exact_usage
    assert stats.usage_for_cost().input_tokens == 50


def test_costs_standard_and_batch_use_the_price_table() -> None:
    assert SONNET is not None
    usage = Usage(input_tokens=1_000_000, output_tokens=100_000)
    assert cost(usage, SONNET) == pytest.approx(2.0 + 1.0)
    assert cost(usage, SONNET, batch=True) == pytest.approx(1.5)
    cached = Usage(input_tokens=0, cache_creation_input_tokens=1_000_000, cache_write_1h_tokens=400_000)
    assert cost(cached, SONNET) == pytest.approx(0.6 * 2.5 + 0.4 * 4.0)


def test_unknown_price_is_none_never_zero() -> None:
    stats = StreamStats(FakeTimer())
    assert stats.costs(None) == (None, None)


def test_classify_explains_what_happened_in_plain_words() -> None:
    assert classify(StatusError(529, "overloaded_error", "Overloaded")).explanation == (
        "The API is overloaded (HTTP 529, overloaded_error): Overloaded [request req_test]"
    )
    mid = classify(StatusError(200, "overloaded_error", "Overloaded")).explanation
    assert mid.startswith("The stream broke off with an error (overloaded_error)")

    class APIConnectionError(Exception):
        pass

    assert "Could not reach the API" in classify(APIConnectionError("refused")).explanation


def test_printable_neutralises_terminal_controls() -> None:
    text = printable(HOSTILE + "\x9b2J\x07\r\nnext\tline")
    assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text
    assert "␛[31mred" in text and "\\x9b2J" in text and "\nnext\tline" in text
    assert "[@click=app.quit]" in text  # markup characters are kept as text


async def test_run_stream_keeps_partial_text_on_a_mid_stream_error() -> None:
    timer = FakeTimer()
    backend = FakeBackend(
        timer, chunks=("one ", "two ", "three"), fail_after=StatusError(200, "overloaded_error", "x")
    )
    conversation = Conversation(timer)
    turn = conversation.start_turn("hi", "claude-sonnet-5-5", 100, None)
    await run_stream(backend, turn)
    assert turn.state is TurnState.FAILED and turn.reply == "one two three"
    assert turn.error is not None and "broke off" in turn.error
    assert backend.closed == 1


async def test_run_stream_cancelled_is_stopped_and_closes_the_stream() -> None:
    timer = FakeTimer()
    backend = FakeBackend(timer, chunks=("a", "b", "c"), pause_after=2)
    turn = Conversation(timer).start_turn("hi", "m", 10, None)
    task = asyncio.create_task(run_stream(backend, turn))
    await backend.paused.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert turn.state is TurnState.STOPPED and turn.reply == "ab" and backend.closed == 1


async def test_history_carries_earlier_turns_and_skips_empty_replies() -> None:
    timer = FakeTimer()
    conversation = Conversation(timer)
    first = conversation.start_turn("first?", "m", 10, "be brief")
    await run_stream(FakeBackend(timer, chunks=("one",)), first)
    failed = conversation.start_turn("second?", "m", 10, None)
    await run_stream(FakeBackend(timer, fail_before=StatusError(529, "overloaded_error", "o")), failed)
    third = conversation.start_turn("third?", "m", 10, None)
    assert third.request.messages == (
        ChatMessage("user", "first?"),
        ChatMessage("assistant", "one"),
        ChatMessage("user", "third?"),
    )
    assert first.request.params()["system"] == "be brief"
    assert "system" not in third.request.params()


def test_comparison_and_export() -> None:
    timer = FakeTimer()
    conversation = Conversation(timer)
    turn = conversation.start_turn(HOSTILE, "claude-sonnet-5-5", 200, None)
    turn.stats.start()
    timer.advance(0.3)
    turn.stats.on_text("x")
    turn.parts.append("**Streamed** answer")
    timer.advance(0.7)
    turn.stats.finish("end_turn", Usage(input_tokens=1000, output_tokens=100))
    turn.state = TurnState.DONE
    turn.batch = BatchRun("chat-compare-1-0", submitted_at=timer())
    timer.advance(90)
    turn.batch.batch_id = "msgbatch_x"
    turn.batch.answer = BatchAnswer(
        "succeeded", "Batched answer", Usage(input_tokens=1000, output_tokens=100)
    )
    turn.batch.finished_at = timer()

    comparison = compare(turn, SONNET)
    assert comparison.same_tokens_of == "streamed"
    assert comparison.same_standard == pytest.approx(0.003) and comparison.same_batch == pytest.approx(0.0015)
    assert comparison.streamed_ttft == pytest.approx(0.3)
    assert comparison.streamed_total == pytest.approx(1.0)
    assert comparison.batched_end_to_end == pytest.approx(90)
    assert comparison.streamed_cost == pytest.approx(0.003)
    assert comparison.batched_cost == pytest.approx(0.0015)
    assert comparison.saving_percent == pytest.approx(50)

    text = to_markdown(conversation, price_for, datetime(2026, 11, 23, 12, tzinfo=UTC))
    assert "Exported 2026-11-23 12:00:00 UTC" in text
    assert "| time to first token | 300 ms |" in text
    assert "| cost (standard) | $0.00300 |" in text
    assert "| same request as a batch | $0.00150 |" in text
    assert "Batched answer" in text and "**Streamed** answer" in text
    assert "| first token / end-to-end | 300 ms / 1.00 s | 90.00 s |" in text
    assert "| cost (its own usage) | $0.00300 | $0.00150 |" in text
    assert "| tokens | in 1,000 · out 100 | in 1,000 · out 100 |" in text
    assert (
        "Same tokens both ways (the streamed reply's: in 1,000 · out 100): $0.00300 streamed, "
        "$0.00150 as a batch, saving $0.00150 (50% less)." in text
    )
    assert "\x1b" not in text


def test_comparison_custom_id_is_a_valid_custom_id() -> None:
    import re

    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", comparison_custom_id(12, 0xABCDEF))


def finished_turn(
    conversation: Conversation, timer: FakeTimer, streamed: Usage, batched: Usage | None
) -> Turn:
    turn = conversation.start_turn("compare", "claude-sonnet-5-5", 500, None)
    turn.stats.start()
    timer.advance(0.5)
    turn.stats.on_text("streamed")
    turn.parts.append("streamed")
    turn.stats.finish("end_turn", streamed)
    turn.state = TurnState.DONE
    turn.batch = BatchRun("chat-compare-1-0", submitted_at=timer())
    timer.advance(60)
    turn.batch.answer = (
        BatchAnswer("succeeded", "a longer batched answer", batched)
        if batched is not None
        else BatchAnswer("errored", error="overloaded_error: Overloaded")
    )
    turn.batch.finished_at = timer()
    return turn


def test_the_saving_compares_the_same_tokens_and_each_reply_keeps_its_own_cost() -> None:
    # The batched reply is longer: its own cost is not half the streamed one, but the saving is 50%.
    timer = FakeTimer()
    streamed, batched = (
        Usage(input_tokens=1000, output_tokens=100),
        Usage(input_tokens=1000, output_tokens=190),
    )
    comparison = compare(finished_turn(Conversation(timer), timer, streamed, batched), SONNET)
    assert comparison.streamed_cost == pytest.approx(0.002 + 0.001)
    assert comparison.batched_cost == pytest.approx((0.002 + 0.0019) / 2)
    assert comparison.streamed_cost_text == "$0.00300" and comparison.batched_cost_text == "$0.00195"
    assert comparison.same_tokens == streamed and comparison.same_tokens_of == "streamed"
    assert comparison.same_standard == pytest.approx(0.003) and comparison.same_batch == pytest.approx(0.0015)
    assert comparison.saving == pytest.approx(0.0015) and comparison.saving_percent == pytest.approx(50)


def test_an_errored_batch_costs_nothing_and_the_saving_is_still_like_for_like() -> None:
    timer = FakeTimer()
    streamed = Usage(input_tokens=1000, output_tokens=100)
    comparison = compare(finished_turn(Conversation(timer), timer, streamed, None), SONNET)
    assert comparison.batched_cost is None and comparison.batched_cost_text == "no cost"
    assert comparison.same_tokens_of == "streamed" and comparison.saving_percent == pytest.approx(50)
    unknown = compare(finished_turn(Conversation(timer), timer, streamed, None), None)
    assert unknown.streamed_cost_text == "price unknown" and unknown.batched_cost_text == "price unknown"
    assert unknown.saving is None


def costs_shown(turn: Turn) -> dict[str, str]:
    rows = dict(stats_lines(turn, SONNET))
    return {label: rows[label] for label in ("cost (standard)", "same request as a batch")}


async def test_a_chat_that_failed_before_anything_arrived_shows_no_cost_never_zero() -> None:
    timer = FakeTimer()
    conversation = Conversation(timer)
    turn = conversation.start_turn("hi", "claude-sonnet-5-5", 100, None)
    await run_stream(FakeBackend(timer, fail_before=StatusError(529, "overloaded_error", "o")), turn)
    assert turn.state is TurnState.FAILED
    assert costs_shown(turn) == {"cost (standard)": "no cost", "same request as a batch": "no cost"}
    assert "$0" not in to_markdown(conversation, price_for, datetime(2026, 11, 23, tzinfo=UTC))


async def test_a_chat_that_broke_off_shows_the_partial_cost_of_what_arrived() -> None:
    timer = FakeTimer()
    turn = Conversation(timer).start_turn("hi", "claude-sonnet-5-5", 100, None)
    waiting = StreamStats(timer)
    waiting.start()
    assert format_reply_cost(waiting, SONNET) == "–"  # sent, nothing arrived yet
    backend = FakeBackend(
        timer, chunks=("x" * 400,), input_tokens=1000, fail_after=StatusError(200, "overloaded_error", "x")
    )
    await run_stream(backend, turn)
    assert turn.state is TurnState.FAILED
    # 1,000 input tokens (message_start) and ≈100 output tokens (400 characters) at $2 / $10 a million.
    assert costs_shown(turn) == {
        "cost (standard)": "≈$0.00300 partial",
        "same request as a batch": "≈$0.00150 partial",
    }
