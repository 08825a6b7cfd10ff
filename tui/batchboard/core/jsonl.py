"""Streaming validation and chunking of a JSONL submission file (one `{"custom_id", "params"}` per line).

One pass over the file reports every problem at once (line, field, what to do) and, for a clean file, cuts it
into batches that respect both API limits. Memory stays bounded: lines are parsed one at a time and only the
custom_ids are kept, for duplicate detection (checked all at once at the end; a file where that check fails
is checked a second time, line by line, to name each problem in order). Chunks are line ranges with byte
offsets, so the requests are read back from the file one chunk at a time when they are stored or sent.
"""

from __future__ import annotations

import json
import operator
import os
import re
from bisect import bisect_left
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO, Literal

import orjson

MAX_BATCH_REQUESTS = 100_000
#: The API's 256 MB, read as decimal megabytes: the smaller reading is safe whichever the server uses.
MAX_BATCH_BYTES = 256_000_000
#: `{"requests":[` ... `]}` around the requests, with room to spare. Requests are measured as compact orjson,
#: which is exactly how `submit` streams the body it sends.
BODY_OVERHEAD = 4_096

CUSTOM_ID_RE = re.compile(r"[a-zA-Z0-9_-]{1,64}")
SEGMENT_LINES = 4_096
_CUSTOM_ID_CHARS_RE = re.compile(r"[a-zA-Z0-9_\n-]*")  # custom_ids joined by newlines
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

#: Parameters of `MessageCreateParamsNonStreaming` in anthropic 2.10.0; a test keeps this in step.
#: (There is no temperature, top_p or top_k in this API version.)
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

Severity = Literal["error", "warning"]
MISSING_MODEL = ("a model name", ', for example "claude-sonnet-5-5"')
MISSING_MAX_TOKENS = ("a positive integer", ": the most tokens the model may write in its answer")
MISSING_MESSAGES = ("a non-empty array of messages", ', for example [{"role": "user", "content": "Hello"}]')
LINE_SHAPE = 'each line must be one JSON object: {"custom_id": "...", "params": {...}}'


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-batch limits; tests shrink them to exercise chunking without big files."""

    max_requests: int = MAX_BATCH_REQUESTS
    max_bytes: int = MAX_BATCH_BYTES

    @property
    def max_request_bytes(self) -> int:
        """The largest single request that fits in a batch on its own."""
        return self.max_bytes - BODY_OVERHEAD


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (or suspicious) in the file. Values quoted in `message` are JSON-escaped."""

    file: str
    line: int | None
    field: str | None
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        head = f"{where}: warning:" if self.severity == "warning" else f"{where}:"
        return f"{head} {self.field}: {self.message}" if self.field else f"{head} {self.message}"


@dataclass(frozen=True, slots=True)
class Chunk:
    """A run of lines that becomes one batch: lines [first_line, last_line], bytes [start, end)."""

    index: int
    first_line: int
    last_line: int
    start_offset: int
    end_offset: int
    requests: int
    body_bytes: int


@dataclass(slots=True)
class ModelTally:
    """What the estimate needs per model, gathered during validation."""

    requests: int = 0
    max_tokens: int = 0
    text_chars: int = 0
    cached_requests: int = 0
    cached_prefix_chars: int = 0
    cached_1h_requests: int = 0
    """Of the cached requests, those whose breakpoint asks for the 1-hour TTL (dearer to write)."""
    cached_1h_prefix_chars: int = 0


@dataclass
class Report:
    """The result of validating one file: problems (capped), counts, chunks and per-model tallies."""

    file: str
    path: Path
    requests: int = 0
    lines: int = 0
    bytes: int = 0
    problems: list[Problem] = field(default_factory=list)
    errors: int = 0
    warnings: int = 0
    chunks: list[Chunk] = field(default_factory=list)
    models: dict[str, ModelTally] = field(default_factory=dict)
    max_problems: int = 1_000

    @property
    def ok(self) -> bool:
        """True when nothing blocks sending (warnings allowed)."""
        return self.errors == 0

    @property
    def omitted(self) -> int:
        """Problems counted but not kept (beyond `max_problems`)."""
        return self.errors + self.warnings - len(self.problems)

    def add(self, problem: Problem) -> None:
        if problem.severity == "error":
            self.errors += 1
        else:
            self.warnings += 1
        if len(self.problems) < self.max_problems:
            self.problems.append(problem)


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


def cache_rank(control: Any) -> int:
    """0 for no cache breakpoint, 1 for the five-minute TTL (the default), 2 for the one-hour TTL."""
    if not control:
        return 0
    return 2 if isinstance(control, dict) and control.get("ttl") == "1h" else 1


def _expected(what: str, obj: dict[str, Any], key: str) -> str:
    return f"expected {what}, got {describe(obj[key])}" if key in obj else f"missing; expected {what}"


def serialized_size(request: Any) -> int:
    """Bytes of `request` in the body the SDK sends (compact JSON, UTF-8, non-ASCII unescaped)."""
    try:
        return len(orjson.dumps(request))
    except orjson.JSONEncodeError:  # integers beyond 64 bits, which the SDK's json.dumps still writes
        return len(json.dumps(request, ensure_ascii=False, separators=(",", ":")).encode())


class _Validator:
    """The thorough checks, which name every problem; `validate_file` runs them on lines its fast path
    does not take, and on whatever is wrong."""

    def __init__(self, report: Report, limits: Limits, known_models: Collection[str]) -> None:
        self.report = report
        self.limits = limits
        self.known_models = known_models
        #: The tallies of the known models used so far (`report.models` also has the unknown ones).
        self.by_model: dict[str, ModelTally] = {}
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

        if self.report.errors != errors_before:
            return False
        assert model is not None and max_tokens is not None
        tally = self.report.models.get(model)
        if tally is None:
            tally = self.report.models[model] = ModelTally()
            if model in self.known_models:
                self.by_model[model] = tally
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
                chars += len(orjson.dumps(block))
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
            if key not in KNOWN_PARAMS:
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


def validate_file(
    path: Path | str,
    *,
    display_name: str | None = None,
    limits: Limits | None = None,
    known_models: Collection[str] = SDK_MODELS,
    max_problems: int = 1_000,
) -> Report:
    """Validate `path` in one streamed pass and, if it is clean, cut it into chunks (see `Report`)."""
    path = Path(path)
    limits = limits or Limits()
    file = display_name or str(path)
    # Optimistic first: the fast path leaves checking the custom_ids it takes to one regex over all of
    # them at the end. If one of them is wrong, the file is checked again with every custom_id checked
    # on its line, so that the problems are reported in line order as always.
    report = _scan(path, Report(file, path, max_problems=max_problems), limits, known_models, strict=False)
    if report is None:
        report = _scan(path, Report(file, path, max_problems=max_problems), limits, known_models, strict=True)
        assert report is not None
    return report


def _joined_custom_ids(ids: list[str]) -> str | None:
    """`ids` joined by newlines if each is a string of the characters allowed in a custom_id, else None."""
    try:
        joined = "\n".join(ids)
    except TypeError:  # not all strings
        return None
    if joined.count("\n") != len(ids) - 1 or _CUSTOM_ID_CHARS_RE.fullmatch(joined) is None:
        return None  # a newline in one of them, or a character not allowed
    return joined


def _custom_ids_valid(parts: list[str], others: Collection[str]) -> bool:
    """Whether the custom_ids in `parts` (each from `_joined_custom_ids`) are all 1-64 characters long,
    all different, and none of them in `others`."""
    if not parts:
        return True
    joined = "\n".join(parts)
    if not joined or "\n\n" in joined or joined[0] == "\n" or joined[-1] == "\n":
        return False  # an empty one
    ids = joined.split("\n")  # one string each, made together: quicker to hash than the parsed ones
    if max(map(len, ids)) > 64:
        return False
    if all(map(operator.lt, ids, islice(ids, 1, None))):  # in order, as they often are: all different
        return not any(_in_sorted(ids, other) for other in others)
    unique = set(ids)
    return len(unique) == len(ids) and unique.isdisjoint(others)


def _in_sorted(items: list[str], item: str) -> bool:
    index = bisect_left(items, item)
    return index < len(items) and items[index] == item


def _scan(
    path: Path, report: Report, limits: Limits, known_models: Collection[str], *, strict: bool
) -> Report | None:
    """The pass of `validate_file`. Unless `strict`, custom_ids are checked at the end, and None returned
    when one is wrong."""
    v = _Validator(report, limits, known_models)
    # The loop is written for speed (it is benchmarked against a bare orjson pass): state lives in local
    # names, and most lines take the fast path below, which checks the common shape with as few steps as
    # it can and leaves at the first thing it does not expect (through _Unusual, or the KeyError, TypeError
    # or IndexError of a lookup that does not fit). Every other line, and anything wrong, goes through
    # `_Validator.slow_line`, which checks everything and explains itself.
    loads = orjson.loads
    dumps = orjson.dumps
    id_ok = CUSTOM_ID_RE.fullmatch
    register = v.seen.setdefault  # a custom_id's first line
    # Unless strict, the custom_ids the fast path takes are checked all at once: their characters at the
    # end of each segment of lines, their lengths and that they are unique at the end of the file.
    # (`ids` holds a segment's.)
    ids: list[str] = []
    ids_append = ids.append
    joined_ids: list[str] = []
    by_model = v.by_model  # known models' tallies, from their first request on (taken by `check_line`)
    slow_line = v.slow_line
    roles = ROLES
    max_request = limits.max_request_bytes
    max_requests = limits.max_requests
    budget = limits.max_bytes
    chunks = report.chunks
    # Chunk bookkeeping: `add` is what a request adds to its chunk's body, its size and the comma before
    # it. The request count is checked only from `next_check` on: the first line at which the open chunk
    # could hold `max_requests` requests (blank lines in between leave room for more), or the end of a
    # segment of lines, whichever comes first.
    chunk_first = chunk_start = chunk_blanks = 0  # no chunk open yet
    chunk_bytes = budget + 1  # "full", so the first request opens the first chunk
    next_check = 0
    line = add = 0
    raw = b""
    with path.open("rb") as handle:
        if _ends_without_newline(handle):
            # The last line's size is then one byte more than its length counts (see below): keep room.
            budget -= 1
        tell = handle.tell
        readline = handle.readline
        # At most `limit` bytes a read: one enormous line is never held whole.
        limit = max_request + 1_024 + 1  # room for whitespace around a request that still fits
        for line, raw in enumerate(iter(partial(readline, limit), b""), 1):
            length = len(raw)
            try:
                if length > max_request:
                    raise _Unusual
                obj = loads(raw)
                if len(obj) != 2:
                    raise _Unusual
                custom_id = obj["custom_id"]
                params = obj["params"]
                if strict and (id_ok(custom_id) is None or register(custom_id, line) != line):
                    raise _Unusual
                model = params["model"]
                tally = by_model[model]  # a KeyError unless a known model seen before
                max_tokens = params["max_tokens"]
                messages = params["messages"]
                if type(max_tokens) is not int or max_tokens < 1 or not messages:
                    raise _Unusual
                # The common requests: model, max_tokens, messages with string content or text blocks, and
                # optionally a system prompt (a string or text blocks), tools and tool_choice, metadata;
                # text blocks may set cache breakpoints. `walked` stays true while every value in the
                # request has been looked at: strings and integers only, no floats (see below).
                walked = True
                cached = 0
                count = len(params)
                if count == 4 and type(system := params.get("system")) is str:  # the most common extra
                    chars = len(system)
                elif count == 3:
                    chars = 0
                else:
                    chars = 0
                    expected = 3
                    system = params.get("system")
                    if system is not None:
                        expected += 1
                        if type(system) is str:
                            chars = len(system)
                        elif type(system) is list:
                            for block in system:
                                text = block["text"]
                                if type(text) is not str or block["type"] != "text":
                                    raise _Unusual
                                chars += len(text)
                                if len(block) != 2:  # the only other key taken here: a truthy cache_control
                                    control = block["cache_control"]
                                    if len(block) != 3 or type(control) is not dict or not control:
                                        raise _Unusual
                                    cached = max(cached, 2 if control.get("ttl") == "1h" else 1)
                                    walked = False
                        else:
                            raise _Unusual
                    if count > expected:
                        tools = params.get("tools")
                        if tools is not None:  # tool definitions without cache breakpoints
                            if type(tools) is not list:
                                raise _Unusual
                            for tool in tools:
                                if type(tool) is not dict or "cache_control" in tool:
                                    raise _Unusual
                                chars += len(dumps(tool))
                            choice = params.get("tool_choice")
                            if choice is not None:
                                if type(choice) is not dict or type(choice.get("type")) is not str:
                                    raise _Unusual
                                expected += 1
                            expected += 1
                            walked = False
                    if count > expected:
                        if type(params.get("metadata")) is not dict:
                            raise _Unusual
                        expected += 1
                        walked = False
                    if count != expected:
                        raise _Unusual
                    prefix = chars  # a breakpoint in the system prompt caches it and the tools before it
                for message in messages:  # a TypeError unless a list of objects
                    content = message["content"]
                    if len(message) != 2 or message["role"] not in roles:
                        raise _Unusual
                    if type(content) is str:
                        chars += len(content)
                        continue
                    if type(content) is not list:
                        raise _Unusual
                    marked = 0
                    for block in content:  # text blocks, perhaps with a cache breakpoint
                        text = block["text"]
                        if type(text) is not str or block["type"] != "text":
                            raise _Unusual
                        chars += len(text)
                        if len(block) != 2:
                            control = block["cache_control"]
                            if len(block) != 3 or type(control) is not dict or not control:
                                raise _Unusual
                            marked = max(marked, 2 if control.get("ttl") == "1h" else 1)
                    if marked:  # the prefix runs to the end of the last message with a breakpoint
                        cached = max(cached, marked)
                        prefix = chars
                        walked = False
                # The size the request takes in the body `submit` sends (compact JSON, as orjson writes
                # it). Parsing and writing again never lengthens strings, integers or the structure
                # (whitespace, escapes, duplicate keys can only shorten them); only a float can come back
                # longer ("1e2" is written "100.0"). So once every value is known to be a string or an
                # integer, the line's length (with its newline standing for the comma) is an upper bound
                # on the request's size plus its comma, and exactly it for a line written compact.
                # Lines written with `json.dumps`'s default separators (a space at byte 13, after the
                # first colon) are measured, so that their chunks are packed as full as they can be.
                # (Escapes such as "\u00e9", longer than the UTF-8 sent, are counted at their length:
                # looking for them costs more than the few bytes of packing they can lose.)
                if walked and raw[13] != 32:
                    add = length
                else:
                    add = len(dumps(obj)) + 1
                    if add > max_request + 1:
                        raise _Unusual  # the thorough check reports it
                ids_append(custom_id)
                tally.requests += 1
                tally.max_tokens += max_tokens
                tally.text_chars += chars
                if cached:
                    tally.cached_requests += 1
                    tally.cached_prefix_chars += prefix
                    if cached == 2:
                        tally.cached_1h_requests += 1
                        tally.cached_1h_prefix_chars += prefix
            except (_Unusual, KeyError, TypeError, IndexError, orjson.JSONDecodeError):
                add = slow_line(line, raw, tell() - length, readline)
                if not add:
                    continue
            chunk_bytes += add
            if chunk_bytes > budget or line >= next_check:
                if ids:  # a segment's custom_ids
                    if not strict:
                        joined = _joined_custom_ids(ids)
                        if joined is None:
                            return None
                        joined_ids.append(joined)
                    ids.clear()  # (the parsed strings are let go: kept alive, they would scatter the heap)
                # The open chunk (if any) is full when this request does not fit in its body or its count.
                held = line - chunk_first - (v.blank_total - chunk_blanks)
                if chunk_bytes > budget or held >= max_requests:
                    if chunk_first:
                        chunks.append(
                            Chunk(
                                len(chunks),
                                chunk_first,
                                v.last_request_before(line),
                                chunk_start,
                                tell() - length,
                                held,
                                chunk_bytes - add,
                            )
                        )
                    chunk_first, chunk_start, chunk_blanks = line, tell() - length, v.blank_total
                    chunk_bytes = BODY_OVERHEAD + add - 1  # no comma before the first request
                    held = 0
                next_check = line + min(max_requests - held, SEGMENT_LINES)
        size = tell()
    if ids and not strict:
        joined = _joined_custom_ids(ids)
        if joined is None:
            return None
        joined_ids.append(joined)
    v.end_blank_run()
    report.lines = line
    report.bytes = size
    report.requests = line - v.blank_total - v.skipped
    if chunk_first and not report.errors:
        if raw[-1:] != b"\n" and not raw.isspace():
            chunk_bytes += 1  # the last request's comma-free size is its whole length (room was kept for it)
        held = line + 1 - chunk_first - (v.blank_total - chunk_blanks)
        last = v.last_request_before(line + 1)
        chunks.append(Chunk(len(chunks), chunk_first, last, chunk_start, size, held, chunk_bytes))
    if report.requests == 0:
        report.add(
            Problem(
                report.file,
                None,
                None,
                "the file is empty" if not size else "the file has no requests, only blank lines",
            )
        )
    if report.errors:
        chunks.clear()
    if not strict and not _custom_ids_valid(joined_ids, v.seen):
        return None
    return report


def _ends_without_newline(handle: BinaryIO) -> bool:
    size = os.fstat(handle.fileno()).st_size
    if not size:
        return False
    handle.seek(size - 1)
    last = handle.read(1)
    handle.seek(0)
    return last != b"\n"


class _Unusual(Exception):
    """Raised to leave the fast path for the thorough check."""


def iter_chunk(path: Path | str, chunk: Chunk) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, request) for the requests of `chunk`, reading only its byte range of the file."""
    with Path(path).open("rb") as handle:
        handle.seek(chunk.start_offset)
        line = chunk.first_line
        remaining = chunk.end_offset - chunk.start_offset
        while remaining > 0:
            raw = handle.readline()
            if not raw:
                break
            remaining -= len(raw)
            if line == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if raw.strip():
                yield line, orjson.loads(raw)
            line += 1


def tally_params(params_list: Iterable[dict[str, Any]]) -> dict[str, ModelTally]:
    """Per-model tallies (as `validate_file` gathers them) for requests that are already known good,
    for example the stored requests of a retry."""
    report = Report(file="", path=Path())
    checker = _Validator(report, Limits(), known_models=())
    for params in params_list:
        checker.check_params(params)
    return report.models


def text_chars(params: dict[str, Any]) -> tuple[int, int]:
    """(characters the estimate counts, of which in the cached prefix) for one request's params."""
    tally = next(iter(tally_params([params]).values()), None)
    return (tally.text_chars, tally.cached_prefix_chars) if tally else (0, 0)
