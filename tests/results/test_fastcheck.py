"""The fast path of output validation answers exactly what jsonschema answers, valid or not, for every schema
it compiles (and refuses the ones it cannot judge alike), on seeded random schemas and instances: conforming
ones, broken ones, and leaves swapped for values where JSON Schema's equality differs from Python's."""

from __future__ import annotations

import random
from typing import Any

import jsonschema
import pytest
from tests.emulator.random_schemas import SchemaMaker
from tests.results.helpers import ORDER_SCHEMA, WEATHER_TOOL

from batchboard.core.results.fastcheck import Unsupported, compile_schema
from batchboard.emulator.schema import break_value, generate

CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER
WORDS = ("tide", "harbour", "kelp", "pier", "ferry")
#: Values that JSON Schema and Python compare differently, or that land on a keyword's type edge.
TRICKY: tuple[Any, ...] = (True, False, 0, 1, 1.0, 2.5, -1, "", "1", "tide", None, [], {}, [1], {"a": 1})


def mutated(value: Any, rng: random.Random) -> Any:
    """`value` with one leaf (or the whole value) replaced by a tricky one."""
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(sorted(value))
        return {**value, key: mutated(value[key], rng)}
    if isinstance(value, list) and value and rng.random() < 0.8:
        at = rng.randrange(len(value))
        return [*value[:at], mutated(value[at], rng), *value[at + 1 :]]
    return rng.choice(TRICKY)


def agree(schema: dict[str, Any], values: list[Any]) -> int:
    validator = jsonschema.Draft202012Validator(schema, format_checker=CHECKER)
    fast = compile_schema(schema, CHECKER)
    for value in values:
        assert fast(value) == validator.is_valid(value), (schema, value)
    return len(values)


@pytest.mark.parametrize("strict", [True, False])
def test_the_fast_path_agrees_with_jsonschema_on_random_schemas(strict: bool) -> None:
    compiled = checked = invalid = 0
    for seed in range(150):
        schema = SchemaMaker(seed, strict=strict).root()
        try:
            compile_schema(schema, CHECKER)
        except Unsupported:
            continue
        compiled += 1
        rng = random.Random(seed)
        values = [generate(schema, seed * 31 + salt, WORDS) for salt in range(3)]
        values += [v for v in (break_value(values[0], schema, rng) for _ in range(3)) if v is not None]
        values += [mutated(values[i % 3], rng) for i in range(12)]
        validator = jsonschema.Draft202012Validator(schema, format_checker=CHECKER)
        invalid += sum(not validator.is_valid(v) for v in values)
        checked += agree(schema, values)
    assert compiled >= (120 if strict else 60)  # most schemas get the fast path
    assert checked > compiled * 12 and invalid > compiled * 3  # both answers were exercised


def test_keyword_edges() -> None:
    cases: list[tuple[dict[str, Any], list[Any]]] = [
        ({"type": "integer"}, [1, 1.0, 1.5, True, "1", None]),
        ({"type": "number"}, [1, 2.5, True, False, "2"]),
        ({"type": ["string", "null"]}, ["", None, 0, False]),
        ({"enum": ["a", 1, None]}, ["a", 1, 1.0, True, None, "1", [], {}]),
        ({"const": 0}, [0, 0.0, False, None, ""]),
        ({"required": ["a"]}, [{"a": 1}, {}, [], "a"]),
        ({"properties": {"a": {"type": "string"}}, "additionalProperties": False}, [{"a": "x"}, {"b": 1}, 3]),
        ({"additionalProperties": {"type": "integer"}}, [{"x": 1}, {"x": "1"}, {}]),
        ({"items": {"type": "string"}, "minItems": 1, "maxItems": 2}, [[], ["a"], ["a", 1], ["a"] * 3, "ab"]),
        ({"minLength": 2, "maxLength": 3, "pattern": "^a"}, ["ab", "a", "abcd", "ba", 12]),
        ({"minimum": 1, "exclusiveMaximum": 3}, [1, 2.9, 3, 0, True, "2"]),
        ({"format": "date"}, ["2026-02-28", "2026-02-30", 20260228]),
        ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, ["a", 1, 1.5]),
        ({"oneOf": [{"type": "integer"}, {"type": "number"}]}, [1, 1.5, "a"]),
        ({"not": {"type": "null"}}, [None, 0]),
        (
            {
                "$defs": {"n": {"type": "object", "properties": {"next": {"$ref": "#/$defs/n"}}}},
                "$ref": "#/$defs/n",
            },
            [{}, {"next": {"next": {}}}, {"next": 1}],
        ),
        (
            ORDER_SCHEMA,
            [{"customer": "a", "items": []}, {"customer": "a", "items": [{"name": "x", "price": "1"}]}],
        ),
        (WEATHER_TOOL["input_schema"], [{"city": "Oslo", "celsius": -3}, {"city": "Oslo"}]),
    ]
    for schema, values in cases:
        agree(schema, values)


@pytest.mark.parametrize(
    "schema",
    [
        {"uniqueItems": True},
        {"multipleOf": 2},
        {"patternProperties": {"^x": {}}, "additionalProperties": False},
        {"enum": [True, 1]},
        {"const": {"a": 1}},
        {"$ref": "https://example.com/s.json"},
        {"$schema": "http://json-schema.org/draft-07/schema#", "items": [{"type": "string"}]},
        {"if": {"type": "string"}, "then": {"minLength": 1}},
    ],
)
def test_what_it_cannot_judge_alike_is_left_to_jsonschema(schema: dict[str, Any]) -> None:
    with pytest.raises(Unsupported):
        compile_schema(schema, CHECKER)
