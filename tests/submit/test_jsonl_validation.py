"""Validation and chunking of submission files: the bad-file corpus with its exact messages, and chunks."""

from __future__ import annotations

import json
import typing
from pathlib import Path

import orjson
import pytest

from batchboard.core.submit.jsonl import BODY_OVERHEAD, Limits, Problem, iter_chunk
from batchboard.core.submit.rules import KNOWN_PARAMS, SDK_MODELS
from batchboard.core.submit.validate import validate_file
from conftest import HOSTILE

CORPUS = Path(__file__).parent / "corpus"
CORPUS_FILES = sorted(CORPUS.glob("*.jsonl"))


def expected_for(path: Path) -> tuple[Limits | None, list[str]]:
    lines = path.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    limits = None
    if lines and lines[0].startswith("# limits:"):
        settings = dict(item.split("=") for item in lines.pop(0).removeprefix("# limits:").split())
        limits = Limits(**{key: int(value) for key, value in settings.items()})
    return limits, lines


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.stem for p in CORPUS_FILES])
def test_corpus_file_reports_exactly_the_expected_problems(path: Path) -> None:
    limits, expected = expected_for(path)
    report = validate_file(path, display_name=path.name, limits=limits)
    assert [str(problem) for problem in report.problems] == expected
    has_errors = any(": warning: " not in line for line in expected)
    assert report.ok is not has_errors
    # A file with errors sends nothing, so it has no chunks; a clean one is all in one chunk here.
    assert len(report.chunks) == (0 if has_errors else 1)


def test_a_last_line_without_newline_and_an_unterminated_huge_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    lines = write_requests(path, 3)
    path.write_bytes(b"\n".join(lines))  # no newline at the end
    report = validate_file(path)
    assert report.ok and report.requests == 3 and report.chunks[0].end_offset == path.stat().st_size
    assert [r["custom_id"] for _, r in iter_chunk(path, report.chunks[0])] == ["r0", "r1", "r2"]
    path.write_bytes(lines[0] + b"\n\n" + b"x" * 50_000)  # a blank line, then a huge line the file ends in
    report = validate_file(path, display_name="r.jsonl", limits=Limits(max_bytes=20_000))
    assert [str(p) for p in report.problems] == [
        "r.jsonl:2: warning: blank line, skipped",
        "r.jsonl:3: this line is 50,000 bytes, over the 15,904 bytes that fit in one batch; "
        "split its content across several requests",
    ]


def test_corpus_covers_every_problem_the_issue_lists() -> None:
    names = {p.stem for p in CORPUS_FILES}
    assert {
        "not_json",
        "not_object",
        "missing_custom_id",
        "missing_params",
        "bad_custom_id",
        "duplicate_custom_id",
        "missing_fields",
        "stream_true",
        "wrong_types",
        "unknown_model",
        "non_utf8",
        "empty",
        "blank_lines",
        "huge_lines",
        "mixed",
        "refused_param",
        "max_tokens_over_limit",
        "prompt_over_window",
    } <= names


def test_problem_str_matches_the_house_format() -> None:
    problem = Problem("requests.jsonl", 12, "params.max_tokens", 'expected a positive integer, got "100"')
    assert str(problem) == 'requests.jsonl:12: params.max_tokens: expected a positive integer, got "100"'
    assert str(Problem("f.jsonl", None, None, "the file is empty")) == "f.jsonl: the file is empty"
    assert str(Problem("f.jsonl", 3, None, "blank line, skipped", "warning")) == (
        "f.jsonl:3: warning: blank line, skipped"
    )


def write_requests(path: Path, count: int, *, text: str = "Hello", blank_every: int = 0) -> list[bytes]:
    lines = []
    for i in range(count):
        request = {
            "custom_id": f"r{i}",
            "params": {
                "model": "claude-sonnet-5-5",
                "max_tokens": 10 + i,
                "messages": [{"role": "user", "content": f"{text} {i}"}],
            },
        }
        lines.append(json.dumps(request).encode())  # spaced JSON: the serialized size must not be the line's
        if blank_every and i % blank_every == 0:
            lines.append(b"")
    path.write_bytes(b"\n".join(lines) + b"\n")
    return lines


def body_size(requests: list[dict[str, object]]) -> int:
    """The body exactly as the SDK serializes it (json.dumps, compact, non-ASCII kept)."""
    return len(json.dumps({"requests": requests}, ensure_ascii=False, separators=(",", ":")).encode())


def test_chunks_split_by_request_count_like_a_250k_file_into_three(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 250, blank_every=7)
    report = validate_file(path, limits=Limits(max_requests=100))
    assert report.ok and report.requests == 250
    assert [c.requests for c in report.chunks] == [100, 100, 50]
    ids = [[request["custom_id"] for _, request in iter_chunk(path, chunk)] for chunk in report.chunks]
    assert ids == [[f"r{i}" for i in range(a, b)] for a, b in ((0, 100), (100, 200), (200, 250))]
    # Chunks tile the file: each starts where the last ended, the last ends at the end of the file.
    assert report.chunks[0].start_offset == 0
    for before, after in zip(report.chunks, report.chunks[1:], strict=False):
        assert before.end_offset == after.start_offset
        assert before.last_line < after.first_line
    assert report.chunks[-1].end_offset == path.stat().st_size


def test_chunks_split_by_serialized_bytes_and_never_exceed_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 40, text="é" * 300)  # non-ASCII: bytes, not characters, are what counts
    limits = Limits(max_bytes=BODY_OVERHEAD + 5_000)
    report = validate_file(path, limits=limits)
    assert report.ok
    assert len(report.chunks) > 1
    total = 0
    for chunk in report.chunks:
        requests = [request for _, request in iter_chunk(path, chunk)]
        total += len(requests)
        assert len(requests) == chunk.requests
        actual = body_size(requests)
        assert actual <= limits.max_bytes
        # Measured to the byte: what we count is what the SDK sends, plus the fixed allowance.
        assert chunk.body_bytes - BODY_OVERHEAD + len('{"requests":[]}') == actual
    assert total == 40
    # Greedy packing: a chunk closes only when the next request would not have fitted.
    first, second = report.chunks[0], report.chunks[1]
    next_size = len(orjson.dumps(next(iter_chunk(path, second))[1]))
    assert first.body_bytes + next_size + 1 > limits.max_bytes


def test_a_file_with_errors_is_still_checked_to_the_end_but_not_chunked(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    lines = write_requests(path, 30)
    lines[3] = b"{oops"
    lines[25] = b'{"custom_id": "r1", "params": {}}'
    path.write_bytes(b"\n".join(lines) + b"\n")
    report = validate_file(path, display_name="r.jsonl")
    assert report.chunks == []
    assert [(p.line, p.field) for p in report.problems] == [
        (4, None),
        (26, "custom_id"),
        (26, "params.model"),
        (26, "params.max_tokens"),
        (26, "params.messages"),
    ]


def test_problems_beyond_the_cap_are_counted_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"[]\n" * 50)
    report = validate_file(path, max_problems=10)
    assert (report.errors, len(report.problems), report.omitted) == (50, 10, 40)


def test_crlf_line_endings_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    lines = write_requests(path, 3)
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    report = validate_file(path)
    assert report.ok and report.warnings == 0 and report.chunks[0].requests == 3
    assert [r["custom_id"] for _, r in iter_chunk(path, report.chunks[0])] == ["r0", "r1", "r2"]


def test_hostile_values_are_quoted_with_control_characters_escaped(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(orjson.dumps({"custom_id": HOSTILE, "params": {"model": HOSTILE}}) + b"\n")
    report = validate_file(path)
    text = "\n".join(str(p) for p in report.problems)
    assert "\x1b" not in text and "\\u001b" in text


def test_tallies_feed_the_estimate() -> None:
    report = validate_file(CORPUS / "valid.jsonl")
    tally = report.models["claude-sonnet-5-5"]
    assert tally.requests == 4
    assert tally.max_tokens == 400
    # Two requests set a cache breakpoint: one on the system prompt, one with top-level cache_control.
    assert tally.cached_requests == 2
    assert 0 < tally.cached_prefix_chars <= tally.text_chars


def test_known_params_and_models_match_the_installed_sdk() -> None:
    from anthropic.types import ModelParam
    from anthropic.types.message_create_params import MessageCreateParamsNonStreaming

    assert set(MessageCreateParamsNonStreaming.__annotations__) == KNOWN_PARAMS
    literal = next(arg for arg in typing.get_args(ModelParam) if typing.get_origin(arg) is typing.Literal)
    assert set(typing.get_args(literal)) == SDK_MODELS


def test_fast_and_thorough_paths_count_the_same_characters(tmp_path: Path) -> None:
    from batchboard.core.submit.rules import tally_params

    path = tmp_path / "r.jsonl"
    write_requests(path, 40)
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    cached_system = [
        {"type": "text", "text": "Shared instructions. " * 20, "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "More."},
    ]
    for i, request in enumerate(lines):
        params = request["params"]
        if i % 2:
            params["system"] = "Be brief."  # the fast path
        if i % 3 == 0:
            params["system"] = cached_system  # the fast path, with a cache breakpoint
        if i % 4 == 0:
            params["metadata"] = {"user_id": "u"}  # the fast path
        if i % 5 == 0:
            params["stop_sequences"] = ["END"]  # the thorough path
        if i % 7 == 0:
            params["messages"].append({"role": "assistant", "content": [{"type": "text", "text": "Ok"}]})
        if i % 8 == 3:  # a breakpoint in a message (the fast path), after one in the system prompt or not
            ttl = {"type": "ephemeral", "ttl": "1h"} if i % 16 == 3 else {"type": "ephemeral"}
            params["messages"].insert(
                0, {"role": "user", "content": [{"type": "text", "text": "Doc. " * 30, "cache_control": ttl}]}
            )
        if i % 9 == 4:  # an image: the thorough path
            image = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}
            params["messages"][0]["content"] = [{"type": "image", "source": image}]
        if i % 6 == 1:
            params["tools"] = [{"name": "t", "input_schema": {"type": "object"}}]  # the fast path
            if i % 4 == 1:
                params["tool_choice"] = {"type": "auto"}
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in lines) + b"\n")
    fast = validate_file(path).models["claude-sonnet-5-5"]
    slow = tally_params(r["params"] for r in lines)["claude-sonnet-5-5"]
    assert fast == slow
    assert 0 < fast.cached_1h_requests < fast.cached_requests < 40


def test_one_hour_cache_breakpoints_are_tallied_apart(tmp_path: Path) -> None:
    from batchboard.core.submit.rules import tally_params

    path = tmp_path / "r.jsonl"
    write_requests(path, 6)
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    for i, request in enumerate(lines):
        ttl = {"type": "ephemeral", "ttl": "1h"} if i % 2 else {"type": "ephemeral"}
        request["params"]["system"] = [{"type": "text", "text": "Rules.", "cache_control": ttl}]
        if i == 5:
            request["params"]["stop_sequences"] = ["END"]  # the thorough path agrees
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in lines) + b"\n")
    tally = validate_file(path).models["claude-sonnet-5-5"]
    assert (tally.cached_requests, tally.cached_1h_requests) == (6, 3)
    assert tally.cached_1h_prefix_chars == 3 * len("Rules.")
    assert tally == tally_params(r["params"] for r in lines)["claude-sonnet-5-5"]


def _strict(path: Path, limits: Limits | None = None) -> object:
    """The same pass with every custom_id checked on its own line (what the optimistic pass must equal)."""
    from batchboard.core.submit.jsonl import Report
    from batchboard.core.submit.rules import SDK_MODELS
    from batchboard.core.submit.validate import _scan

    report = _scan(path, Report(str(path), path), limits or Limits(), SDK_MODELS, strict=True)
    assert report is not None
    return report


@pytest.mark.parametrize(
    "bad",
    [
        "bad id!",  # a character not allowed
        "",  # empty
        "x" * 65,  # too long
        "a\nb",  # a newline, which joins custom_ids in the check
        "é",  # not ASCII
        7,  # not a string
        None,
        ["r1"],
        "r1",  # a duplicate of an earlier fast-path line
        "r45",  # a duplicate of a later line
        "img",  # a duplicate of a line the thorough check takes (an image)
    ],
)
def test_custom_ids_checked_at_once_report_exactly_what_line_by_line_checks_do(
    tmp_path: Path, bad: object
) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 5_000)  # more than one segment
    lines = path.read_bytes().splitlines()
    image = {"role": "user", "content": [{"type": "image", "source": {"type": "url", "url": "u"}}]}
    params = {"model": "claude-sonnet-5-5", "max_tokens": 5, "messages": [image]}
    lines[30] = orjson.dumps({"custom_id": "img", "params": params})
    lines[4_500] = orjson.dumps({"custom_id": bad, "params": orjson.loads(lines[4_500])["params"]})
    path.write_bytes(b"\n".join(lines) + b"\n")
    report = validate_file(path)
    strict = _strict(path)
    assert report == strict
    assert not report.ok and report.problems and report.problems[0].line == 4_501


def test_custom_ids_out_of_order_and_in_order_are_both_checked_for_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    for order in (lambda i: i, lambda i: (i * 7919) % 10_007):  # in order, then shuffled
        ids = [f"id-{order(i)}" for i in range(9_000)]
        lines = [
            orjson.dumps(
                {
                    "custom_id": custom_id,
                    "params": {
                        "model": "claude-haiku-5-5",
                        "max_tokens": 1,
                        "messages": [{"role": "user", "content": "x"}],
                    },
                }
            )
            for custom_id in ids
        ]
        path.write_bytes(b"\n".join(lines) + b"\n")
        assert validate_file(path).ok
        lines.append(lines[1_234])  # the same request twice
        path.write_bytes(b"\n".join(lines) + b"\n")
        report = validate_file(path, display_name="r.jsonl")
        assert [str(p) for p in report.problems] == [
            f'r.jsonl:9001: custom_id: duplicate "{ids[1_234]}", first used on line 1235; '
            "custom_ids must be unique"
        ]


def test_sizes_from_line_lengths_are_exact_for_compact_lines_and_never_below_the_body(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_requests(path, 60, text='Hello\nwörld \\u00e9 "q"')
    requests = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    # Compact (as orjson writes), and no floats: the line's length is the size, to the byte.
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in requests) + b"\n")
    report = validate_file(path)
    (chunk,) = report.chunks
    assert chunk.body_bytes - BODY_OVERHEAD + len('{"requests":[]}') == body_size(requests)
    # Written otherwise: whitespace, escapes that orjson writes shorter, duplicate keys. Never less.
    odd = [
        b'{ "custom_id":"a","params":{"model":"claude-sonnet-5-5","max_tokens":5,'
        b'"messages":[{"role":"user","content":"\\u00e9\\/"}]} }',
        b'{"custom_id":"b","params":{"model":"claude-sonnet-5-5","max_tokens":5,"max_tokens":6,'
        b'"messages":[ {"role":"user","content":"x"} ]}}',
    ]
    # Values the fast path does not look into may hold floats, which orjson writes longer: measured.
    floats = [
        {"custom_id": f"f{i}", "params": {**requests[0]["params"], "metadata": {"n": 1e15}}} for i in range(3)
    ] + [
        {
            "custom_id": "t",
            "params": {**requests[0]["params"], "tools": [{"name": "t", "input_schema": {"maximum": 2e5}}]},
        }
    ]
    raw = odd + [
        orjson.dumps(r).replace(b"1000000000000000.0", b"1e15").replace(b"200000.0", b"2e5") for r in floats
    ]
    path.write_bytes(b"\n".join(raw))  # and no newline at the end
    report = validate_file(path)
    (chunk,) = report.chunks
    sent = [orjson.loads(line) for line in raw]
    assert chunk.body_bytes - BODY_OVERHEAD + len('{"requests":[]}') >= body_size(sent)
    assert len(orjson.dumps(sent[2])) > len(raw[2]) and len(orjson.dumps(sent[-1])) > len(raw[-1])
    assert report == _strict(path)


def test_every_sdk_model_has_limits_with_a_source_or_is_listed_as_unknown() -> None:
    from batchboard.core.model_limits import bundled_limits, context_window, max_output_tokens, model_limits

    table = bundled_limits()
    assert table.checked
    for model in SDK_MODELS:
        limits = model_limits(model)
        if model in table.unknown:
            assert limits is None and max_output_tokens(model) is None and context_window(model) is None
            continue
        assert limits is not None, model
        assert limits.source and 0 < limits.max_output_tokens <= limits.context_window
    assert max_output_tokens("claude-haiku-4-5-20251001") == max_output_tokens("claude-haiku-4-5") == 64_000
    assert context_window("claude-sonnet-5-5") == 1_000_000
    assert model_limits("claude-unknown-9") is None


def test_the_api_version_submit_checks_under_is_the_one_the_sdk_sends() -> None:
    from anthropic._constants import ANTHROPIC_API_VERSION

    from batchboard.core.gateway.client import API_VERSION

    assert API_VERSION == ANTHROPIC_API_VERSION


def test_images_and_pdfs_are_not_prompt_text_for_the_context_window(tmp_path: Path) -> None:
    # 900,000 characters of base64 image and PDF data and 700,000 of text: the prompt text alone fits
    # claude-haiku-4-5's 200,000-token window (800,000 characters); a text document of the same size does not.
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "A" * 450_000}}
    pdf = {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": "B" * 450_000},
    }
    text_doc = {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": "C" * 450_000},
    }
    words = {"type": "text", "text": "x" * 700_000}

    def request(custom_id: str, block: dict[str, object]) -> bytes:
        messages = [{"role": "user", "content": [block, words]}]
        params = {"model": "claude-haiku-4-5", "max_tokens": 10, "messages": messages}
        return orjson.dumps({"custom_id": custom_id, "params": params})

    path = tmp_path / "r.jsonl"
    path.write_bytes(
        b"\n".join([request("img", image), request("pdf", pdf), request("txt", text_doc)]) + b"\n"
    )
    report = validate_file(path, display_name="r.jsonl")
    assert [(p.line, p.field) for p in report.problems] == [(3, "params.messages")]
    assert "over claude-haiku-4-5's context window of 200,000 tokens" in report.problems[0].message


def test_retry_tallies_never_drop_a_stored_request_over_the_limits() -> None:
    # A stored request (sent before these checks, or attached) still counts in a retry's estimate.
    from batchboard.core.submit.rules import tally_params

    params = {
        "model": "claude-sonnet-5-5",
        "max_tokens": 900_000,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    assert tally_params([params])["claude-sonnet-5-5"].requests == 1
