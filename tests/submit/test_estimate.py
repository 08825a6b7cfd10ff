"""The pre-send estimate: hand-computed cost ranges, the offline estimate, count_tokens on the emulator."""

from __future__ import annotations

from pathlib import Path

import anthropic
import orjson
import pytest

from batchboard.core.pricing import price_for
from batchboard.core.submit.estimate import (
    CostRange,
    Estimate,
    ModelEstimate,
    cost_range,
    counted_estimate,
    format_estimate,
    local_estimate,
    params_of,
)
from batchboard.core.submit.jsonl import ModelTally, iter_chunk
from batchboard.core.submit.validate import validate_file

from .conftest import write_jsonl


def test_cost_range_by_hand_with_caching() -> None:
    price = price_for("claude-haiku-5-5")  # $0.10 in, $0.50 out, $0.125 5-minute write, $0.01 read per MTok
    assert price is not None
    # 10 requests, 100,000 input tokens of which 50,000 in cached prefixes (5,000 each); 10..5,000 out.
    standard = cost_range(price, 10, 100_000, 50_000, 10, (10, 5_000))
    # High: 50,000 plain x 0.10 + 50,000 written x 0.125 + 5,000 out x 0.50 (per million).
    assert standard.high == pytest.approx(0.005 + 0.00625 + 0.0025)
    # Low: 50,000 plain x 0.10 + one 5,000 write x 0.125 + 45,000 read x 0.01 + 10 out x 0.50.
    assert standard.low == pytest.approx(0.005 + 0.000625 + 0.00045 + 0.000005)
    batch = cost_range(price.at_batch(), 10, 100_000, 50_000, 10, (10, 5_000))
    assert (batch.low, batch.high) == pytest.approx((standard.low / 2, standard.high / 2))


def test_one_hour_cache_writes_cost_their_own_rate() -> None:
    price = price_for("claude-haiku-5-5")  # 1-hour write: $0.20 per MTok
    assert price is not None
    # 4 requests of 10,000 tokens, each with a 4,000-token prefix cached for an hour; 1 of the 4 at 5 minutes.
    cost = cost_range(price, 4, 40_000, 16_000, 4, (4, 400), prefix_1h_tokens=12_000, cached_1h=3)
    plain, out_low, out_high = 24_000 * 0.10, 4 * 0.50, 400 * 0.50
    assert cost.high * 1e6 == pytest.approx(plain + 4_000 * 0.125 + 12_000 * 0.20 + out_high)
    # Low: one write per TTL (4,000 at 5 minutes, 4,000 at 1 hour), the other 8,000 read.
    assert cost.low * 1e6 == pytest.approx(plain + 4_000 * 0.125 + 4_000 * 0.20 + 8_000 * 0.01 + out_low)


def test_without_caching_only_output_makes_a_range_and_long_prompts_use_their_band() -> None:
    price = price_for("claude-haiku-5-5")
    assert price is not None
    # 20 requests of 50,000 tokens: under Haiku 5.5's 100,000-token threshold, so $0.10 / $0.50.
    cost = cost_range(price, 20, 1_000_000, 0, 0, (20, 2_000))
    assert (cost.low, cost.high) == pytest.approx((0.10 + 0.00001, 0.10 + 0.001))
    # 2 requests of 500,000 tokens: the long-prompt band, $0.50 / $2.50.
    cost = cost_range(price, 2, 1_000_000, 0, 0, (2, 2_000))
    assert (cost.low, cost.high) == pytest.approx((0.50 + 0.000005, 0.50 + 0.005))


def test_local_estimate_is_four_characters_a_token_and_flags_unknown_prices() -> None:
    tallies = {
        "claude-haiku-5-5": ModelTally(requests=4, max_tokens=400, text_chars=4_000),
        "claude-nonexistent-9": ModelTally(requests=1, max_tokens=10, text_chars=40),
    }
    estimate = local_estimate(tallies)
    assert estimate.input_tokens == 1_010
    assert estimate.output_range == (5, 410)
    assert estimate.unpriced_models == ["claude-nonexistent-9"]
    text = "\n".join(format_estimate(estimate))
    assert "local estimate" in text and "claude-nonexistent-9: price unknown" in text
    batch = estimate.total("batch")
    assert batch.low == pytest.approx(0.5 * (1_000 * 0.10 + 4 * 0.50) / 1e6)


async def test_count_tokens_for_all_requests_matches_the_api(
    tmp_path: Path, client: anthropic.AsyncAnthropic
) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", 12)
    report = validate_file(path)

    def requests():  # type: ignore[no-untyped-def]
        for chunk in report.chunks:
            yield from params_of(iter_chunk(path, chunk))

    estimate = await counted_estimate(report.models, requests, client, mode="all", concurrency=3)
    expected = 0
    for line in path.read_bytes().splitlines():
        params = orjson.loads(line)["params"]
        result = await client.messages.count_tokens(model=params["model"], messages=params["messages"])
        expected += result.input_tokens
    assert estimate.input_tokens == expected
    assert estimate.method == "count_tokens for all 12 requests"
    sampled = await counted_estimate(report.models, requests, client, mode="sample", sample_size=4)
    assert sampled.method.startswith("count_tokens for a sample of 4 of 12")
    assert sampled.input_tokens == pytest.approx(expected, rel=0.25)


@pytest.mark.parametrize(("count", "said"), [(1, "1 request"), (3, "3 requests")])
async def test_count_tokens_failures_fall_back_to_the_local_estimate_with_a_note(
    tmp_path: Path, client: anthropic.AsyncAnthropic, count: int, said: str
) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", count, model="claude-made-up-1")
    report = validate_file(path)

    def requests():  # type: ignore[no-untyped-def]
        for chunk in report.chunks:
            yield from params_of(iter_chunk(path, chunk))

    estimate = await counted_estimate(report.models, requests, client, mode="all")
    assert any(note.startswith(f"count_tokens failed for {said}, first: ") for note in estimate.notes)
    assert estimate.input_tokens == round(report.models["claude-made-up-1"].text_chars / 4)


def test_a_short_message_is_at_least_one_token_and_never_free() -> None:
    estimate = local_estimate({"claude-haiku-5-5": ModelTally(requests=1, max_tokens=10, text_chars=2)})
    assert estimate.input_tokens >= 1  # "hi" is not 0 tokens
    assert estimate.total("batch").low > 0
    said = "\n".join(format_estimate(estimate))
    assert "$0.0000" not in said and "<$0.0001" in said


async def test_counted_estimate_reads_the_requests_in_a_thread(
    tmp_path: Path, client: anthropic.AsyncAnthropic
) -> None:
    import threading

    path = write_jsonl(tmp_path / "in.jsonl", 30)
    report = validate_file(path)
    readers: set[int] = set()

    def requests():  # type: ignore[no-untyped-def]
        for chunk in report.chunks:
            for params in params_of(iter_chunk(path, chunk)):
                readers.add(threading.get_ident())
                yield params

    estimate = await counted_estimate(report.models, requests, client, mode="all", concurrency=2)
    assert estimate.method == "count_tokens for all 30 requests"
    assert readers and threading.get_ident() not in readers  # parsing never ran on the event loop
    sampled = await counted_estimate(report.models, requests, client, mode="sample", sample_size=5)
    assert sampled.method.startswith("count_tokens for a sample of 5 of 30")


async def test_count_tokens_for_one_request_says_the_one(
    tmp_path: Path, client: anthropic.AsyncAnthropic
) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", 1)
    report = validate_file(path)

    def requests():  # type: ignore[no-untyped-def]
        for chunk in report.chunks:
            yield from params_of(iter_chunk(path, chunk))

    assert (await counted_estimate(report.models, requests, client, mode="all")).method == (
        "count_tokens for the one request"
    )
    sampled = await counted_estimate(report.models, requests, client, mode="sample", sample_size=4)
    assert sampled.method == "count_tokens for a sample of 1 of 1 request, scaled by characters"


def _model(model: str, requests: int, input_tokens: int, cached: int) -> ModelEstimate:
    return ModelEstimate(model, requests, input_tokens, 1, 10, cached, 0, CostRange(0.001, 0.002), None)


@pytest.mark.parametrize(
    ("first", "caching", "first_line"),
    [
        ((1, 1, 1), "1 request asks for it", "claude-a: 1 request, 1 input token"),
        ((2, 5, 2), "2 requests ask for it", "claude-a: 2 requests, 5 input tokens"),
    ],
)
def test_the_estimate_lines_count_in_the_singular_for_one(
    first: tuple[int, int, int], caching: str, first_line: str
) -> None:
    estimate = Estimate((_model("claude-a", *first), _model("claude-b", 3_000, 40_000, 0)), "counted")
    lines = format_estimate(estimate)
    assert any(line.startswith(f"  prompt caching: {caching}; the range assumes") for line in lines)
    assert f"    {first_line}, $0.0010 .. $0.0020" in lines
    assert "    claude-b: 3,000 requests, 40,000 input tokens, $0.0010 .. $0.0020" in lines


class _FailingCounter:
    """count_tokens that fails for requests saying "fail", the first of them after the others."""

    def __init__(self) -> None:
        self.messages = self

    async def count_tokens(self, **body: object) -> object:
        import asyncio
        from types import SimpleNamespace

        text = body["messages"][0]["content"]  # type: ignore[index]
        if text == "fail slowly":
            await asyncio.sleep(0.05)
        if str(text).startswith("fail"):
            raise anthropic.AnthropicError(f"cannot count: {text}")
        return SimpleNamespace(input_tokens=3)


async def test_the_failure_note_names_the_first_failing_request_in_file_order() -> None:
    """Counts run concurrently and finish in any order: the note names the first failure in the file, not
    the first to come back (a snapshot showed one or the other)."""
    texts = ["fail slowly", "fine", "fail at once"]
    params = [
        {"model": "claude-haiku-5-5", "max_tokens": 10, "messages": [{"role": "user", "content": t}]}
        for t in texts
    ]
    tallies = {"claude-haiku-5-5": ModelTally(requests=3, max_tokens=30, text_chars=30)}
    estimate = await counted_estimate(
        tallies,
        lambda: iter(params),
        _FailingCounter(),  # type: ignore[arg-type]
        mode="all",
    )
    note = next(n for n in estimate.notes if n.startswith("count_tokens failed for 2 requests, first: "))
    assert "fail slowly" in note and "fail at once" not in note
