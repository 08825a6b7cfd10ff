"""The JSONL submission file (one `{"custom_id", "params"}` per line) and its batch limits: what validating
it reports (problems, chunks, per-model tallies), and reading a chunk's requests back from the file.

Chunks are line ranges with byte offsets, so the requests are read back from the file one chunk at a time
when they are stored or sent. `validate.validate_file` makes the report; `rules` checks each request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson

MAX_BATCH_REQUESTS = 100_000
#: The API's 256 MB, read as decimal megabytes: the smaller reading is safe whichever the server uses.
MAX_BATCH_BYTES = 256_000_000
#: `{"requests":[` ... `]}` around the requests, with room to spare. Requests are measured as compact orjson,
#: which is exactly how `submit` streams the body it sends.
BODY_OVERHEAD = 4_096

#: The offline estimate of a prompt's tokens: about four characters a token (the estimate and the context
#: window check both use it).
CHARS_PER_TOKEN = 4.0

CUSTOM_ID_RE = re.compile(r"[a-zA-Z0-9_-]{1,64}")

Severity = Literal["error", "warning"]


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


def cache_rank(control: Any) -> int:
    """0 for no cache breakpoint, 1 for the five-minute TTL (the default), 2 for the one-hour TTL."""
    if not control:
        return 0
    return 2 if isinstance(control, dict) and control.get("ttl") == "1h" else 1


def serialized_size(request: Any) -> int:
    """Bytes of `request` in the body the SDK sends (compact JSON, UTF-8, non-ASCII unescaped)."""
    try:
        return len(orjson.dumps(request))
    except orjson.JSONEncodeError:  # integers beyond 64 bits, which the SDK's json.dumps still writes
        return len(json.dumps(request, ensure_ascii=False, separators=(",", ":")).encode())


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
