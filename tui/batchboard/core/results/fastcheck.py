"""A compiled test of validity for the schemas structured outputs use, about twenty times faster than asking
jsonschema, which stays the judge: it gives the violation whenever this says an answer is not valid.

`compile_schema` turns a schema made of the keywords below into one predicate that answers exactly what
jsonschema's Draft 2020-12 validator answers (valid or not); a schema with any other keyword (or a form of
one it does not take) raises `Unsupported`, and then every answer goes to jsonschema. What counts as the same
answer follows jsonschema's own rules: each keyword ignores instances of other types, `integer` takes 1.0,
`true` is not 1, formats go through the same format checker. tests/results/test_fastcheck.py compares the
two on seeded random schemas and on conforming and broken instances of each.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Predicate = Callable[[Any], bool]

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
#: Keywords that never change validity (annotations), and where definitions live.
IGNORED = frozenset(
    {"title", "description", "default", "examples", "$comment", "deprecated", "readOnly", "writeOnly"}
)
DEFINITIONS = ("$defs", "definitions")
_REF = re.compile(r"^#/(\$defs|definitions)/([A-Za-z0-9_.-]+)$")


class Unsupported(Exception):
    """The schema uses a keyword (or a form of one) the fast path does not take: jsonschema decides alone."""


def _is_integer(v: Any) -> bool:
    return type(v) is int or (type(v) is float and v.is_integer())


_TYPES: dict[str, Predicate] = {
    "string": lambda v: type(v) is str,
    "integer": _is_integer,
    "number": lambda v: type(v) is int or type(v) is float,
    "boolean": lambda v: type(v) is bool,
    "null": lambda v: v is None,
    "object": lambda v: type(v) is dict,
    "array": lambda v: type(v) is list,
}
_NUMBER = _TYPES["number"]


def compile_schema(root: Any, format_checker: Any) -> Predicate:
    """The predicate of `root` (a schema as a dict or a boolean); raises Unsupported."""
    if isinstance(root, dict) and root.get("$schema", DRAFT_2020_12) != DRAFT_2020_12:
        raise Unsupported("$schema")
    compiled: dict[str, Predicate] = {}

    def reference(ref: Any) -> Predicate:
        match = _REF.match(ref) if isinstance(ref, str) else None
        if match is None or not isinstance(root, dict):
            raise Unsupported(f"$ref {ref!r}")
        definitions = root.get(match.group(1))
        if not isinstance(definitions, dict) or match.group(2) not in definitions:
            raise Unsupported(f"$ref {ref!r}")
        name = ref
        if name not in compiled:
            compiled[name] = _never  # a definition that refers to itself compiles once
            compiled[name] = build(definitions[match.group(2)])
        return lambda v: compiled[name](v)

    def build(schema: Any) -> Predicate:
        if schema is True:
            return _always
        if schema is False:
            return _never
        if not isinstance(schema, dict):
            raise Unsupported("not a schema")
        checks: list[Predicate] = []
        for key, value in schema.items():
            if key in IGNORED or key in DEFINITIONS or key == "$schema":
                continue
            maker = _KEYWORDS.get(key)
            if maker is None:
                raise Unsupported(key)
            checks.append(maker(value, schema, build, reference, format_checker))
        if not checks:
            return _always
        if len(checks) == 1:
            return checks[0]
        return _every(checks)

    return build(root)


def _every(checks: list[Predicate]) -> Predicate:
    # Plain loops: these run for every field of every answer, and a loop is faster than all() of a generator.
    def check(v: Any) -> bool:
        for test in checks:  # noqa: SIM110
            if not test(v):
                return False
        return True

    return check


def _always(v: Any) -> bool:
    return True


def _never(v: Any) -> bool:
    return False


Builder = Callable[[Any], Predicate]


def _type(value: Any, schema: dict[str, Any], build: Builder, ref: Any, fmt: Any) -> Predicate:
    names = value if isinstance(value, list) else [value]
    if not names or any(name not in _TYPES for name in names):
        raise Unsupported("type")
    tests = [_TYPES[name] for name in names]
    if len(tests) == 1:
        return tests[0]
    return lambda v: any(test(v) for test in tests)


def _members(values: list[Any]) -> frozenset[Any]:
    # Strings, numbers and null compare as jsonschema compares them (1 == 1.0, "1" != 1); booleans and
    # containers have their own rules there, so a schema listing them goes to jsonschema alone.
    if any(type(m) not in (str, int, float) and m is not None for m in values):
        raise Unsupported("enum member")
    return frozenset(values)


def _enum(value: Any, schema: dict[str, Any], build: Builder, ref: Any, fmt: Any) -> Predicate:
    if not isinstance(value, list):
        raise Unsupported("enum")
    members = _members(value)
    return lambda v: type(v) in (str, int, float, type(None)) and v in members


def _const(value: Any, schema: dict[str, Any], build: Builder, ref: Any, fmt: Any) -> Predicate:
    members = _members([value])
    return lambda v: type(v) in (str, int, float, type(None)) and v in members


def _properties(value: Any, schema: dict[str, Any], build: Builder, ref: Any, fmt: Any) -> Predicate:
    if not isinstance(value, dict):
        raise Unsupported("properties")
    tests = [(name, build(sub)) for name, sub in value.items()]

    def check(v: Any) -> bool:
        if type(v) is dict:
            for name, test in tests:
                if name in v and not test(v[name]):
                    return False
        return True

    return check


def _required(value: Any, schema: dict[str, Any], build: Builder, ref: Any, fmt: Any) -> Predicate:
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise Unsupported("required")
    names = tuple(value)

    def check(v: Any) -> bool:
        if type(v) is dict:
            for name in names:
                if name not in v:
                    return False
        return True

    return check


def _additional(value: Any, schema: dict[str, Any], build: Builder, ref: Any, fmt: Any) -> Predicate:
    if "patternProperties" in schema:
        raise Unsupported("patternProperties")
    known = frozenset(schema.get("properties") or ())
    if value is True:
        return _always
    if value is False:
        return lambda v: type(v) is not dict or known.issuperset(v)
    test = build(value)
    return lambda v: type(v) is not dict or all(test(item) for name, item in v.items() if name not in known)


def _items(value: Any, schema: dict[str, Any], build: Builder, ref: Any, fmt: Any) -> Predicate:
    if "prefixItems" in schema or isinstance(value, list):
        raise Unsupported("prefixItems")
    test = build(value)
    return lambda v: type(v) is not list or all(test(item) for item in v)


def _count(kind: str, compare: Callable[[int, int], bool]) -> Any:
    check = _TYPES[kind]

    def make(value: Any, schema: dict[str, Any], build: Builder, ref: Any, fmt: Any) -> Predicate:
        if type(value) is not int or value < 0:
            raise Unsupported("count")
        return lambda v: not check(v) or compare(len(v), value)

    return make


def _bound(compare: Callable[[Any, Any], bool]) -> Any:
    def make(value: Any, schema: dict[str, Any], build: Builder, ref: Any, fmt: Any) -> Predicate:
        if not _NUMBER(value):
            raise Unsupported("bound")
        return lambda v: not _NUMBER(v) or compare(v, value)

    return make


def _pattern(value: Any, schema: dict[str, Any], build: Builder, ref: Any, fmt: Any) -> Predicate:
    if not isinstance(value, str):
        raise Unsupported("pattern")
    try:
        search = re.compile(value).search
    except re.error as error:
        raise Unsupported("pattern") from error
    return lambda v: type(v) is not str or search(v) is not None


def _format(value: Any, schema: dict[str, Any], build: Builder, ref: Any, fmt: Any) -> Predicate:
    if fmt is None:
        return _always
    conforms = fmt.conforms
    return lambda v: conforms(v, value)


def _any_of(value: Any, schema: dict[str, Any], build: Builder, ref: Any, fmt: Any) -> Predicate:
    tests = _subschemas(value, build)
    return lambda v: any(test(v) for test in tests)


def _one_of(value: Any, schema: dict[str, Any], build: Builder, ref: Any, fmt: Any) -> Predicate:
    tests = _subschemas(value, build)
    return lambda v: sum(1 for test in tests if test(v)) == 1


def _all_of(value: Any, schema: dict[str, Any], build: Builder, ref: Any, fmt: Any) -> Predicate:
    tests = _subschemas(value, build)
    return lambda v: all(test(v) for test in tests)


def _not(value: Any, schema: dict[str, Any], build: Builder, ref: Any, fmt: Any) -> Predicate:
    test = build(value)
    return lambda v: not test(v)


def _ref(value: Any, schema: dict[str, Any], build: Builder, ref: Any, fmt: Any) -> Predicate:
    test: Predicate = ref(value)
    return test


def _subschemas(value: Any, build: Builder) -> list[Predicate]:
    if not isinstance(value, list) or not value:
        raise Unsupported("subschemas")
    return [build(sub) for sub in value]


_KEYWORDS: dict[str, Any] = {
    "type": _type,
    "enum": _enum,
    "const": _const,
    "properties": _properties,
    "required": _required,
    "additionalProperties": _additional,
    "items": _items,
    "minItems": _count("array", lambda n, limit: n >= limit),
    "maxItems": _count("array", lambda n, limit: n <= limit),
    "minLength": _count("string", lambda n, limit: n >= limit),
    "maxLength": _count("string", lambda n, limit: n <= limit),
    "minProperties": _count("object", lambda n, limit: n >= limit),
    "maxProperties": _count("object", lambda n, limit: n <= limit),
    "minimum": _bound(lambda v, limit: v >= limit),
    "maximum": _bound(lambda v, limit: v <= limit),
    "exclusiveMinimum": _bound(lambda v, limit: v > limit),
    "exclusiveMaximum": _bound(lambda v, limit: v < limit),
    "pattern": _pattern,
    "format": _format,
    "anyOf": _any_of,
    "oneOf": _one_of,
    "allOf": _all_of,
    "not": _not,
    "$ref": _ref,
}
