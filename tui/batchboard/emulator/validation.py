"""Validation of Messages API parameters, with the real API's wording, reduced to a compact `Prompt`.

Batch create runs it per request (a failure becomes an `errored` result), `POST /v1/messages` runs it up
front (a failure is a 400). Only what the emulator needs to answer is kept, so 100,000 requests stay small.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import orjson

from batchboard.emulator.catalog import MIN_CACHEABLE_TOKENS, resolve_model
from batchboard.emulator.conversation import (
    REFUSAL_TEST_STRING,
    ParamError,
    ToolSpec,
    TurnChecker,
    parse_output_config,
    parse_tool_choice,
    parse_tools,
)
from batchboard.emulator.schema import is_int, is_number
from batchboard.emulator.text import detect_kind
from batchboard.emulator.versions import LATEST, removed_params

__all__ = ["KNOWN_PARAMS", "ParamError", "Prompt", "UnknownModel", "validate_params"]

SNIPPET_CHARS = 240
IMAGE_TOKENS = 1600
DOCUMENT_TOKENS = 2400
MESSAGE_OVERHEAD_TOKENS = 3

KNOWN_PARAMS = frozenset(
    {
        "model",
        "max_tokens",
        "messages",
        "cache_control",
        "container",
        "context_management",
        "diagnostics",
        "inference_geo",
        "mcp_servers",
        "metadata",
        "output_config",
        "service_tier",
        "speed",
        "stop_sequences",
        "stream",
        "system",
        "temperature",
        "thinking",
        "tool_choice",
        "tools",
        "top_k",
        "top_p",
        "user_profile_id",
    }
)


class UnknownModel(ParamError):
    """A model the API does not serve: 404 not_found_error on a direct call, an invalid_request_error result
    in a batch."""


@dataclass(slots=True)
class Prompt:
    """What a valid request contributes to its answer and its usage."""

    model: str
    max_tokens: int
    snippet: str
    kind: str
    input_tokens: int
    cache_5m: int = 0
    cache_1h: int = 0
    cache_key: str | None = None
    as_json: bool = False
    """The prompt asks for JSON in words (no schema): the reply is a JSON object."""
    output_schema: dict[str, Any] | None = None
    """`output_config.format`'s schema: the reply text is JSON that validates against it."""
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: str = "auto"
    forced_tool: str | None = None
    stop_sequences: tuple[str, ...] = ()
    after_tool_result: bool = False
    """The last turn answers tool calls with tool_result blocks."""
    refuse: bool = False
    """The prompt carries the documented refusal test string."""
    plain: bool = False
    """A text answer with nothing to honour beyond max_tokens (no tools, schema, stop sequences, refusal)
    and room for it in the context window: the fast path of batch results."""

    @property
    def cached_tokens(self) -> int:
        return self.cache_5m + self.cache_1h


def _check_range(name: str, value: object, low: float, high: float | None) -> None:
    if not is_number(value):
        raise ParamError(f"{name}: Input should be a valid number")
    assert isinstance(value, int | float)
    if value < low:
        raise ParamError(f"{name}: Input should be greater than or equal to {low:g}")
    if high is not None and value > high:
        raise ParamError(f"{name}: Input should be less than or equal to {high:g}")


def _cache_ttl(path: str, block: dict[str, Any]) -> str | None:
    control = block.get("cache_control")
    if control is None:
        return None
    if not isinstance(control, dict) or control.get("type") != "ephemeral":
        raise ParamError(f"{path}.cache_control.type: Input should be 'ephemeral'")
    ttl = control.get("ttl", "5m")
    if ttl not in ("5m", "1h"):
        raise ParamError(f"{path}.cache_control.ttl: Input should be '5m' or '1h'")
    return str(ttl)


class _Walker:
    """Accumulates the prompt's size in order (tools, system, messages) and its cache breakpoints."""

    def __init__(self) -> None:
        self.chars = 0
        self.extra_tokens = 0
        self.breakpoints: list[tuple[int, str]] = []
        self.digest = hashlib.blake2b(digest_size=16)
        self.cached_digest: str | None = None

    @property
    def tokens(self) -> int:
        return math.ceil(self.chars / 4) + self.extra_tokens

    def add(self, unit: object, chars: int = 0, tokens: int = 0, ttl: str | None = None) -> None:
        self.chars += chars
        self.extra_tokens += tokens
        self.digest.update(orjson.dumps(unit, option=orjson.OPT_SORT_KEYS))
        if ttl is not None:
            self.mark(ttl)

    def mark(self, ttl: str) -> None:
        self.breakpoints.append((self.tokens, ttl))
        self.cached_digest = self.digest.copy().hexdigest()


def _walk_block(walker: _Walker, path: str, block: object) -> str:
    """Add one content block; returns its text (for the snippet) if it is a text block."""
    if not isinstance(block, dict):
        raise ParamError(f"{path}: Input should be a valid dictionary or object to extract fields from")
    kind = block.get("type")
    ttl = _cache_ttl(path, block)
    if kind == "text":
        text = block.get("text")
        if not isinstance(text, str):
            problem = "Field required" if text is None else "Input should be a valid string"
            raise ParamError(f"{path}.text: {problem}")
        if not text:
            raise ParamError("messages: text content blocks must be non-empty")
        walker.add(block, chars=len(text), ttl=ttl)
        return text
    if kind == "image":
        walker.add(block, tokens=IMAGE_TOKENS, ttl=ttl)
    elif kind == "document":
        walker.add(block, tokens=DOCUMENT_TOKENS, ttl=ttl)
    elif isinstance(kind, str):  # tool_use, tool_result, thinking, search_result...: sized by their JSON
        walker.add(block, chars=len(orjson.dumps(block)), ttl=ttl)
    else:
        raise ParamError(f"{path}.type: Field required")
    return ""


def validate_params(params: object, *, in_batch: bool, version: str = LATEST) -> Prompt:
    """Check Messages API parameters like the API does under `version` (the request's anthropic-version,
    or its batch's); raise ParamError naming the first problem."""
    if not isinstance(params, dict):
        raise ParamError("params: Input should be a valid dictionary or object to extract fields from")
    removed = removed_params(version)
    for key in params:
        if key not in KNOWN_PARAMS or key in removed:
            raise ParamError(f"{key}: Extra inputs are not permitted")
    for required in ("model", "max_tokens", "messages"):
        if required not in params:
            raise ParamError(f"{required}: Field required")

    model_name = params["model"]
    if not isinstance(model_name, str):
        raise ParamError("model: Input should be a valid string")
    spec = resolve_model(model_name)
    if spec is None:
        raise UnknownModel(f"model: {model_name}")

    max_tokens = params["max_tokens"]
    if not is_int(max_tokens):
        raise ParamError("max_tokens: Input should be a valid integer")
    if max_tokens < 1:
        raise ParamError("max_tokens: Input should be greater than or equal to 1")
    if max_tokens > spec.max_tokens:
        raise ParamError(
            f"max_tokens: {max_tokens} > {spec.max_tokens}, which is the maximum allowed number of output "
            f"tokens for {model_name}"
        )

    if params.get("stream") and in_batch:
        raise ParamError("stream: streaming is not supported in the Message Batches API")
    if "stream" in params and not isinstance(params["stream"], bool):
        raise ParamError("stream: Input should be a valid boolean")
    if "temperature" in params:
        _check_range("temperature", params["temperature"], 0.0, 1.0)
    if "top_p" in params:
        _check_range("top_p", params["top_p"], 0.0, 1.0)
    if "top_k" in params:
        if not is_int(params["top_k"]):
            raise ParamError("top_k: Input should be a valid integer")
        _check_range("top_k", params["top_k"], 0, None)
    stops = params.get("stop_sequences")
    if stops is not None and (not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)):
        raise ParamError("stop_sequences: Input should be a valid list of strings")
    output_schema, schema_chars = None, 0
    if params.get("output_config") is not None:
        output_schema, schema_chars = parse_output_config(params["output_config"])
    thinking = params.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or isinstance(budget, bool):
            raise ParamError("thinking.enabled.budget_tokens: Field required")
        if budget < 1024:
            raise ParamError("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
        if budget >= max_tokens:
            raise ParamError("`max_tokens` must be greater than `thinking.budget_tokens`")

    walker = _Walker()
    walker.add(model_name)
    tools: tuple[ToolSpec, ...] = ()
    if params.get("tools") is not None:
        tools, tool_json = parse_tools(params["tools"])
        for index, tool in enumerate(tool_json):
            walker.add(tool, chars=len(orjson.dumps(tool)), ttl=_cache_ttl(f"tools.{index}", tool))
    tool_choice, forced_tool = "auto", None
    if params.get("tool_choice") is not None:
        tool_choice, forced_tool = parse_tool_choice(params["tool_choice"], tools)
    if output_schema is not None:  # the format instructions count as prompt, after the tools
        walker.add(output_schema, chars=schema_chars)

    system = params.get("system")
    system_text = ""
    if isinstance(system, str):
        system_text = system
        walker.add(system, chars=len(system))
    elif isinstance(system, list):
        for index, block in enumerate(system):
            if not isinstance(block, dict) or block.get("type") != "text":
                raise ParamError(f"system.{index}.type: Input should be 'text'")
            system_text += _walk_block(walker, f"system.{index}", block)
    elif system is not None:
        raise ParamError("system: Input should be a valid string or a list of text blocks")

    messages = params["messages"]
    if not isinstance(messages, list):
        raise ParamError("messages: Input should be a valid list")
    if not messages:
        raise ParamError("messages: at least one message is required")
    last_user_text = ""
    turns = TurnChecker(version)
    for index, message in enumerate(messages):
        path = f"messages.{index}"
        if not isinstance(message, dict):
            raise ParamError(f"{path}: Input should be a valid dictionary or object to extract fields from")
        role = message.get("role")
        if role is None:
            raise ParamError(f"{path}.role: Field required")
        if role not in ("user", "assistant"):
            raise ParamError(f"{path}.role: Input should be 'user' or 'assistant'")
        if "content" not in message:
            raise ParamError(f"{path}.content: Field required")
        content = message["content"]
        walker.add(role, tokens=MESSAGE_OVERHEAD_TOKENS)
        text = ""
        if isinstance(content, str):
            if not content and not (role == "assistant" and index == len(messages) - 1):
                raise ParamError("messages: text content blocks must be non-empty")
            walker.add(content, chars=len(content))
            text = content
            if role == "assistant" or turns.pending is not None:
                turns.message(index, role, [])
        elif isinstance(content, list):
            if not content:
                raise ParamError(f"{path}.content: List should have at least 1 item after validation, not 0")
            for block_index, block in enumerate(content):
                text += _walk_block(walker, f"{path}.content.{block_index}", block)
            turns.message(index, role, content)
        else:
            raise ParamError(f"{path}.content: Input should be a valid string or a list of content blocks")
        if role == "user" and text:
            if REFUSAL_TEST_STRING in text:
                turns.refuse = True
            last_user_text = text
    if walker.tokens > spec.max_input_tokens:
        raise ParamError(f"prompt is too long: {walker.tokens} tokens > {spec.max_input_tokens} maximum")

    top_level = params.get("cache_control")
    if top_level is not None:
        ttl = _cache_ttl("", {"cache_control": top_level})
        if ttl is not None:
            walker.mark(ttl)

    snippet = last_user_text[:SNIPPET_CHARS]
    wording = system_text[:600] + " " + snippet
    prompt = Prompt(
        model=model_name,
        max_tokens=max_tokens,
        snippet=snippet,
        kind=detect_kind(wording),
        input_tokens=walker.tokens,
        as_json="json" in wording.lower(),
        output_schema=output_schema,
        tools=tools,
        tool_choice=tool_choice,
        forced_tool=forced_tool,
        stop_sequences=tuple(stop for stop in stops if stop) if stops else (),
        after_tool_result=turns.after_tool_result,
        refuse=turns.refuse,
    )
    prompt.plain = not (tools or output_schema or prompt.stop_sequences or prompt.refuse) and (
        max_tokens <= spec.max_input_tokens - walker.tokens
    )
    if walker.breakpoints and walker.breakpoints[-1][0] >= MIN_CACHEABLE_TOKENS:
        previous = 0
        for tokens, ttl in walker.breakpoints:
            segment = max(tokens - previous, 0)
            previous = max(previous, tokens)
            if ttl == "1h":
                prompt.cache_1h += segment
            else:
                prompt.cache_5m += segment
        prompt.cache_key = walker.cached_digest
    return prompt
