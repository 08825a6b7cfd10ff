"""Succeeded but unusable: which answers a pipeline cannot use, and why, decided once per line.

A succeeded line is `truncated` (stop_reason `max_tokens` or `model_context_window_exceeded`), `refused`
(stop_reason `refusal`), or `invalid_output` when its request asked for a JSON schema output
(`output_config.format` of type `json_schema`) or forced a tool (`tool_choice` `tool` or `any`) and the output
does not parse or does not validate. Validation needs the request, which the API never gives back: it applies
to batches whose requests batchboard stored (sent from here, or attached). The `jsonschema` library judges;
each distinct schema is compiled once per batch (`Checks`), and only lines whose request had one pay for it.
A compiled fast path (`fastcheck`) lets the common valid answer through without asking jsonschema, which
then only looks at answers the fast path does not pass. The first violation is kept with its JSON path
(`$.items[2].price: expected number, got "12"`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import orjson

from batchboard.core.results.fastcheck import Predicate, Unsupported, compile_schema
from batchboard.core.results.schema import REFUSED, TRUNCATED, TRUNCATING_STOPS

if TYPE_CHECKING:
    from batchboard.core.store import Store

#: What a stored request's JSON must contain to be parsed for a check (a byte search in SQLite first).
CHECK_NEEDLES = (b"json_schema", b"tool_choice")
VALUE_WIDTH = 40
DETAIL_WIDTH = 300
_PROPERTY = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]*$")


def stop_class(stop_reason: str | None) -> str:
    """The class a stop reason alone decides: truncated, refused, or '' (the output may still be invalid)."""
    if stop_reason in TRUNCATING_STOPS:
        return TRUNCATED
    if stop_reason == "refusal":
        return REFUSED
    return ""


def refusal_detail(message: Any) -> str | None:
    """What a refusal says about itself (`stop_details`: its explanation, else its category), if anything."""
    details = message.get("stop_details") if isinstance(message, dict) else None
    if not isinstance(details, dict):
        return None
    for key in ("explanation", "category"):
        value = details.get(key)
        if isinstance(value, str) and value.strip():
            return _clip(value, DETAIL_WIDTH)
    return None


def output_text(message: Any) -> str:
    """What the model wrote, as it wrote it: the text blocks joined, then each tool call's name and input
    (pretty JSON). Untrusted text: show it literally."""
    parts = ["".join(b["text"] for b in _blocks(message, "text") if isinstance(b.get("text"), str))]
    for call in _blocks(message, "tool_use"):
        try:
            arguments = orjson.dumps(call.get("input"), option=orjson.OPT_INDENT_2).decode("utf-8")
        except TypeError:
            arguments = repr(call.get("input"))
        parts.append(f"[tool call {_show(call.get('name'))}]\n{arguments}")
    return "\n".join(part for part in parts if part)


# ------------------------------------------------------------------------------------------ the checks


class Judge:
    """One compiled schema: jsonschema's validator, and the fast path when the schema allows one."""

    __slots__ = ("fast", "validator")

    def __init__(self, validator: Any, fast: Predicate | None) -> None:
        self.validator = validator
        self.fast = fast

    def violation(self, value: Any) -> str | None:
        """The first way `value` breaks the schema, as `JSON path: what`, or None when it is valid."""
        fast = self.fast
        if fast is not None and fast(value):
            return None
        return first_violation(self.validator, value)


class SchemaCheck:
    """The output's text must be JSON valid against the request's `output_config.format.schema`."""

    __slots__ = ("judge",)

    def __init__(self, judge: Judge) -> None:
        self.judge = judge

    def violation(self, message: Any) -> str | None:
        texts = [b["text"] for b in _blocks(message, "text") if isinstance(b.get("text"), str)]
        if not texts:
            return "$: no text in the output"
        try:
            value = orjson.loads("".join(texts))
        except orjson.JSONDecodeError as error:
            return _clip(f"$: not valid JSON ({error})", DETAIL_WIDTH)
        return self.judge.violation(value)


class ToolCheck:
    """The output must call the forced tool (`tool_choice` tool: that one; any: one of the tools on offer),
    with an input valid against the tool's `input_schema`."""

    __slots__ = ("forced", "tools")

    def __init__(self, tools: dict[str, Judge | None], forced: str | None) -> None:
        self.tools = tools  # name -> its input_schema compiled (None: no schema given)
        self.forced = forced

    def violation(self, message: Any) -> str | None:
        calls = _blocks(message, "tool_use")
        if self.forced is not None:
            call = next((b for b in calls if b.get("name") == self.forced), None)
            if call is None:
                return _clip(f"$: no call of the tool {_show(self.forced)} in the output", DETAIL_WIDTH)
        else:
            if not calls:
                return "$: no tool call in the output"
            call = calls[0]
        name = call.get("name")
        if not isinstance(name, str) or name not in self.tools:
            return _clip(f"$: a call of {_show(name)}, which is not one of the tools offered", DETAIL_WIDTH)
        judge = self.tools[name]
        if judge is None:
            return None
        found = judge.violation(call.get("input"))
        return None if found is None else _clip(f"tool {name} input {found}", DETAIL_WIDTH)


OutputCheck = SchemaCheck | ToolCheck


def _blocks(message: Any, kind: str) -> list[dict[str, Any]]:
    """The message's content blocks of one type (none when the content is not a list of blocks)."""
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list):
        return []
    return [b for b in content if isinstance(b, dict) and b.get("type") == kind]


class Checks:
    """The output checks of one batch's requests: custom_id -> its check, each schema compiled once."""

    def __init__(self) -> None:
        self.by_custom_id: dict[str, OutputCheck] = {}
        self._judges: dict[bytes, Judge | None] = {}

    def __len__(self) -> int:
        return len(self.by_custom_id)

    def add(self, custom_id: str, params: Any) -> None:
        check = self.check_for(params)
        if check is not None:
            self.by_custom_id[custom_id] = check

    def check_for(self, params: Any) -> OutputCheck | None:
        """The check a request's params ask for, or None (a plain request, or a schema that is not one)."""
        if not isinstance(params, dict):
            return None
        choice = params.get("tool_choice")
        if isinstance(choice, dict) and choice.get("type") in ("tool", "any"):
            tools: dict[str, Judge | None] = {}
            for tool in params.get("tools") or ():
                if isinstance(tool, dict) and isinstance(tool.get("name"), str):
                    schema = tool.get("input_schema")
                    tools[tool["name"]] = self._judge(schema) if isinstance(schema, dict) else None
            forced = choice.get("name") if choice.get("type") == "tool" else None
            if choice.get("type") == "tool" and not isinstance(forced, str):
                return None
            return ToolCheck(tools, forced)
        config = params.get("output_config")
        output_format = config.get("format") if isinstance(config, dict) else None
        if isinstance(output_format, dict) and output_format.get("type") == "json_schema":
            schema = output_format.get("schema")
            judge = self._judge(schema) if isinstance(schema, dict) else None
            return SchemaCheck(judge) if judge is not None else None
        return None

    def _judge(self, schema: dict[str, Any]) -> Judge | None:
        """`schema` compiled, shared by every request of the batch with the same schema; None when it is
        not a valid JSON schema (the API refuses such a request: nothing to check)."""
        try:
            key = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            return None
        if key in self._judges:
            return self._judges[key]
        from jsonschema import Draft202012Validator, validators
        from jsonschema.exceptions import SchemaError

        judge: Judge | None
        try:
            cls = validators.validator_for(schema, default=Draft202012Validator)
            cls.check_schema(schema)
            checker = cls.FORMAT_CHECKER
            judge = Judge(cls(schema, format_checker=checker), _fast_path(cls, schema, checker))
        except SchemaError:  # not a valid schema: the API refuses such a request
            judge = None
        except Exception:  # an unknown $schema, a $ref it cannot resolve: not ours to judge
            judge = None
        self._judges[key] = judge
        return judge


def _fast_path(cls: Any, schema: dict[str, Any], checker: Any) -> Predicate | None:
    from jsonschema import Draft202012Validator

    if cls is not Draft202012Validator:
        return None
    try:
        return compile_schema(schema, checker)
    except Unsupported:
        return None


def checks_from(requests: Iterable[tuple[str, bytes]]) -> Checks:
    """The checks of (custom_id, params JSON) pairs; requests that ask for none are skipped cheaply."""
    checks = Checks()
    for custom_id, params in requests:
        if not any(needle in params for needle in CHECK_NEEDLES):
            continue
        try:
            checks.add(custom_id, orjson.loads(params))
        except orjson.JSONDecodeError:
            continue
    return checks


def load_checks(store: Store, batch_id: str) -> Checks:
    """The checks of `batch_id`'s stored requests (none when batchboard holds no requests for it). Only the
    requests whose JSON mentions a schema or a tool choice are read and parsed."""
    from batchboard.core.submit.intents import stored_requests

    return checks_from(stored_requests(store, batch_id, containing=CHECK_NEEDLES).items())


# --------------------------------------------------------------------------------------- violations


def first_violation(validator: Any, value: Any) -> str | None:
    """The first way `value` breaks the validator's schema, as `JSON path: what`, or None when valid."""
    try:
        error = next(iter(validator.iter_errors(value)), None)
    except Exception:  # an unresolvable $ref, a pathological schema: cannot judge, so do not condemn
        return None
    if error is None:
        return None
    return _clip(describe(error), DETAIL_WIDTH)


def describe(error: Any) -> str:
    """One jsonschema ValidationError in plain words, led by the JSON path of what is wrong."""
    from jsonschema.exceptions import best_match

    path = list(error.absolute_path)
    keyword = error.validator
    expected = error.validator_value
    instance = error.instance
    if keyword in ("anyOf", "oneOf") and error.context:
        inner = best_match(error.context)
        if inner is not None:
            return describe(inner)
    if keyword == "type":
        types = expected if isinstance(expected, list) else [expected]
        return f"{json_path(path)}: expected {' or '.join(map(str, types))}, got {_show(instance)}"
    if keyword == "required" and isinstance(instance, dict):
        missing = next((name for name in expected if name not in instance), None)
        if missing is not None:
            return f"{json_path([*path, missing])}: missing (required)"
    if keyword == "additionalProperties" and isinstance(instance, dict):
        known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        patterns = error.schema.get("patternProperties", {}) if isinstance(error.schema, dict) else {}
        extra = next(
            (
                name
                for name in instance
                if name not in known and not any(re.search(p, name) for p in patterns)
            ),
            None,
        )
        if extra is not None:
            return f"{json_path([*path, extra])}: not allowed (no such property in the schema)"
    if keyword == "enum" and isinstance(expected, list):
        choices = ", ".join(_show(v) for v in expected[:8]) + (", …" if len(expected) > 8 else "")
        return f"{json_path(path)}: expected one of {choices}, got {_show(instance)}"
    if keyword == "const":
        return f"{json_path(path)}: expected {_show(expected)}, got {_show(instance)}"
    if keyword == "format":
        return f"{json_path(path)}: expected a {expected} string, got {_show(instance)}"
    if keyword == "pattern":
        return f"{json_path(path)}: does not match the pattern {_show(expected)}, got {_show(instance)}"
    return f"{json_path(path)}: {error.message}"


def json_path(parts: Iterable[Any]) -> str:
    """A JSON path as jsonschema writes one: `$.items[2].price`, `$['a key']`."""
    path = "$"
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _PROPERTY.match(str(part)):
            path += f".{part}"
        else:
            escaped = str(part).replace("\\", "\\\\").replace("'", "\\'")
            path += f"['{escaped}']"
    return path


def _show(value: Any) -> str:
    """A value as JSON, cut to VALUE_WIDTH characters."""
    try:
        text = orjson.dumps(value).decode("utf-8")
    except TypeError:
        text = repr(value)
    return _clip(text, VALUE_WIDTH)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
