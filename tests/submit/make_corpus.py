"""Writes the bad-file corpus under `corpus/` (run by hand; the files and their .expected are committed).

Each `NAME.jsonl` has a `NAME.expected` listing, in order, every message validation must report for it;
a first line `# limits: max_bytes=N` shrinks the batch limits for that file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).parent / "corpus"
HOSTILE = "[/] [@click=app.quit]x[/] list[int] \x1b[31mred\x1b[0m [bold]not bold"


def params(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "model": "claude-sonnet-5-5",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "Hello"}],
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not DROP}


DROP = object()


def line(custom_id: Any = DROP, p: Any = DROP, **extra: Any) -> bytes:
    obj: dict[str, Any] = {}
    if custom_id is not DROP:
        obj["custom_id"] = custom_id
    if p is not DROP:
        obj["params"] = p
    obj.update(extra)
    return json.dumps(obj, ensure_ascii=False).encode()


def ok(custom_id: str, **overrides: Any) -> bytes:
    return line(custom_id, params(**overrides))


def write(name: str, *lines: bytes, raw: bytes | None = None) -> None:
    (CORPUS / f"{name}.jsonl").write_bytes(raw if raw is not None else b"".join(x + b"\n" for x in lines))


def main() -> None:
    CORPUS.mkdir(exist_ok=True)
    write(
        "valid",
        ok("a-1"),
        ok(
            "b_2",
            system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
            tools=[{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object"}}],
            tool_choice={"type": "auto"},
            thinking={"type": "enabled", "budget_tokens": 1024},
            metadata={"user_id": "u-1"},
            stop_sequences=["\n\nHuman:"],
            service_tier="auto",
            stream=False,
        ),
        ok(
            "C3",
            messages=[
                {"role": "user", "content": [{"type": "text", "text": "Describe"}]},
                {"role": "assistant", "content": "Sure:"},
            ],
        ),
        ok("cached-top", cache_control={"type": "ephemeral"}, system="You are terse."),
    )
    write("empty", raw=b"")
    write("only_blank_lines", raw=b"\n  \n\t\n")
    write("blank_lines", ok("a"), b"", b"   ", ok("b"), b"", raw=None)
    write("bom", raw=b"\xef\xbb\xbf" + ok("a") + b"\n" + ok("b") + b"\n")
    write(
        "not_json",
        ok("a"),
        b'{"custom_id": "b", "params": {"model": "claude-sonnet-5-5"',
        b'{"custom_id": "c",}',
        b"{'custom_id': 'd'}",
        b'{"custom_id": "e"} {"custom_id": "f"}',
        b'{"custom_id": "g", "params": {"max_tokens": NaN}}',
    )
    write("not_object", b'["a", {"model": "x"}]', b'"just a string"', b"42", b"null", ok("fine"))
    write("missing_custom_id", line(p=params()), ok("ok-1"), line(None, params()))
    write("missing_params", line("a"), line("b", None), line("c", "claude-sonnet-5-5"), line("d", []))
    write(
        "bad_custom_id",
        ok(""),
        ok("x" * 65),
        ok("has space"),
        ok("dots.and/slashes"),
        ok("café"),
        ok(HOSTILE),
        line(123, params()),
        line(["a"], params()),
        ok("x" * 64),
    )
    write("duplicate_custom_id", ok("a"), ok("b"), ok("a"), ok("c"), ok("b"), ok("a"))
    write(
        "missing_fields",
        line("no-model", params(model=DROP)),
        line("no-max-tokens", params(max_tokens=DROP)),
        line("no-messages", params(messages=DROP)),
        line("null-model", params(model=None)),
        line("nothing", {}),
    )
    write("stream_true", ok("a", stream=True), ok("b", stream="yes"), ok("c", stream=False))
    write(
        "wrong_types",
        ok("mt-string", max_tokens="100"),
        ok("mt-zero", max_tokens=0),
        ok("mt-negative", max_tokens=-5),
        ok("mt-float", max_tokens=1.5),
        ok("mt-bool", max_tokens=True),
        ok("model-number", model=4),
        ok("msgs-object", messages={"role": "user", "content": "Hi"}),
        ok("msgs-empty", messages=[]),
        ok("msg-string", messages=["Hello"]),
        ok("role-bot", messages=[{"role": "bot", "content": "Hi"}]),
        ok("role-missing", messages=[{"content": "Hi"}]),
        ok("content-missing", messages=[{"role": "user"}]),
        ok("content-number", messages=[{"role": "user", "content": 5}]),
        ok("block-bad", messages=[{"role": "user", "content": ["Hi", {"text": "x"}, {"type": "text"}]}]),
        ok("system-number", system=5),
        ok("stop-string", stop_sequences="END"),
        ok("tier-bad", service_tier="batch"),
        ok("thinking-bad", thinking="on"),
        ok("tools-object", tools={"name": "x"}),
        ok("system-then-bad-tier", system="Be brief.", service_tier="batch"),
        ok("system-block-bad", system=[{"type": "text", "text": "Hi"}, {"type": "text", "text": 5}]),
        ok("metadata-bad", system="Be brief.", metadata="user-1"),
        ok("tool-choice-bad", tools=[{"name": "t", "input_schema": {"type": "object"}}], tool_choice="auto"),
        ok("tools-item-bad", tools=[{"name": "t", "input_schema": {"type": "object"}}, "t2"]),
    )
    write(
        "unknown_model",
        ok("a", model="claude-sonet-5-5"),
        ok("b", model="claude-sonet-5-5"),
        ok("c", model="gpt-4o"),
        ok("d"),
    )
    write("unknown_param", ok("a", frequency_penalty=0.5), ok("b", n=2, logprobs=True), ok("c"))
    # Refused by the API version the SDK sends (2026-10-21), even at their defaults.
    write(
        "refused_param",
        ok("a", temperature=0.7),
        ok("b", top_p=0.9, top_k=5),
        ok("c"),
        ok("d", temperature=1.0),
    )
    # Above the model's output limit (model_limits.toml): claude-sonnet-5-5 128,000, claude-haiku-4-5 64,000;
    # a model with no known limits is not checked. The second request of a model takes the fast path.
    write(
        "max_tokens_over_limit",
        ok("a"),
        ok("b", max_tokens=900_000),
        ok("c", max_tokens=128_000),
        ok("d", model="claude-haiku-4-5-20251001", max_tokens=64_000),
        ok("e", model="claude-haiku-4-5-20251001", max_tokens=64_001),
        ok("f", model="claude-mythos-preview", max_tokens=900_000),
    )
    # A prompt estimated (4 characters a token) above claude-haiku-4-5's 200,000-token window.
    write(
        "prompt_over_window",
        ok("a", model="claude-haiku-4-5"),
        ok(
            "b",
            model="claude-haiku-4-5",
            system="Be brief.",
            messages=[{"role": "user", "content": "x" * 800_000}],
        ),
    )
    write("extra_field", line("a", params(), method="POST"), line("b", params(), url="/v1/messages"))
    write(
        "non_utf8",
        ok("a"),
        b'{"custom_id": "b", "params": {"model": "claude-sonnet-5-5", "max_tokens": 10, '
        b'"messages": [{"role": "user", "content": "caf\xe9"}]}}',
        ok("c"),
    )
    # With max_bytes=20000 a request may be at most 15,904 bytes and a line at most 16,928.
    write(
        "huge_lines",
        ok("small"),
        ok("too-long-to-hold", messages=[{"role": "user", "content": "x" * 30_000}]),
        ok("just-too-big", messages=[{"role": "user", "content": "y" * 16_000}]),
        ok("fits", messages=[{"role": "user", "content": "z" * 15_000}]),
    )
    write(
        "mixed",
        ok("a"),
        b"not json at all",
        b"",
        line("a", params(max_tokens="lots", stream=True)),
        ok("bad id!", model="claude-unknown-9"),
        line("e", params(messages=DROP), extra=1),
        b'{"custom_id": "f", "params": {"model": "claude-sonnet-5-5", "max_tokens": 5, '
        b'"messages": [{"role": "user", "content": "\xc3\x28"}]}}',
        b"[]",
        ok("g", temperature=2),
    )


if __name__ == "__main__":
    main()
