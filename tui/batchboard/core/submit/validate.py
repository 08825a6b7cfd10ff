"""Streaming validation and chunking of a JSONL submission file, in one pass.

The pass reports every problem at once (line, field, what to do) and, for a clean file, cuts it into
batches that respect both API limits. Memory stays bounded: lines are parsed one at a time and only the
custom_ids are kept, for duplicate detection (checked all at once at the end; a file where that check fails
is checked a second time, line by line, to name each problem in order).
"""

from __future__ import annotations

import operator
import os
import re
from bisect import bisect_left
from collections.abc import Collection
from functools import partial
from itertools import islice
from pathlib import Path
from typing import BinaryIO

import orjson

from batchboard.core.submit.jsonl import BODY_OVERHEAD, CUSTOM_ID_RE, Chunk, Limits, Problem, Report
from batchboard.core.submit.rules import ROLES, SDK_MODELS, Validator

SEGMENT_LINES = 4_096
_CUSTOM_ID_CHARS_RE = re.compile(r"[a-zA-Z0-9_\n-]*")  # custom_ids joined by newlines


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
    v = Validator(report, limits, known_models)
    # The loop is written for speed (it is benchmarked against a bare orjson pass): state lives in local
    # names, and most lines take the fast path below, which checks the common shape with as few steps as
    # it can and leaves at the first thing it does not expect (through _Unusual, or the KeyError, TypeError
    # or IndexError of a lookup that does not fit). Every other line, and anything wrong, goes through
    # `Validator.slow_line`, which checks everything and explains itself.
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
    bounds = v.bounds  # the same models' limits: (largest max_tokens, most prompt characters)
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
                most_tokens, most_chars = bounds[model]
                if type(max_tokens) is not int or max_tokens < 1 or max_tokens > most_tokens or not messages:
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
                if chars > most_chars:
                    raise _Unusual  # over the model's context window: the thorough check reports it
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
