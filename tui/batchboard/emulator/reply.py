"""What the model answers a request with: text, JSON for an output schema, or a tool call; cut by
`max_tokens`, the context window or a stop sequence; refused or invalid when the knobs say so.

One `Reply` serves a message, a batch result and a stream alike, so the three always agree.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson

from batchboard.emulator._util import base62_id, unit_hash
from batchboard.emulator.catalog import lookup_model
from batchboard.emulator.conversation import ToolSpec
from batchboard.emulator.schema import SchemaError, break_value, generate
from batchboard.emulator.text import keywords, pieces, reply_for
from batchboard.emulator.validation import Prompt

#: Share of `auto` requests with a tool on offer (and no hint of one in the prompt) that call it.
AUTO_TOOL_SHARE = 0.5
REFUSAL_DETAILS: dict[str, Any] = {"type": "refusal", "category": None, "explanation": None}


@dataclass(slots=True)
class Reply:
    blocks: list[dict[str, Any]]
    output_tokens: int
    stop_reason: str
    stop_sequence: str | None = None
    stop_details: dict[str, Any] | None = None
    sources: list[str] = field(default_factory=list)
    """Per block, what a stream sends: the text, or the tool input's JSON as written (cut if truncated)."""


def compose(prompt: Prompt, salt: int, *, refuse: bool = False, invalid: bool = False) -> Reply:
    """The reply to `prompt`, deterministic in `salt`; `refuse` and `invalid` come from the knobs."""
    limit, cut = _room(prompt)
    if limit > 0 and not (
        refuse or prompt.refuse or prompt.tools or prompt.output_schema or prompt.stop_sequences
    ):
        # The common case, kept lean: batch results of plain prompts run through here.
        text, tokens, stop = reply_for(prompt.kind, prompt.snippet, salt, limit, as_json=prompt.as_json)
        return Reply(
            [{"type": "text", "text": text}],
            tokens,
            cut if stop == "max_tokens" else stop,
            None,
            None,
            [text],
        )
    if refuse or prompt.refuse:
        return _refusal(prompt, salt, limit)
    tool = _choose_tool(prompt, salt)
    if tool is not None:
        return _tool_reply(prompt, tool, salt, limit, cut, invalid=invalid)
    if prompt.output_schema is not None:
        text = _schema_text(prompt, prompt.output_schema, salt, invalid=invalid)
        return _text_reply(prompt, text, len(pieces(text)), limit, cut)
    if limit <= 0:
        return Reply([], 0, cut)
    text, tokens, stop = reply_for(prompt.kind, prompt.snippet, salt, limit, as_json=prompt.as_json)
    if not prompt.stop_sequences:  # the common case, kept lean: batch results run through here
        return Reply(
            [{"type": "text", "text": text}], tokens, cut if stop == "max_tokens" else stop, sources=[text]
        )
    return _text_reply(prompt, text, tokens, limit, cut)


def _room(prompt: Prompt) -> tuple[int, str]:
    """How many tokens the reply may have, and the stop reason when it needs more."""
    window = _window(prompt.model)
    room = window - prompt.input_tokens if window else prompt.max_tokens
    if prompt.max_tokens <= room:
        return prompt.max_tokens, "max_tokens"
    return max(room, 0), "model_context_window_exceeded"


@lru_cache(maxsize=64)
def _window(model: str) -> int:
    spec = lookup_model(model)
    return spec.max_input_tokens if spec is not None else 0


def _text_reply(prompt: Prompt, text: str, tokens: int, limit: int, cut: str) -> Reply:
    """A text reply cut at a stop sequence, else at `limit`."""
    stop_reason = "end_turn"
    if tokens > limit:
        text, tokens, stop_reason = "".join(pieces(text)[:limit]), limit, cut
    stop, at = _first_stop(text, prompt.stop_sequences)
    if stop is not None:
        tokens = max(1, len(pieces(text[: at + len(stop)])))
        text, stop_reason = text[:at], "stop_sequence"
    blocks = [{"type": "text", "text": text}] if text else []
    return Reply(
        blocks, max(tokens, 1) if blocks else tokens, stop_reason, stop, sources=[text] if text else []
    )


def _first_stop(text: str, stops: tuple[str, ...]) -> tuple[str | None, int]:
    """The stop sequence the text reaches first (ends earliest), and where it starts."""
    best: tuple[int, int, str] | None = None
    for stop in stops:
        at = text.find(stop)
        if at >= 0 and (best is None or (at + len(stop), at) < best[:2]):
            best = (at + len(stop), at, stop)
    return (best[2], best[1]) if best is not None else (None, -1)


def _words(prompt: Prompt) -> tuple[str, ...]:
    return keywords(prompt.snippet) or ("request", "details", "context")


def _schema_text(prompt: Prompt, schema: dict[str, Any], salt: int, *, invalid: bool) -> str:
    rng = random.Random(salt ^ 0x5EED)
    try:
        value = generate(schema, salt, _words(prompt))
    except SchemaError:
        value = {}
    text = orjson.dumps(value).decode()
    if not invalid:
        return text
    broken = break_value(value, schema, rng) if rng.random() < 0.6 else None
    if broken is not None:
        return orjson.dumps(broken).decode()
    return text[: max(1, len(text) * 2 // 3)]  # does not parse


def _choose_tool(prompt: Prompt, salt: int) -> ToolSpec | None:
    callable_tools = [tool for tool in prompt.tools if tool.schema is not None]
    if not callable_tools or prompt.tool_choice == "none":
        return None
    if prompt.tool_choice == "tool":
        return next((tool for tool in callable_tools if tool.name == prompt.forced_tool), None)
    lowered = prompt.snippet.lower()
    named = [
        tool
        for tool in callable_tools
        if any(
            len(part) > 3 and part in lowered for part in (tool.name.lower(), *tool.name.lower().split("_"))
        )
    ]
    if prompt.tool_choice == "any":
        return named[0] if named else callable_tools[salt % len(callable_tools)]
    if prompt.after_tool_result:
        return None  # auto, with the tools' results in hand: the model answers in text
    if named:
        return named[0]
    if unit_hash(salt, "tool") < AUTO_TOOL_SHARE:
        return callable_tools[salt % len(callable_tools)]
    return None


def _tool_reply(prompt: Prompt, tool: ToolSpec, salt: int, limit: int, cut: str, *, invalid: bool) -> Reply:
    assert tool.schema is not None
    blocks: list[dict[str, Any]] = []
    sources: list[str] = []
    used = 0
    if prompt.tool_choice == "auto" and unit_hash(salt, "preamble") < 0.5:
        words = _words(prompt)
        preamble = f"I'll use {tool.name} to look into {words[salt % len(words)]}."
        preamble_pieces = pieces(preamble)[:limit]
        preamble = "".join(preamble_pieces)
        used = len(preamble_pieces)
        blocks.append({"type": "text", "text": preamble})
        sources.append(preamble)
    try:
        value = generate(tool.schema, salt, _words(prompt))
    except SchemaError:
        value = {}
    if invalid and prompt.tool_choice in ("any", "tool"):
        broken = break_value(value, tool.schema, random.Random(salt ^ 0x5EED))
        if isinstance(broken, dict):  # a tool input is always an object on the wire
            value = broken
    raw = orjson.dumps(value).decode()
    raw_pieces = pieces(raw)
    stop_reason = "tool_use"
    if used + len(raw_pieces) > limit:
        raw = "".join(raw_pieces[: max(limit - used, 0)])
        value = close_partial(raw)
        stop_reason = cut
    tokens = used + len(pieces(raw))
    tool_id = base62_id("toolu_", salt, tool.name, length=24)
    if limit - used > 0:
        blocks.append({"type": "tool_use", "id": tool_id, "name": tool.name, "input": value})
        sources.append(raw)
    return Reply(blocks, tokens, stop_reason, sources=sources)


def _refusal(prompt: Prompt, salt: int, limit: int) -> Reply:
    """A refusal as streaming classifiers give it: the first words of an answer, then stop_reason refusal."""
    text, _tokens, _stop = reply_for(prompt.kind, prompt.snippet, salt, max(limit, 1), as_json=prompt.as_json)
    kept = pieces(text)[: min(max(limit, 0), 2 + salt % 10)]
    text = "".join(kept)
    blocks = [{"type": "text", "text": text}] if text else []
    return Reply(
        blocks, len(kept), "refusal", stop_details=dict(REFUSAL_DETAILS), sources=[text] if text else []
    )


def close_partial(raw: str) -> dict[str, Any]:
    """The object a cut-off JSON text holds so far, as the SDK's partial parser reads a truncated tool
    input: complete members kept; an unfinished string, literal or member dropped; numbers as far as read."""
    try:
        value = _Partial(raw).value()
    except _Incomplete:
        return {}
    return value if isinstance(value, dict) else {}


class _Incomplete(Exception):
    pass


class _Partial:
    """A JSON reader that stops quietly at the end of a cut-off text."""

    _NUMBER = frozenset("0123456789+-.eE")

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def peek(self) -> str:
        while self.at < len(self.text) and self.text[self.at] in " \t\r\n":
            self.at += 1
        if self.at >= len(self.text):
            raise _Incomplete
        return self.text[self.at]

    def value(self) -> Any:
        char = self.peek()
        if char == "{":
            return self.container("}")
        if char == "[":
            return self.container("]")
        if char == '"':
            return self.string()
        start = self.at
        while self.at < len(self.text) and (
            self.text[self.at] in self._NUMBER or self.text[self.at].isalpha()
        ):
            self.at += 1
        token = self.text[start : self.at]
        literals = {"true": True, "false": False, "null": None}
        if token in literals:
            return literals[token]
        try:
            return orjson.loads(token)
        except orjson.JSONDecodeError:
            raise _Incomplete from None

    def string(self) -> str:
        end = self.at + 1
        while end < len(self.text):
            if self.text[end] == "\\":
                end += 2
                continue
            if self.text[end] == '"':
                value = orjson.loads(self.text[self.at : end + 1])
                self.at = end + 1
                return value
            end += 1
        raise _Incomplete

    def container(self, closer: str) -> Any:
        self.at += 1
        result: Any = {} if closer == "}" else []
        try:
            if self.peek() == closer:
                self.at += 1
                return result
            while True:
                if closer == "}":
                    key = self.string()
                    if self.peek() != ":":
                        raise _Incomplete
                    self.at += 1
                    item = self.value()
                    result[key] = item
                else:
                    result.append(self.value())
                char = self.peek()
                self.at += 1
                if char == closer:
                    return result
        except _Incomplete:
            return result
