"""The line parser of one streamed pass over a results file: every result line becomes a row of the
items file (custom_id, result and error type, message, model, stop reason, usage, where it sits in the raw
file, and whether a succeeded answer is unusable: see `usable`), and the groups' counts are kept as it goes.
Lines are parsed with orjson; a line that is not a valid result is kept, flagged invalid, so nothing is
silently lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from batchboard.core.config import Settings
from batchboard.core.pricing import price_for
from batchboard.core.results.schema import (
    INVALID,
    INVALID_OUTPUT,
    REFUSED,
    RESULT_TYPES,
    TRUNCATED,
    TRUNCATING_STOPS,
)
from batchboard.core.results.usable import OutputCheck, refusal_detail
from batchboard.core.results.writers import ROW_VALUES, ItemsWriter, price_row

ROWS_PER_INSERT = 10_000
MAX_TOKEN_COUNT = 2**40
"""A line's token count above this is not believed (the line is kept, flagged invalid): far above any real
request, and low enough that a whole batch's sums stay within SQLite's 64-bit integers."""


class Truncated(Exception):
    """The bytes stopped before the end of the results (mid-line, or fewer lines than the batch has)."""


@dataclass
class Pass:
    """State of one streamed pass over a results file: parsing, buffering rows for the items file.

    `_index_lines` runs once per result line (100,000 times for a full batch), so it sticks to dict lookups
    on plain values and appends to one flat list. The usage sums behind every cost figure are added up here,
    from the counts already read (per model and price band, as `writers.usage_sums` reads them off the
    items file, which costs a scan, a join and a sort: 0.16 s per 100,000 lines against a few hundredths
    here: the short-prompt band of the current model is summed in local names).
    `checks` (custom_id -> the output check its stored request asks for) is empty unless the batch's
    requests are known and ask for a schema or a tool: only those lines pay for validation."""

    batch_id: str
    writer: ItemsWriter
    settings: Settings | None
    checks: dict[str, OutputCheck] = field(default_factory=dict)
    priced: dict[str, int | None] = field(default_factory=dict)
    """Model -> the prompt size above which its long-prompt rates apply (None: one band, or no price), as
    the `prices` row of the items file says: the `items` view's long_prompt is decided by the same."""
    values: list[Any] = field(default_factory=list)
    groups: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    unusable: dict[str, list[Any]] = field(default_factory=dict)
    """Class -> [count, first detail] of the succeeded lines that are unusable."""
    details: list[tuple[str, int]] = field(default_factory=list)
    """(detail, line) of the buffered rows that have one: a violation, a refusal's reason."""
    usage: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    unusable_usage: dict[tuple[str, str, int], list[int]] = field(default_factory=dict)
    pending: bytes = b""
    offset: int = 0  # file offset of `pending`'s first byte
    line: int = 0
    invalid: int = 0

    def price(self, model: str) -> None:
        """Record the model's prices (if known) before any of its rows are inserted."""
        price = price_for(model, self.settings)
        if price is None:
            self.priced[model] = None
            return
        row = price_row(model, price)  # no row of this model is buffered yet: its first is being read
        self.writer.add_price(row)
        self.priced[model] = row[1]

    def feed(self, chunk: bytes) -> None:
        data = self.pending + chunk if self.pending else chunk
        lines = data.split(b"\n")
        self.pending = lines.pop()
        if lines:
            self._index_lines(lines)
        if len(self.values) >= ROWS_PER_INSERT * ROW_VALUES:
            self.flush()

    def finish(self) -> None:
        if self.pending.strip():
            raise Truncated("the download ended in the middle of a line")
        self.flush()
        self.writer.finish()

    def flush(self) -> None:
        if self.values:
            self.writer.insert(self.values)
            self.values = []
        if self.details:
            self.writer.add_details(self.details)
            self.details = []

    def _index_lines(self, lines: list[bytes]) -> None:
        """Index complete lines (without their newline) that follow `self.offset` in the file.

        Runs over every line of a batch, so everything it touches is a local name and nothing else is
        called per line but orjson and dict lookups."""
        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        extend = self.values.extend
        groups = self.groups
        unusable_groups = self.unusable
        checks = self.checks
        truncating = TRUNCATING_STOPS
        priced = self.priced
        result_types = _RESULT_TYPE_SET
        usage_sums = self.usage
        unusable_sums = self.unusable_usage
        # The usage sums of one model's short-prompt band (nearly every line) are kept in local names while
        # its lines keep coming, and added to `usage_sums` when another model's line comes or the lines end.
        current: str | None = None
        threshold: int | None = None
        count = sum_in = sum_out = sum_5m = sum_1h = sum_read = 0
        empty = _EMPTY
        top = MAX_TOKEN_COUNT
        line = self.line
        offset = self.offset
        for raw in lines:
            length = len(raw) + 1
            if length == 1:  # a blank line: skipped, as it holds no result
                offset += 1
                continue
            custom_id: Any = None
            try:
                obj = loads(raw)
                custom_id = obj["custom_id"]
                result = obj["result"]
                result_type = result["type"]
                if type(custom_id) is not str or result_type not in result_types:
                    raise TypeError("not a result")
            except (decode_error, KeyError, TypeError) as exc:
                self._invalid(
                    line,
                    custom_id,
                    f"line {line + 1} is not a valid result ({type(exc).__name__})",
                    offset,
                    length,
                )
                line += 1
                offset += length
                continue
            error_type = unusable = ""
            error_message = model = stop_reason = detail = None
            inp = out = m5 = h1 = read = 0
            try:
                if result_type == "succeeded":
                    message = result["message"]
                    model = message.get("model")
                    stop_reason = message.get("stop_reason")
                    usage = message.get("usage") or empty
                    inp = usage.get("input_tokens") or 0
                    out = usage.get("output_tokens") or 0
                    written = usage.get("cache_creation_input_tokens") or 0
                    read = usage.get("cache_read_input_tokens") or 0
                    breakdown = usage.get("cache_creation")
                    if breakdown:
                        h1 = breakdown.get("ephemeral_1h_input_tokens") or 0
                        m5 = breakdown.get("ephemeral_5m_input_tokens") or 0
                        if written - h1 > m5:
                            m5 = written - h1
                    else:
                        m5 = written
                    # Out of range (or, by a TypeError, not numbers): orjson reads integers up to 2^64.
                    if not (
                        0 <= inp <= top
                        and 0 <= out <= top
                        and 0 <= m5 <= top
                        and 0 <= h1 <= top
                        and 0 <= read <= top
                    ):
                        raise TypeError("token counts out of range")
                    if model is not None:
                        if type(model) is not str:
                            model = str(model)
                        if model not in priced:
                            self.price(model)
                    if stop_reason is not None and stop_reason != "end_turn":
                        if type(stop_reason) is not str:
                            stop_reason = str(stop_reason)
                        if stop_reason in truncating:
                            unusable = TRUNCATED
                        elif stop_reason == "refusal":
                            unusable = REFUSED
                            detail = refusal_detail(message)
                    if checks and not unusable and custom_id in checks:
                        detail = checks[custom_id].violation(message)
                        if detail is not None:
                            unusable = INVALID_OUTPUT
                elif result_type == "errored":
                    envelope = result.get("error") or empty
                    inner = envelope.get("error")
                    if not isinstance(inner, dict):
                        inner = envelope
                    error_type = _text(inner.get("type")) or "unknown_error"
                    error_message = _text(inner.get("message"))
            except (AttributeError, TypeError, KeyError):  # right type, wrong shape: keep the line, flag it
                self._invalid(
                    line, custom_id, f"line {line + 1}: the result has an unexpected shape", offset, length
                )
                line += 1
                offset += length
                continue
            group = groups.get((result_type, error_type))
            if group is None:
                groups[(result_type, error_type)] = [1, error_message]
            else:
                group[0] += 1
            if model is not None:  # a succeeded answer (only those have a model): its usage counts
                if model != current:
                    if count:
                        _add(usage_sums, (current, 0), (count, sum_in, sum_out, sum_5m, sum_1h, sum_read))
                    current = model
                    threshold = priced[model]
                    count = sum_in = sum_out = sum_5m = sum_1h = sum_read = 0
                if threshold is not None and inp + m5 + h1 + read > threshold:
                    band = 1
                    _add(usage_sums, (model, 1), (1, inp, out, m5, h1, read))
                else:
                    band = 0
                    count += 1
                    sum_in += inp
                    sum_out += out
                    sum_5m += m5
                    sum_1h += h1
                    sum_read += read
                if unusable:
                    _add(unusable_sums, (unusable, model, band), (1, inp, out, m5, h1, read))
            if unusable:
                group = unusable_groups.get(unusable)
                if group is None:
                    unusable_groups[unusable] = [1, detail]
                else:
                    group[0] += 1
                if detail is not None:
                    self.details.append((detail, line))
            extend(
                (
                    line,
                    custom_id,
                    result_type,
                    error_type,
                    error_message,
                    model,
                    stop_reason,
                    inp,
                    out,
                    m5,
                    h1,
                    read,
                    offset,
                    length,
                    unusable,
                )
            )
            line += 1
            offset += length
        if count:
            _add(usage_sums, (current, 0), (count, sum_in, sum_out, sum_5m, sum_1h, sum_read))
        self.line = line
        self.offset = offset

    def _invalid(self, line: int, custom_id: Any, message: str, offset: int, length: int) -> None:
        self.invalid += 1
        custom_id = custom_id if isinstance(custom_id, str) else f"<line {line + 1}>"
        group = self.groups.get((INVALID, "invalid_line"))
        if group is None:
            self.groups[(INVALID, "invalid_line")] = [1, message]
        else:
            group[0] += 1
        self.values.extend(
            (line, custom_id, INVALID, "invalid_line", message, None, None, 0, 0, 0, 0, 0, offset, length)
        )
        self.values.append("")  # not a succeeded answer: no unusable class


_RESULT_TYPE_SET = frozenset(RESULT_TYPES)
_EMPTY: dict[str, Any] = {}


def _add(sums: dict[Any, list[int]], key: Any, values: tuple[int, ...]) -> None:
    """Add `values` to the sums kept under `key`."""
    found = sums.get(key)
    if found is None:
        sums[key] = list(values)
    else:
        for position, value in enumerate(values):
            found[position] += value


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
