"""What makes one batch request valid: the thorough checks, which name every problem (line, field, what
to do), and the per-model tallies the estimate needs. `validate.validate_file` runs them on the lines its
fast path does not take, and on whatever is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from batchboard.core.gateway.client import API_VERSION
from batchboard.core.model_limits import model_limits
from batchboard.core.pricing import known_models
from batchboard.core.submit.jsonl import (
    CHARS_PER_TOKEN,
    CUSTOM_ID_RE,
    Limits,
    ModelTally,
    Problem,
    Report,
    Severity,
    cache_rank,
    serialized_size,
)

if TYPE_CHECKING:
    from batchboard.core.config import Settings

_BAD_ID_CHAR = re.compile(r"[^a-zA-Z0-9_-]")

#: Models the installed SDK (anthropic 2.10.0, `types/model_param.py`) names; a test keeps this in step.
SDK_MODELS = frozenset(
    {
        "claude-fable-5-2",
        "claude-mythos-5-2",
        "claude-haiku-5-5",
        "claude-sonnet-5-5",
        "claude-fable-5-1",
        "claude-opus-5-5",
        "claude-mythos-5-1",
        "claude-sonnet-5",
        "claude-fable-5",
        "claude-mythos-5",
        "claude-opus-5",
        "claude-opus-4-8",
        "claude-opus-4-7",
        "claude-mythos-preview",
        "claude-opus-4-6",
        "claude-sonnet-4-6",
        "claude-haiku-4-5",
        "claude-haiku-4-5-20251001",
        "claude-opus-4-5",
        "claude-opus-4-5-20251101",
        "claude-sonnet-4-5",
        "claude-sonnet-4-5-20250929",
    }
)


def accepted_models(settings: Settings) -> frozenset[str]:
    """The model names a submission may use: the SDK's, the bundled price table's, and the user's own
    priced models (a newer model is accepted once it has a price in the config file)."""
    return SDK_MODELS | frozenset(known_models()) | frozenset(settings.prices)


#: Parameters the API version the SDK sends refuses, even at their defaults: the batch's requests would all
#: come back errored (`temperature: Extra inputs are not permitted`). Sources: the 2026-10-21 migration guide
#: (platform.claude.com/docs/en/api/migration-2026-10-21) and the service's answer quoted in
#: qiita.com/Synthorai/items/01a0067e88747257a4e6 (2026-10), as in the README's "API versions".
REFUSED_PARAMS = frozenset({"temperature", "top_p", "top_k"})

#: Parameters of `MessageCreateParamsNonStreaming` in anthropic 2.10.0; a test keeps this in step.
#: (There is no temperature, top_p or top_k in this API version: see REFUSED_PARAMS.)
KNOWN_PARAMS = frozenset(
    {
        "max_tokens",
        "messages",
        "model",
        "cache_control",
        "container",
        "diagnostics",
        "inference_geo",
        "metadata",
        "output_config",
        "service_tier",
        "speed",
        "stop_sequences",
        "system",
        "thinking",
        "tool_choice",
        "tools",
        "user_profile_id",
        "workspace_id",
        "stream",
    }
)
ROLES = ("user", "assistant", "system")
SERVICE_TIERS = ("auto", "standard_only")
SPEEDS = ("standard", "fast")
_OBJECT_PARAMS = ("metadata", "output_config", "thinking", "tool_choice")
_OPTIONAL_OBJECT_PARAMS = ("cache_control", "diagnostics")
_OPTIONAL_STRING_PARAMS = ("inference_geo",)
_STRING_PARAMS = ("user_profile_id", "workspace_id")

MISSING_MODEL = ("a model name", ', for example "claude-sonnet-5-5"')
MISSING_MAX_TOKENS = ("a positive integer", ": the most tokens the model may write in its answer")
MISSING_MESSAGES = ("a non-empty array of messages", ', for example [{"role": "user", "content": "Hello"}]')
LINE_SHAPE = 'each line must be one JSON object: {"custom_id": "...", "params": {...}}'


def describe(value: Any) -> str:
    """How a bad value appears in a message: short JSON for scalars, the type's name for containers."""
    if isinstance(value, dict):
        return "an object" if value else "an empty object"
    if isinstance(value, list):
        return "an array" if value else "an empty array"
    text = orjson.dumps(value).decode()
    return text if len(text) <= 40 else text[:37] + '..."'


def _quote(text: str) -> str:
    return describe(text)


def _expected(what: str, obj: dict[str, Any], key: str) -> str:
    return f"expected {what}, got {describe(obj[key])}" if key in obj else f"missing; expected {what}"


class Validator:
    """The thorough checks, which name every problem; `validate_file` runs them on lines its fast path
    does not take, and on whatever is wrong."""

    def __init__(
        self, report: Report, limits: Limits, known_models: Collection[str], *, model_limits: bool = True
    ) -> None:
        self.report = report
        self.limits = limits
        self.known_models = known_models
        #: Check max_tokens and the prompt's size against each model's limits (`model_limits.toml`).
        self.check_model_limits = model_limits
        #: Characters of media blocks (images, PDFs) in the request being checked: counted by the cost
        #: estimate at their JSON size, but not prompt text for the context window.
        self.media_chars = 0
        #: The tallies of the known models used so far (`report.models` also has the unknown ones).
        self.by_model: dict[str, ModelTally] = {}
        #: For the same models: (largest max_tokens, most prompt characters) a request may have, for the
        #: fast path of `validate_file` to leave for the thorough check beyond.
        self.bounds: dict[str, tuple[int, int]] = {}
        self.seen: dict[str, int] = {}
        self.unknown_models_warned: set[str] = set()
        self.line = 0
        self.blank_total = 0
        self.skipped = 0  # lines too long to read
        # The latest run of blank lines, [run_start, run_end]; `pending` until it is reported, which is
        # when the run is over and another problem comes (so problems stay in line order) or at the end.
        self.run_start = self.run_end = -1
        self.pending = False

    def problem(self, field_name: str | None, message: str, severity: Severity = "error") -> None:
        if self.pending:
            self.end_blank_run()
        self.report.add(Problem(self.report.file, self.line, field_name, message, severity))

    def blank(self, line: int) -> None:
        if self.pending and self.run_end + 1 == line:
            self.run_end = line
        else:
            self.end_blank_run()
            self.run_start = self.run_end = line
            self.pending = True
        self.blank_total += 1

    def end_blank_run(self) -> None:
        if not self.pending:
            return
        self.pending = False
        first, count = self.run_start, self.run_end - self.run_start + 1
        message = (
            "blank line, skipped" if count == 1 else f"{count} blank lines (to line {self.run_end}), skipped"
        )
        self.report.add(Problem(self.report.file, first, None, message, "warning"))

    def last_request_before(self, line: int) -> int:
        """The last line before `line` that is not blank."""
        return self.run_start - 1 if line - 1 == self.run_end else line - 1

    def slow_line(self, line: int, raw: bytes, offset: int, readline: Callable[[int], bytes]) -> int:
        """Everything about one line the fast path did not take: too long to read, blank, a byte order
        mark, not JSON, the thorough check. Returns what the request adds to a chunk (its size and a
        comma), or 0 when it is not to be sent."""
        self.line = line
        length = len(raw)
        if length > self.limits.max_request_bytes + 1_024 and raw[-1] != 10:  # 10 is b"\n"
            while piece := readline(1 << 20):  # too long to hold: skip it in pieces
                length += len(piece)
                if piece[-1] == 10:
                    break
            self.skipped += 1
            self.too_big(length, "this line is")
            return 0
        if raw.isspace():
            self.blank(line)
            return 0
        if line == 1 and raw.startswith(b"\xef\xbb\xbf"):
            self.problem(None, "the file starts with a UTF-8 byte order mark, which is ignored", "warning")
            raw = raw[3:]
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            self.not_json(raw, error, offset)
            return 0
        size = self.check_line(obj)
        return size + 1 if size >= 0 else 0

    # ------------------------------------------------------------------------------------------- lines

    def not_json(self, raw: bytes, error: orjson.JSONDecodeError, offset: int) -> None:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            byte = raw[bad.start]
            self.problem(
                None,
                f"not valid UTF-8: byte 0x{byte:02x} at byte {bad.start + 1} of the line "
                f"(byte offset {offset + bad.start} in the file); save the file as UTF-8",
            )
            return
        detail = str(error)
        reason = detail.rsplit(": line", 1)[0]
        match = re.search(r"\(char (\d+)\)", detail)
        where = ""
        if match:
            # orjson counts characters of the whole line with its newline: a truncated line errs past its end.
            position = int(match.group(1))
            text = raw.decode("utf-8").rstrip("\r\n")
            where = " at the end of the line" if position >= len(text) else f" at column {position + 1}"
        self.problem(None, f"not valid JSON ({reason}{where}); {LINE_SHAPE}")

    def check_line(self, obj: Any) -> int:
        """The thorough check of one parsed line, which names every problem it finds.

        Returns the request's serialized size if it can be sent, else -1."""
        if type(obj) is not dict:
            self.problem(None, f"expected a JSON object, got {describe(obj)}; {LINE_SHAPE}")
            return -1
        custom_id = obj.get("custom_id")
        params = obj.get("params")
        if len(obj) != 2 or custom_id is None or params is None:
            self.check_envelope(obj)
        ok = self.check_custom_id(custom_id)
        if params is not None:
            if type(params) is dict:
                ok = self.check_params(params) and ok
            else:
                self.problem(
                    "params", f"expected an object of Messages API parameters, got {describe(params)}"
                )
                ok = False
        if not ok:
            return -1
        size = serialized_size(obj)
        if size > self.limits.max_request_bytes:
            self.too_big(size)
            return -1
        return size

    def too_big(self, size: int, what: str = "this request is") -> None:
        self.problem(
            None,
            f"{what} {size:,} bytes, over the {self.limits.max_request_bytes:,} bytes that fit in one "
            "batch; split its content across several requests",
        )

    def check_envelope(self, obj: dict[str, Any]) -> None:
        if "custom_id" not in obj:
            self.problem("custom_id", 'missing; every line needs a unique "custom_id" to match its result')
        elif obj["custom_id"] is None:
            self.problem("custom_id", "expected a string, got null")
        if "params" not in obj:
            self.problem("params", 'missing; put the Messages API request body under "params"')
        elif obj["params"] is None:
            self.problem("params", "expected an object of Messages API parameters, got null")
        for key in obj:
            if key not in ("custom_id", "params"):
                self.problem(
                    _quote(key),
                    'unexpected field; a line has only "custom_id" and "params" '
                    '(move request fields into "params")',
                )

    def check_custom_id(self, custom_id: Any) -> bool:
        if custom_id is None:
            return False
        if type(custom_id) is not str:
            self.problem("custom_id", f"expected a string, got {describe(custom_id)}")
            return False
        if CUSTOM_ID_RE.fullmatch(custom_id) is None:
            if not custom_id:
                why = "is empty"
            elif len(custom_id) > 64:
                why = f"is {len(custom_id)} characters long (at most 64)"
            else:
                bad = sorted(set(_BAD_ID_CHAR.findall(custom_id)))
                why = "contains " + ", ".join(_quote(c) for c in bad[:5])
            self.problem(
                "custom_id",
                f"{_quote(custom_id)} {why}; use 1-64 letters, digits, '_' or '-'",
            )
            return False
        first = self.seen.get(custom_id)
        if first is not None and first != self.line:  # (the fast path may have seen it on this line)
            self.problem(
                "custom_id",
                f"duplicate {_quote(custom_id)}, first used on line {first}; custom_ids must be unique",
            )
            return False
        self.seen[custom_id] = self.line
        return True

    # ------------------------------------------------------------------------------------------ params

    def check_params(self, params: dict[str, Any]) -> bool:
        errors_before = self.report.errors
        self.media_chars = 0
        model = params.get("model")
        max_tokens = params.get("max_tokens")
        messages = params.get("messages")

        if model is None:
            self.problem("params.model", self._missing_or_null(params, "model", MISSING_MODEL))
        elif type(model) is not str or not model:
            self.problem("params.model", f"expected a model name, got {describe(model)}")
            model = None
        elif model not in self.known_models and model not in self.unknown_models_warned:
            # Once per model: a typo repeated on every line is one thing to fix.
            self.unknown_models_warned.add(model)
            self.problem(
                "params.model",
                f"unknown model {_quote(model)} (not in this version's model list; reported once per "
                "model): check the spelling, or ignore this if the model is newer than batchboard",
                "warning",
            )

        if max_tokens is None:
            self.problem("params.max_tokens", self._missing_or_null(params, "max_tokens", MISSING_MAX_TOKENS))
        elif type(max_tokens) is not int or max_tokens < 1:
            self.problem("params.max_tokens", f"expected a positive integer, got {describe(max_tokens)}")
            max_tokens = None

        text_chars = 0
        prefix_chars = 0
        rank_in_messages = 0  # cache breakpoints: 0 none, 1 five-minute, 2 one-hour (the dearest wins)
        if messages is None:
            self.problem("params.messages", self._missing_or_null(params, "messages", MISSING_MESSAGES))
        elif type(messages) is not list or not messages:
            self.problem(
                "params.messages", f"expected a non-empty array of messages, got {describe(messages)}"
            )
        else:
            for index, message in enumerate(messages):
                chars, rank = self.check_message(message, index)
                text_chars += chars
                if rank:
                    rank_in_messages = max(rank_in_messages, rank)
                    prefix_chars = text_chars

        # Tools and system come before the messages: a cache breakpoint anywhere includes them, and a
        # top-level cache_control (automatic caching) covers the whole prompt.
        head_chars, rank_in_head = self.check_optional(params) if len(params) > 3 else (0, 0)
        top = cache_rank(params.get("cache_control"))
        if top:
            prefix_chars = head_chars + text_chars
        elif rank_in_messages:
            prefix_chars += head_chars
        elif rank_in_head:
            prefix_chars = head_chars
        rank = max(top, rank_in_messages, rank_in_head)
        text_chars += head_chars

        if self.report.errors == errors_before and self.check_model_limits:
            assert model is not None and max_tokens is not None
            self.check_against_model(model, max_tokens, text_chars - self.media_chars)
        if self.report.errors != errors_before:
            return False
        assert model is not None and max_tokens is not None
        tally = self.report.models.get(model)
        if tally is None:
            tally = self.report.models[model] = ModelTally()
            if model in self.known_models:
                self.by_model[model] = tally
                self.bounds[model] = self.fast_bounds(model)
        tally.requests += 1
        tally.max_tokens += max_tokens
        tally.text_chars += text_chars
        if rank:
            tally.cached_requests += 1
            tally.cached_prefix_chars += prefix_chars
            if rank == 2:
                tally.cached_1h_requests += 1
                tally.cached_1h_prefix_chars += prefix_chars
        return True

    def fast_bounds(self, model: str) -> tuple[int, int]:
        """(largest max_tokens, most prompt characters) that pass `check_against_model` for `model`."""
        limits = model_limits(model) if self.check_model_limits else None
        if limits is None:
            return (1 << 62, 1 << 62)
        return limits.max_output_tokens, limits.context_window * int(CHARS_PER_TOKEN)

    def check_against_model(self, model: str, max_tokens: int, prompt_chars: int) -> None:
        """max_tokens within the model's output limit, and the prompt (estimated from its characters, as
        the offline estimate does) within its context window; a model with no known limits passes."""
        limits = model_limits(model)
        if limits is None:
            return
        if max_tokens > limits.max_output_tokens:
            self.problem(
                "params.max_tokens",
                f"{max_tokens:,} is above {model}'s output limit of {limits.max_output_tokens:,} tokens; "
                f"the request would come back errored: lower it to at most {limits.max_output_tokens:,}",
            )
        estimated = -(-prompt_chars // int(CHARS_PER_TOKEN))  # rounded up
        if estimated > limits.context_window:
            self.problem(
                "params.messages",
                f"the prompt is about {estimated:,} tokens ({prompt_chars:,} characters at about "
                f"{CHARS_PER_TOKEN:g} a token), over {model}'s context window of {limits.context_window:,} "
                "tokens; the request would come back errored: shorten it or split it across requests",
            )

    @staticmethod
    def _missing_or_null(params: dict[str, Any], key: str, expected: tuple[str, str]) -> str:
        what, hint = expected
        return f"expected {what}, got null" if key in params else f"missing; every request needs {what}{hint}"

    def check_message(self, message: Any, index: int) -> tuple[int, int]:
        """Validate one message; returns (text characters, its cache breakpoint rank, see `cache_rank`)."""
        where = f"params.messages[{index}]"
        if type(message) is not dict:
            self.problem(
                where, f'expected an object {{"role": ..., "content": ...}}, got {describe(message)}'
            )
            return 0, 0
        role = message.get("role")
        if role not in ROLES:
            self.problem(f"{where}.role", _expected('"user", "assistant" or "system"', message, "role"))
        content = message.get("content")
        if type(content) is str:
            return len(content), 0
        if content is None:
            self.problem(f"{where}.content", "missing; a message needs text or an array of content blocks")
            return 0, 0
        if type(content) is not list:
            self.problem(
                f"{where}.content",
                f"expected a string or an array of content blocks, got {describe(content)}",
            )
            return 0, 0
        return self.check_blocks(content, f"{where}.content")

    def check_blocks(self, blocks: list[Any], where: str) -> tuple[int, int]:
        """Returns (characters, cache breakpoint rank: 0 none, 1 five-minute, 2 one-hour)."""
        chars = 0
        marked = 0
        for index, block in enumerate(blocks):
            if type(block) is not dict:
                self.problem(
                    f"{where}[{index}]", f'expected a content block {{"type": ...}}, got {describe(block)}'
                )
                continue
            kind = block.get("type")
            if type(kind) is not str:
                self.problem(
                    f"{where}[{index}].type", _expected('a block type such as "text"', block, "type")
                )
                continue
            if kind == "text":
                text = block.get("text")
                if type(text) is not str:
                    self.problem(f"{where}[{index}].text", _expected("a string", block, "text"))
                else:
                    chars += len(text)
            else:
                # Images, documents and tool blocks: their size is what they cost, roughly.
                size = len(orjson.dumps(block))
                chars += size
                if _is_media(block):
                    self.media_chars += size
            marked = max(marked, cache_rank(block.get("cache_control")))
        return chars, marked

    def check_optional(self, params: dict[str, Any]) -> tuple[int, int]:
        """Check the optional parameters; returns (text characters before the messages, cache rank)."""
        chars = 0
        marked = 0
        for key, value in params.items():
            if key in ("model", "max_tokens", "messages"):
                continue
            name = f"params.{key}"
            if key in REFUSED_PARAMS:
                self.problem(
                    name,
                    f"not accepted under API version {API_VERSION}, which this SDK sends (the service "
                    f'answers "{key}: Extra inputs are not permitted", even at its default): remove it',
                )
            elif key not in KNOWN_PARAMS:
                self.problem(
                    name,
                    "not a Messages API parameter in this version; the request would come back errored "
                    "(invalid_request_error): remove it",
                    "warning",
                )
            elif key == "stream":
                if value is True:
                    self.problem(name, 'batches cannot stream; remove "stream" or set it to false')
                elif value is not False:
                    self.problem(name, f"expected false, got {describe(value)}")
            elif key == "system":
                if type(value) is str:
                    chars += len(value)
                elif type(value) is list:
                    block_chars, block_marked = self.check_blocks(value, name)
                    chars += block_chars
                    marked = max(marked, block_marked)
                else:
                    self.problem(name, f"expected a string or an array of text blocks, got {describe(value)}")
            elif key == "tools":
                if type(value) is not list:
                    self.problem(name, f"expected an array of tool definitions, got {describe(value)}")
                else:
                    for index, tool in enumerate(value):
                        if type(tool) is not dict:
                            self.problem(
                                f"{name}[{index}]", f"expected a tool definition object, got {describe(tool)}"
                            )
                        else:
                            chars += len(orjson.dumps(tool))
                            marked = max(marked, cache_rank(tool.get("cache_control")))
            elif key == "stop_sequences":
                if type(value) is not list or any(type(item) is not str for item in value):
                    self.problem(name, f"expected an array of strings, got {describe(value)}")
            elif key == "service_tier":
                if value not in SERVICE_TIERS:
                    self.problem(name, f'expected "auto" or "standard_only", got {describe(value)}')
            elif key == "speed":
                if value is not None and value not in SPEEDS:
                    self.problem(name, f'expected "standard" or "fast", got {describe(value)}')
            elif key in _OBJECT_PARAMS:
                if type(value) is not dict:
                    self.problem(name, f"expected an object, got {describe(value)}")
                elif key in ("thinking", "tool_choice") and type(value.get("type")) is not str:
                    self.problem(f"{name}.type", f"expected a string, got {describe(value.get('type'))}")
            elif key in _OPTIONAL_OBJECT_PARAMS:
                if value is not None and type(value) is not dict:
                    self.problem(name, f"expected an object or null, got {describe(value)}")
            elif key in _OPTIONAL_STRING_PARAMS:
                if value is not None and type(value) is not str:
                    self.problem(name, f"expected a string or null, got {describe(value)}")
            elif key in _STRING_PARAMS and type(value) is not str:
                self.problem(name, f"expected a string, got {describe(value)}")
        return chars, marked


def _is_media(block: dict[str, Any]) -> bool:
    """An image, or a document that is not plain text: not counted as prompt text (its tokens are not its
    size in JSON)."""
    kind = block.get("type")
    if kind == "image":
        return True
    source = block.get("source")
    return kind == "document" and not (isinstance(source, dict) and source.get("type") == "text")


def tally_params(params_list: Iterable[dict[str, Any]]) -> dict[str, ModelTally]:
    """Per-model tallies (as `validate_file` gathers them) for requests that are already known good,
    for example the stored requests of a retry."""
    report = Report(file="", path=Path())
    checker = Validator(report, Limits(), known_models=(), model_limits=False)
    for params in params_list:
        checker.check_params(params)
    return report.models


def text_chars(params: dict[str, Any]) -> tuple[int, int]:
    """(characters the estimate counts, of which in the cached prefix) for one request's params."""
    tally = next(iter(tally_params([params]).values()), None)
    return (tally.text_chars, tally.cached_prefix_chars) if tally else (0, 0)
