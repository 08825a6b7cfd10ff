"""JSON Schema for the emulator: deterministic instances that validate against a schema (structured-output
replies, tool inputs), a compact validator, and the subset that structured outputs accept.

The generator covers what the SDK's transformed schemas and hand-written ones use: types (one or a list),
enum and const, nested objects (properties, required, additionalProperties, min/maxProperties), arrays
(items, prefixItems, min/maxItems, uniqueItems), string lengths, formats and simple patterns, numeric
bounds and multipleOf, anyOf, oneOf, allOf, and local `$ref` into `$defs` / `definitions`.
"""

from __future__ import annotations

import math
import random
import re
import uuid
from collections.abc import Iterator
from typing import Any

import orjson

from batchboard.emulator._util import plural

#: String formats structured outputs support (and the generator produces).
FORMATS = ("date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid")
_NUMERIC_LIMITS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
_STRING_LIMITS = ("minLength", "maxLength")
#: Below this depth the generator stops adding optional content, so recursive schemas end.
SHALLOW_DEPTH = 5
MAX_DEPTH = 40
_TYPES = ("string", "integer", "number", "boolean", "object", "array", "null")


class SchemaError(ValueError):
    """A schema the generator cannot satisfy, or (from `check_structured`) one the API refuses."""


def is_int(value: object) -> bool:
    """A JSON integer (Python's bool is no number here)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _num(value: object) -> float | None:
    """`value` if it is a JSON number, else None."""
    return float(value) if is_number(value) else None  # type: ignore[arg-type]


def json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _canonical(value: object) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def resolve(root: dict[str, Any], ref: str) -> dict[str, Any]:
    """A local reference (`#`, `#/$defs/X`, `#/definitions/X`, any JSON pointer into the root)."""
    if not ref.startswith("#"):
        raise SchemaError(f"external $ref is not supported: {ref}")
    node: Any = root
    for token in ref[1:].split("/")[1:] if ref != "#" else ():
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise SchemaError(f"$ref {ref} does not resolve")
    if not isinstance(node, dict | bool):
        raise SchemaError(f"$ref {ref} does not point to a schema")
    return node if isinstance(node, dict) else ({} if node else {"not": {}})


# --- the subset structured outputs accept ---


def check_structured(schema: object) -> None:
    """Raise SchemaError (the API's wording, without the path prefix) for what structured outputs refuse.

    The limits are the documented ones and those the SDK's `transform_schema` removes before sending:
    numeric and string length constraints, array bounds beyond `minItems` 0 or 1, `additionalProperties`
    other than false, formats outside FORMATS, external or recursive `$ref`.
    """
    if not isinstance(schema, dict):
        raise SchemaError("Input should be a valid dictionary")
    _check_node(schema, schema, (), 0)


def _check_node(root: dict[str, Any], node: object, refs: tuple[str, ...], depth: int) -> None:
    if isinstance(node, bool) or not isinstance(node, dict):
        return
    if depth > MAX_DEPTH:
        raise SchemaError("Schema is too complex")
    ref = node.get("$ref")
    if isinstance(ref, str):
        if not ref.startswith("#"):
            raise SchemaError(f"External $ref is not supported: '{ref}'")
        if ref in refs:
            raise SchemaError("Too many recursive definitions in schema")
        _check_node(root, resolve(root, ref), (*refs, ref), depth + 1)
    types = node.get("type")
    names = [types] if isinstance(types, str) else list(types) if isinstance(types, list) else []
    for name in names:
        if name in ("integer", "number"):
            for key in _NUMERIC_LIMITS:
                if key in node:
                    raise SchemaError(f"For '{name}' type, property '{key}' is not supported")
        elif name == "string":
            for key in _STRING_LIMITS:
                if key in node:
                    raise SchemaError(f"For 'string' type, property '{key}' is not supported")
            fmt = node.get("format")
            if fmt is not None and fmt not in FORMATS:
                raise SchemaError(f"For 'string' type, format '{fmt}' is not supported")
        elif name == "array":
            if node.get("minItems", 0) not in (0, 1):
                raise SchemaError("For 'array' type, 'minItems' values other than 0 or 1 are not supported")
            for key in ("maxItems", "uniqueItems", "contains"):
                if key in node:
                    raise SchemaError(f"For 'array' type, property '{key}' is not supported")
        elif name == "object":
            extra = node.get("additionalProperties", False)
            if extra is not False:
                raise SchemaError(
                    "For 'object' type, 'additionalProperties' values other than false are not supported"
                )
    enum = node.get("enum")
    if isinstance(enum, list) and any(isinstance(value, dict | list) for value in enum):
        raise SchemaError("enum values must be strings, numbers, booleans or null")
    for branch in node.get("allOf", ()) or ():
        if isinstance(branch, dict) and "$ref" in branch:
            raise SchemaError("allOf with $ref is not supported")
    for child in _children(node):
        _check_node(root, child, refs, depth + 1)


def _children(node: dict[str, Any]) -> Iterator[object]:
    for key in ("properties", "$defs", "definitions", "patternProperties"):
        value = node.get(key)
        if isinstance(value, dict):
            yield from value.values()
    for key in ("items", "additionalProperties", "not", "contains"):
        value = node.get(key)
        if isinstance(value, dict):
            yield value
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        value = node.get(key)
        if isinstance(value, list):
            yield from value


# --- validation ---


def first_error(instance: object, schema: object, root: object | None = None) -> str | None:
    """The first way `instance` violates `schema`, as `path: problem`, or None if it is valid."""
    top = root if isinstance(root, dict) else schema if isinstance(schema, dict) else {}
    return _error(instance, schema, top, "$", 0)


def _error(value: object, schema: object, root: dict[str, Any], path: str, depth: int) -> str | None:
    if schema is True or schema is None:
        return None
    if schema is False:
        return f"{path}: no value is allowed here"
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str):
        try:
            problem = _error(value, resolve(root, ref), root, path, depth + 1)
        except SchemaError as exc:
            return f"{path}: {exc}"
        if problem:
            return problem
    kind = json_type(value)
    types = schema.get("type")
    if isinstance(types, str):
        types = [types]
    if isinstance(types, list) and not (kind in types or (kind == "integer" and "number" in types)):
        return f"{path}: expected {' or '.join(types)}, got {kind}"
    if "const" in schema and _canonical(value) != _canonical(schema["const"]):
        return f"{path}: expected {schema['const']!r}"
    enum = schema.get("enum")
    if isinstance(enum, list) and _canonical(value) not in {_canonical(option) for option in enum}:
        return f"{path}: not one of the allowed values"
    for branch in schema.get("allOf", ()) or ():
        problem = _error(value, branch, root, path, depth + 1)
        if problem:
            return problem
    any_of = schema.get("anyOf")
    if isinstance(any_of, list) and all(_error(value, b, root, path, depth + 1) for b in any_of):
        return f"{path}: matches none of anyOf"
    one_of = schema.get("oneOf")
    if isinstance(one_of, list):
        matches = sum(1 for b in one_of if _error(value, b, root, path, depth + 1) is None)
        if matches != 1:
            return f"{path}: matches {matches} of oneOf, not exactly one"
    negated = schema.get("not")
    if isinstance(negated, dict) and _error(value, negated, root, path, depth + 1) is None:
        return f"{path}: matches a schema it must not"
    if kind == "string":
        return _string_error(value, schema, path)  # type: ignore[arg-type]
    if kind in ("integer", "number"):
        return _number_error(value, schema, path)  # type: ignore[arg-type]
    if kind == "array":
        return _array_error(value, schema, root, path, depth)  # type: ignore[arg-type]
    if kind == "object":
        return _object_error(value, schema, root, path, depth)  # type: ignore[arg-type]
    return None


def _string_error(value: str, schema: dict[str, Any], path: str) -> str | None:
    if len(value) < schema.get("minLength", 0):
        return f"{path}: shorter than {plural(schema['minLength'], 'character')}"
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        return f"{path}: longer than {plural(schema['maxLength'], 'character')}"
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            if re.search(pattern, value) is None:
                return f"{path}: does not match {pattern!r}"
        except re.error:
            return None
    return None


def _number_error(value: float, schema: dict[str, Any], path: str) -> str | None:
    if "minimum" in schema and value < schema["minimum"]:
        return f"{path}: below the minimum {schema['minimum']}"
    if "maximum" in schema and value > schema["maximum"]:
        return f"{path}: above the maximum {schema['maximum']}"
    low, high = _num(schema.get("exclusiveMinimum")), _num(schema.get("exclusiveMaximum"))
    if low is not None and value <= low:
        return f"{path}: not above {low:g}"
    if high is not None and value >= high:
        return f"{path}: not below {high:g}"
    step = _num(schema.get("multipleOf"))
    if step is not None and step > 0:
        quotient = value / step
        if abs(quotient - round(quotient)) > 1e-9 * max(1.0, abs(quotient)):
            return f"{path}: not a multiple of {step}"
    return None


def _array_error(
    value: list[Any], schema: dict[str, Any], root: dict[str, Any], path: str, depth: int
) -> str | None:
    if len(value) < schema.get("minItems", 0):
        return f"{path}: fewer than {plural(schema['minItems'], 'item')}"
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        return f"{path}: more than {plural(schema['maxItems'], 'item')}"
    if schema.get("uniqueItems") and len({_canonical(item) for item in value}) != len(value):
        return f"{path}: items are not unique"
    prefix = schema.get("prefixItems")
    prefix = prefix if isinstance(prefix, list) else []
    items = schema.get("items")
    for index, item in enumerate(value):
        child = prefix[index] if index < len(prefix) else items
        problem = _error(item, child, root, f"{path}[{index}]", depth + 1)
        if problem:
            return problem
    return None


def _object_error(
    value: dict[str, Any], schema: dict[str, Any], root: dict[str, Any], path: str, depth: int
) -> str | None:
    for name in schema.get("required", ()) or ():
        if name not in value:
            return f"{path}: '{name}' is a required property"
    properties = schema.get("properties") or {}
    patterns = schema.get("patternProperties") or {}
    extra = schema.get("additionalProperties", True)
    if len(value) < schema.get("minProperties", 0):
        return f"{path}: fewer than {plural(schema['minProperties'], 'property', 'properties')}"
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        return f"{path}: more than {plural(schema['maxProperties'], 'property', 'properties')}"
    for name, item in value.items():
        child_path = f"{path}.{name}"
        if name in properties:
            problem = _error(item, properties[name], root, child_path, depth + 1)
        else:
            matched = [s for p, s in patterns.items() if re.search(p, name)]
            if matched:
                problem = next(
                    (e for s in matched if (e := _error(item, s, root, child_path, depth + 1))), None
                )
            elif extra is False:
                problem = f"{path}: additional property '{name}' is not allowed"
            else:
                problem = _error(item, extra, root, child_path, depth + 1)
        if problem:
            return problem
    return None


# --- invalid variants (the invalid-output knob) ---


def break_value(value: Any, schema: dict[str, Any], rng: random.Random) -> Any | None:
    """A variant of `value` that violates `schema`, or None when none is found: a required property dropped
    or a value of the wrong type (what any validator catches), else an extra property."""
    target: object = schema
    for _ in range(MAX_DEPTH):
        if not (isinstance(target, dict) and "$ref" in target):
            break
        target = resolve(schema, target["$ref"])
    groups: list[list[Any]] = []
    if isinstance(value, dict):
        required = target.get("required", ()) if isinstance(target, dict) else ()
        groups.append([{k: v for k, v in value.items() if k != name} for name in required if name in value])
        groups.append([{**value, name: _wrong_type(item)} for name, item in value.items()])
        groups.append([{**value, "unexpected_field": "unexpected"}])
    else:
        groups.append([_wrong_type(value)])
    for candidates in groups:
        rng.shuffle(candidates)
        found = next((c for c in candidates if first_error(c, schema) is not None), None)
        if found is not None:
            return found
    return None


def _wrong_type(value: object) -> object:
    if isinstance(value, str):
        return 12345
    if isinstance(value, bool) or value is None:
        return "not a " + json_type(value)
    if isinstance(value, int | float):
        return "not a number"
    if isinstance(value, list):
        return "not a list"
    return ["not", "an", "object"]


# --- generation ---


def generate(schema: dict[str, Any], salt: int, words: tuple[str, ...] = ()) -> Any:
    """A value that validates against `schema`, deterministic in `salt`, its strings built from `words`."""
    return _Generator(schema, random.Random(salt), words or ("value", "detail", "item")).value(schema, 0, "")


class _Generator:
    def __init__(self, root: dict[str, Any], rng: random.Random, words: tuple[str, ...]) -> None:
        self.root = root
        self.rng = rng
        self.words = words

    def word(self) -> str:
        return self.rng.choice(self.words)

    def value(self, schema: object, depth: int, key: str) -> Any:
        if depth > MAX_DEPTH:
            raise SchemaError("schema nests too deeply to generate a value")
        if schema is True or schema is None or schema == {}:
            return self.phrase(key)
        if not isinstance(schema, dict):
            raise SchemaError("no value satisfies this schema")
        if "$ref" in schema:
            target = resolve(self.root, schema["$ref"])
            rest = {k: v for k, v in schema.items() if k not in ("$ref", "$defs", "definitions")}
            return self.value(_merge(target, rest) if rest else target, depth + 1, key)
        if "allOf" in schema:
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for branch in schema["allOf"]:
                resolved = resolve(self.root, branch["$ref"]) if "$ref" in branch else branch
                merged = _merge(merged, resolved)
            return self.value(merged, depth + 1, key)
        for keyword in ("oneOf", "anyOf"):
            branches = schema.get(keyword)
            if isinstance(branches, list) and branches:
                return self.branch(schema, keyword, branches, depth, key)
        if "const" in schema:
            return schema["const"]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            allowed = [v for v in enum if first_error(v, {**schema, "enum": enum}, self.root) is None]
            return self.rng.choice(allowed or enum)
        kind = self.pick_type(schema, depth)
        if kind == "object":
            return self.object(schema, depth, key)
        if kind == "array":
            return self.array(schema, depth, key)
        if kind == "string":
            return self.string(schema, key)
        if kind == "integer":
            return self.integer(schema)
        if kind == "number":
            return self.number(schema)
        if kind == "boolean":
            return self.rng.random() < 0.5
        return None

    def pick_type(self, schema: dict[str, Any], depth: int) -> str:
        types = schema.get("type")
        if isinstance(types, str):
            return types
        if isinstance(types, list) and types:
            options = [t for t in types if t in _TYPES]
            concrete = [t for t in options if t != "null"]
            if depth >= SHALLOW_DEPTH and "null" in options:
                return "null"
            if concrete and (self.rng.random() < 0.8 or "null" not in options):
                return self.rng.choice(concrete)
            return "null" if "null" in options else "string"
        if "properties" in schema or "required" in schema or "additionalProperties" in schema:
            return "object"
        if "items" in schema or "prefixItems" in schema or "minItems" in schema:
            return "array"
        if any(k in schema for k in ("minimum", "maximum", "multipleOf", "exclusiveMinimum")):
            return "number"
        return "string"

    def branch(self, schema: dict[str, Any], keyword: str, branches: list[Any], depth: int, key: str) -> Any:
        rest = {k: v for k, v in schema.items() if k != keyword}
        order = list(range(len(branches)))
        self.rng.shuffle(order)
        if depth >= SHALLOW_DEPTH:  # prefer a branch that does not nest further
            order.sort(key=lambda i: _nests(branches[i]))
        last: Exception | None = None
        for index in order:
            candidate = _merge(rest, branches[index]) if rest else branches[index]
            try:
                value = self.value(candidate, depth + 1, key)
            except SchemaError as exc:
                last = exc
                continue
            if keyword == "oneOf":
                others = [b for i, b in enumerate(branches) if i != index]
                if any(first_error(value, other, self.root) is None for other in others):
                    continue
            return value
        raise SchemaError(f"no branch of {keyword} can be satisfied") from last

    def object(self, schema: dict[str, Any], depth: int, key: str) -> dict[str, Any]:
        properties: dict[str, Any] = schema.get("properties") or {}
        required = [name for name in schema.get("required", ()) or () if isinstance(name, str)]
        limit = schema.get("maxProperties", math.inf)
        result: dict[str, Any] = {}
        names = list(properties) + [name for name in required if name not in properties]
        extra = schema.get("additionalProperties", True)
        for name in names:
            if name not in required:
                if depth >= SHALLOW_DEPTH or len(result) + _missing(required, result) >= limit:
                    continue
                if self.rng.random() >= 0.75:
                    continue
            child = properties.get(name, extra if isinstance(extra, dict) else {})
            result[name] = self.value(child, depth + 1, name)
        number = 1
        while len(result) < schema.get("minProperties", 0) and extra is not False:
            name = f"{self.word()}_{number}"
            result.setdefault(name, self.value(extra if isinstance(extra, dict) else {}, depth + 1, name))
            number += 1
        return result

    def array(self, schema: dict[str, Any], depth: int, key: str) -> list[Any]:
        prefix = schema.get("prefixItems")
        prefix = prefix if isinstance(prefix, list) else []
        items = schema.get("items", {})
        low = max(int(schema.get("minItems", 0)), 0)
        high = int(schema.get("maxItems", low + 3))
        if items is False:
            high = min(high, len(prefix))
        count = low if depth >= SHALLOW_DEPTH else self.rng.randint(low, max(low, min(high, low + 3)))
        count = max(count, min(len(prefix), high) if depth < SHALLOW_DEPTH else 0, low)
        unique = bool(schema.get("uniqueItems"))
        result: list[Any] = []
        seen: set[bytes] = set()
        attempts = 0
        while len(result) < count and attempts < count * 8 + 8:
            attempts += 1
            index = len(result)
            child = prefix[index] if index < len(prefix) else items
            item = self.value(child, depth + 1, key)
            if unique:
                if isinstance(item, str) and _canonical(item) in seen:
                    item = f"{item} {index + 1}"
                    if first_error(item, child, self.root) is not None:
                        continue
                if _canonical(item) in seen:
                    continue
                seen.add(_canonical(item))
            result.append(item)
        if len(result) < low:
            raise SchemaError("cannot make enough distinct array items")
        return result

    def string(self, schema: dict[str, Any], key: str) -> str:
        fmt = schema.get("format")
        if fmt in FORMATS:
            return self.formatted(fmt)
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            matched = matching_string(pattern, self.rng)
            if matched is not None:
                return matched
        low = int(schema.get("minLength", 0))
        high = int(schema.get("maxLength", max(low, 60) + 40))
        text = self.phrase(key)
        while len(text) < low:
            text += " " + self.word()
        text = text[:high]
        if len(text) < low:  # words longer than the room: pad with letters
            text = (text + "x" * low)[:low]
        return text

    def phrase(self, key: str) -> str:
        count = min(self.rng.randint(1, 3), len(self.words))
        return " ".join(self.rng.sample(self.words, count))

    def formatted(self, fmt: str) -> str:
        r = self.rng
        day = f"2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"
        clock = f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}"
        word = re.sub(r"[^a-z0-9]", "", self.word().lower()) or "item"
        return {
            "date-time": f"{day}T{clock}Z",
            "date": day,
            "time": f"{clock}Z",
            "duration": f"P{r.randint(1, 30)}DT{r.randint(1, 23)}H",
            "email": f"{word}@example.com",
            "hostname": f"{word}.example.com",
            "uri": f"https://{word}.example.com/{r.randint(1, 999)}",
            "ipv4": f"192.0.2.{r.randint(1, 254)}",
            "ipv6": f"2001:db8::{r.randint(1, 0xFFFF):x}",
            "uuid": str(uuid.UUID(int=r.getrandbits(128), version=4)),
        }[fmt]

    def integer(self, schema: dict[str, Any]) -> int:
        low, high = _bounds(schema, integral=True)
        step = _num(schema.get("multipleOf"))
        if step is not None and step > 0:
            for _ in range(20):
                value = self.multiple(low, high, step)
                if value.is_integer():
                    return int(value)
            raise SchemaError("no integer multiple fits the bounds")
        if low > high:
            raise SchemaError("no integer fits the bounds")
        return self.rng.randint(int(low), int(high))

    def multiple(self, low: float, high: float, step: float) -> float:
        first, last = math.ceil(low / step), math.floor(high / step)
        if first > last:
            raise SchemaError("no multiple of the step fits the bounds")
        return float(self.rng.randint(first, last) * step)

    def number(self, schema: dict[str, Any]) -> float | int:
        low, high = _bounds(schema, integral=False)
        step = _num(schema.get("multipleOf"))
        if step is not None and step > 0:
            multiple = self.multiple(low, high, step)
            return int(multiple) if multiple.is_integer() else round(multiple, 10)
        if low > high:
            raise SchemaError("no number fits the bounds")
        value = round(self.rng.uniform(low, high), 2)
        return min(max(value, low), high)


def _bounds(schema: dict[str, Any], *, integral: bool) -> tuple[float, float]:
    low = float(schema.get("minimum", -math.inf))
    high = float(schema.get("maximum", math.inf))
    exclusive_low, exclusive_high = _num(schema.get("exclusiveMinimum")), _num(schema.get("exclusiveMaximum"))
    nudge = 1.0 if integral else 0.01
    if exclusive_low is not None:
        low = max(low, exclusive_low + nudge)
    if exclusive_high is not None:
        high = min(high, exclusive_high - nudge)
    if integral:
        low, high = math.ceil(low) if low > -math.inf else low, math.floor(high) if high < math.inf else high
    if low == -math.inf and high == math.inf:
        return (0.0, 100.0) if integral else (0.0, 1000.0)
    if low == -math.inf:
        return high - 100.0, high
    if high == math.inf:
        return low, low + 100.0
    return low, high


def _missing(required: list[str], result: dict[str, Any]) -> int:
    return sum(1 for name in required if name not in result)


def _nests(schema: object) -> int:
    """0 for a schema that ends here (a scalar type, an enum), 1 for one that may nest further."""
    if not isinstance(schema, dict):
        return 0
    if "$ref" in schema or schema.get("type") in ("object", "array"):
        return 1
    return 1 if any(k in schema for k in ("properties", "items", "anyOf", "oneOf", "allOf")) else 0


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`base` and `extra` combined for generation: properties and required united, limits tightened."""
    merged = dict(base)
    for key, value in extra.items():
        if key == "properties" and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        elif key == "required" and isinstance(merged.get(key), list):
            merged[key] = list(dict.fromkeys([*merged[key], *value]))
        elif (
            key in ("minimum", "minLength", "minItems", "minProperties", "exclusiveMinimum") and key in merged
        ):
            merged[key] = max(merged[key], value)
        elif (
            key in ("maximum", "maxLength", "maxItems", "maxProperties", "exclusiveMaximum") and key in merged
        ):
            merged[key] = min(merged[key], value)
        elif key == "type" and key in merged and merged[key] != value:
            ours = merged[key] if isinstance(merged[key], list) else [merged[key]]
            theirs = value if isinstance(value, list) else [value]
            common = [t for t in ours if t in theirs] or [
                t for t in ours if t == "integer" and "number" in theirs
            ]
            merged[key] = common if len(common) != 1 else common[0]
        else:
            merged[key] = value
    return merged


# --- simple regular expressions ---

_CLASSES = {
    "d": "0123456789",
    "w": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_",
    "s": " ",
}
_PRINTABLE = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_ "


def matching_string(pattern: str, rng: random.Random) -> str | None:
    """A string that `re.search(pattern, ...)` accepts, for the simple patterns structured outputs allow
    (literals, `.`, classes, `\\d \\w \\s`, groups, `|`, `* + ? {n} {n,m}`); None when it cannot make one."""
    for _ in range(8):
        try:
            text, end = _RegexWriter(pattern, rng).alternation(0)
        except (IndexError, ValueError):
            return None
        if end == len(pattern):
            try:
                if re.search(pattern, text) is not None:
                    return text
            except re.error:
                return None
    return None


class _RegexWriter:
    def __init__(self, pattern: str, rng: random.Random) -> None:
        self.p = pattern
        self.rng = rng

    def alternation(self, i: int) -> tuple[str, int]:
        options = []
        text, i = self.sequence(i)
        options.append(text)
        while i < len(self.p) and self.p[i] == "|":
            text, i = self.sequence(i + 1)
            options.append(text)
        return self.rng.choice(options), i

    def sequence(self, i: int) -> tuple[str, int]:
        out: list[str] = []
        while i < len(self.p) and self.p[i] not in "|)":
            choices, i = self.atom(i)
            low, high, i = self.quantifier(i)
            out.extend(choices() for _ in range(self.rng.randint(low, high)))
        return "".join(out), i

    def atom(self, i: int) -> tuple[Any, int]:
        c = self.p[i]
        if c in "^$":
            return (lambda: ""), i + 1
        if c == ".":
            return (lambda: self.rng.choice(_PRINTABLE.strip())), i + 1
        if c == "(":
            j = i + 1
            if self.p.startswith("?:", j):
                j += 2
            elif self.p.startswith("?", j):
                raise ValueError("unsupported group")
            start = j
            _text, end = self.alternation(start)
            if end >= len(self.p) or self.p[end] != ")":
                raise ValueError("unbalanced group")
            return (lambda: self._regroup(start)), end + 1
        if c == "[":
            return self.char_class(i + 1)
        if c == "\\":
            e = self.p[i + 1]
            if e in _CLASSES:
                pool = _CLASSES[e]
                return (lambda: self.rng.choice(pool)), i + 2
            if e.isalnum():
                raise ValueError("unsupported escape")
            return (lambda: e), i + 2
        if c in "*+?{":
            raise ValueError("nothing to repeat")
        return (lambda: c), i + 1

    def _regroup(self, start: int) -> str:
        return self.alternation(start)[0]

    def char_class(self, i: int) -> tuple[Any, int]:
        negate = self.p[i] == "^"
        i += negate
        pool: list[str] = []
        first = True
        while self.p[i] != "]" or first:
            first = False
            c = self.p[i]
            if c == "\\":
                e = self.p[i + 1]
                pool.extend(_CLASSES.get(e, e))
                i += 2
                continue
            if self.p[i + 1] == "-" and self.p[i + 2] != "]":
                pool.extend(chr(n) for n in range(ord(c), ord(self.p[i + 2]) + 1))
                i += 3
                continue
            pool.append(c)
            i += 1
        if negate:
            pool = [ch for ch in _PRINTABLE if ch not in pool]
        if not pool:
            raise ValueError("empty class")
        return (lambda: self.rng.choice(pool)), i + 1

    def quantifier(self, i: int) -> tuple[int, int, int]:
        if i >= len(self.p):
            return 1, 1, i
        c = self.p[i]
        low, high, i2 = 1, 1, i
        if c == "*":
            low, high, i2 = 0, 3, i + 1
        elif c == "+":
            low, high, i2 = 1, 4, i + 1
        elif c == "?":
            low, high, i2 = 0, 1, i + 1
        elif c == "{":
            end = self.p.index("}", i)
            body = self.p[i + 1 : end]
            if "," in body:
                a, b = body.split(",", 1)
                low = int(a or 0)
                high = int(b) if b else low + 3
            else:
                low = high = int(body)
            i2 = end + 1
        if i2 < len(self.p) and self.p[i2] == "?" and i2 != i:  # lazy: same strings
            i2 += 1
        return low, min(high, low + 6), i2
