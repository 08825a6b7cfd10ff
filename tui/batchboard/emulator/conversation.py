"""What a request asks of the reply beyond its text: tools and tool_choice, `output_config.format`, and the
turn rules of a conversation (tool_use / tool_result pairing, content the API version refuses).

Messages follow the API's where public error bodies show them (README, "Content semantics"); a few are the
emulator's own wording for rules whose message no source gives, and the README says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from batchboard.emulator.schema import SchemaError, check_structured
from batchboard.emulator.versions import strict_content

#: The documented test string that makes the API refuse (stop_reason "refusal").
REFUSAL_TEST_STRING = (
    "ANTHROPIC_MAGIC_STRING_TRIGGER_REFUSAL_1FAEFB6177B4672DEE07F9D3AFC62588CCD2631EDCF22E8CCC1FB35B501C9C86"
)
TOOL_CHOICES = ("auto", "any", "tool", "none")
EFFORTS = ("low", "medium", "high", "xhigh", "max")
_INTERN_LIMIT = 4096
_interned: dict[bytes, Any] = {}


class ParamError(ValueError):
    """An invalid parameter; the message names it the way the API does (`field.path: problem`)."""


def intern(value: Any, encoded: bytes | None = None) -> Any:
    """One shared object per distinct JSON value, so 100,000 requests with one schema keep one copy."""
    key = encoded if encoded is not None else orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    found = _interned.get(key)
    if found is None:
        if len(_interned) >= _INTERN_LIMIT:
            _interned.clear()
        found = _interned[key] = value
    return found


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool the model may call: `schema` is its input_schema, None for a server tool (never called)."""

    name: str
    schema: dict[str, Any] | None
    description: str = ""


_OBJECT = "Input should be a valid dictionary or object to extract fields from"


def parse_tools(tools: object) -> tuple[tuple[ToolSpec, ...], list[Any]]:
    """The tools as ToolSpecs and their JSON (for the prompt's size and cache), checked like the API."""
    if not isinstance(tools, list):
        raise ParamError("tools: Input should be a valid list")
    specs: list[ToolSpec] = []
    names: set[str] = set()
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise ParamError(f"tools.{index}: {_OBJECT}")
        name = tool.get("name")
        if not isinstance(name, str):
            raise ParamError(f"tools.{index}.name: Field required")
        if name in names:
            raise ParamError("tools: Tool names must be unique.")
        names.add(name)
        if tool.get("type") in (None, "custom"):
            schema = tool.get("input_schema")
            if not isinstance(schema, dict):
                raise ParamError(f"tools.{index}.input_schema: Field required")
            if schema.get("type") != "object":
                raise ParamError(f"tools.{index}.input_schema.type: Input should be 'object'")
            if tool.get("strict") is True:
                try:
                    check_structured(schema)
                except SchemaError as exc:
                    raise ParamError(f"tools.{index}.input_schema: {exc}") from None
            description = tool.get("description")
            specs.append(ToolSpec(name, intern(schema), description if isinstance(description, str) else ""))
        else:  # a server tool (web search, code execution...): accepted, not emulated
            specs.append(ToolSpec(name, None))
    return tuple(specs), tools


def parse_tool_choice(choice: object, tools: tuple[ToolSpec, ...]) -> tuple[str, str | None]:
    """(type, forced tool name) of `tool_choice`; the default is auto."""
    if choice is None:
        return "auto", None
    if not isinstance(choice, dict):
        raise ParamError(f"tool_choice: {_OBJECT}")
    kind = choice.get("type")
    if kind not in TOOL_CHOICES:
        raise ParamError("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
    parallel = choice.get("disable_parallel_tool_use")
    if parallel is not None and not isinstance(parallel, bool):
        raise ParamError(f"tool_choice.{kind}.disable_parallel_tool_use: Input should be a valid boolean")
    if kind in ("any", "tool") and not tools:
        raise ParamError(f"tool_choice: tool_choice '{kind}' needs tools")
    if kind != "tool":
        return kind, None
    name = choice.get("name")
    if not isinstance(name, str):
        raise ParamError("tool_choice.tool.name: Field required")
    if name not in {tool.name for tool in tools}:
        raise ParamError(f"tool_choice.tool.name: no tool named '{name}' in tools")
    return kind, name


def parse_output_config(config: object) -> tuple[dict[str, Any] | None, int]:
    """The `output_config.format` JSON schema (None if none) and its size in characters."""
    if config is None:
        return None, 0
    if not isinstance(config, dict):
        raise ParamError(f"output_config: {_OBJECT}")
    for key in config:
        if key not in ("effort", "format"):
            raise ParamError(f"output_config.{key}: Extra inputs are not permitted")
    effort = config.get("effort")
    if effort is not None and effort not in EFFORTS:
        raise ParamError("output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'")
    fmt = config.get("format")
    if fmt is None:
        return None, 0
    if not isinstance(fmt, dict):
        raise ParamError(f"output_config.format: {_OBJECT}")
    if fmt.get("type") != "json_schema":
        raise ParamError("output_config.format.type: Input should be 'json_schema'")
    for key in fmt:
        if key not in ("type", "schema"):
            raise ParamError(f"output_config.format.{key}: Extra inputs are not permitted")
    schema = fmt.get("schema")
    if not isinstance(schema, dict):
        problem = "Field required" if schema is None else "Input should be a valid dictionary"
        raise ParamError(f"output_config.format.schema: {problem}")
    try:
        check_structured(schema)
    except SchemaError as exc:
        raise ParamError(f"output_config.format.schema: {exc}") from None
    encoded = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
    return intern(schema, encoded), len(encoded)


class TurnChecker:
    """Checks each message's blocks against the turn before it and the API version's content rules."""

    def __init__(self, version: str) -> None:
        self.strict = strict_content(version)
        self.pending: tuple[int, list[str]] | None = None  # the last assistant turn's unanswered tool_use ids
        self.after_tool_result = False
        self.refuse = False

    def message(self, index: int, role: str, blocks: list[Any]) -> None:
        """`blocks`: the message's content blocks (already checked to be objects with a type)."""
        path = f"messages.{index}"
        if role == "assistant":
            ids: list[str] = []
            for number, block in enumerate(blocks):
                kind = block.get("type")
                if kind == "tool_use":
                    for field in ("id", "name", "input"):
                        if field not in block:
                            raise ParamError(f"{path}.content.{number}.tool_use.{field}: Field required")
                    ids.append(str(block["id"]))
                elif kind == "document" and self.strict:
                    raise ParamError(
                        f"{path}.content.{number}: document blocks are not supported in assistant messages"
                    )
            self.pending = (index, ids) if ids else None
            self.after_tool_result = False
            return
        answered: list[str] = []
        expected = self.pending[1] if self.pending else []
        for number, block in enumerate(blocks):
            kind = block.get("type")
            if kind == "tool_result":
                tool_use_id = block.get("tool_use_id")
                if not isinstance(tool_use_id, str):
                    raise ParamError(f"{path}.content.{number}.tool_result.tool_use_id: Field required")
                if tool_use_id not in expected:
                    raise ParamError(
                        f"{path}.content.{number}: unexpected `tool_use_id` found in `tool_result` blocks: "
                        f"{tool_use_id}. Each `tool_result` block must have a corresponding `tool_use` "
                        "block in the previous message."
                    )
                answered.append(tool_use_id)
            elif self.strict:
                self._check_citations(f"{path}.content.{number}", block)
        if self.pending is not None:
            missing = [tool_id for tool_id in self.pending[1] if tool_id not in answered]
            if missing:
                raise ParamError(
                    f"messages.{self.pending[0]}: `tool_use` ids were found without `tool_result` blocks "
                    f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
                    "corresponding `tool_result` block in the next message."
                )
        self.pending = None
        self.after_tool_result = bool(answered)

    def _check_citations(self, path: str, block: dict[str, Any]) -> None:
        if block.get("type") == "text" and block.get("citations"):
            raise ParamError(f"{path}.citations: citations are not supported on text blocks in user messages")
        if block.get("type") == "search_result" and isinstance(block.get("content"), list):
            for number, inner in enumerate(block["content"]):
                if isinstance(inner, dict) and inner.get("type") == "text" and inner.get("citations"):
                    raise ParamError(
                        f"{path}.content.{number}.citations: citations are not supported on text blocks "
                        "in user messages"
                    )
