"""Random JSON schemas for the conformance tests, from a seeded generator.

`strict=True` keeps to what structured outputs accept (the subset `output_config.format` takes); otherwise
any keyword the emulator's generator claims to honour may appear (tool input schemas are not constrained).
"""

from __future__ import annotations

import random
from typing import Any

WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet")
FORMATS = ("date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid")
PATTERNS = (r"^[A-Z]{3}-\d{4}$", r"^inv_[a-z0-9]{6,10}$", r"\d+", r"^(red|green|blue)$", r"^[a-f0-9]{8}$")


class SchemaMaker:
    def __init__(self, seed: int, *, strict: bool) -> None:
        self.rng = random.Random(seed)
        self.strict = strict
        self.defs: dict[str, Any] = {}

    def root(self) -> dict[str, Any]:
        schema = self.object(0)
        if self.defs:
            schema["$defs"] = self.defs
        return schema

    def any(self, depth: int) -> dict[str, Any]:
        r = self.rng
        roll = r.random()
        if depth >= 3 or roll < 0.45:
            return self.scalar()
        if roll < 0.62:
            return self.object(depth + 1)
        if roll < 0.77:
            return self.array(depth + 1)
        if roll < 0.85:
            return {"anyOf": [self.scalar(), self.any(depth + 1)]}
        if roll < 0.9 and not self.strict:
            return {"oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]}
        if roll < 0.95:
            name = f"Def{len(self.defs)}"
            self.defs[name] = {}  # reserved first: a definition never refers to itself
            self.defs[name] = self.object(depth + 1)
            return {"$ref": f"#/$defs/{name}"}
        return {"type": [self.rng.choice(("string", "integer", "boolean")), "null"]}

    def scalar(self) -> dict[str, Any]:
        r = self.rng
        kind = r.choice(("string", "string", "integer", "number", "boolean", "null", "enum", "const"))
        if kind == "enum":
            return {"enum": r.sample(WORDS, r.randint(1, 4))}
        if kind == "const":
            return {"const": r.choice((*WORDS, 3, True, None))}
        schema: dict[str, Any] = {"type": kind}
        if kind == "string":
            roll = r.random()
            if roll < 0.25:
                schema["format"] = r.choice(FORMATS)
            elif roll < 0.4:
                schema["pattern"] = r.choice(PATTERNS)
            elif roll < 0.65 and not self.strict:
                low = r.randint(0, 12)
                schema["minLength"] = low
                if r.random() < 0.7:
                    schema["maxLength"] = low + r.randint(0, 30)
        elif kind in ("integer", "number") and not self.strict and r.random() < 0.6:
            low = r.randint(-50, 50)
            schema["minimum"] = low
            schema["maximum"] = low + r.randint(0, 200)
            if kind == "integer" and r.random() < 0.3:
                schema["multipleOf"] = r.choice((2, 5, 10))
                schema["maximum"] = schema["minimum"] + 200
            if r.random() < 0.2:
                schema["exclusiveMinimum"] = schema.pop("minimum")
        return schema

    def object(self, depth: int) -> dict[str, Any]:
        r = self.rng
        names = r.sample(WORDS, r.randint(1, 5))
        properties = {name: self.any(depth) for name in names}
        required = [name for name in names if r.random() < 0.7]
        schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
        if self.strict or r.random() < 0.6:
            schema["additionalProperties"] = False
        elif r.random() < 0.5:
            schema["minProperties"] = len(required)
        return schema

    def array(self, depth: int) -> dict[str, Any]:
        r = self.rng
        schema: dict[str, Any] = {"type": "array", "items": self.any(depth)}
        if self.strict:
            if r.random() < 0.5:
                schema["minItems"] = r.choice((0, 1))
        else:
            low = r.randint(0, 4)
            schema["minItems"] = low
            if r.random() < 0.6:
                schema["maxItems"] = low + r.randint(0, 3)
            if r.random() < 0.25:
                schema["items"] = {"type": "integer", "minimum": 0, "maximum": 1000}
                schema["uniqueItems"] = True
        return schema
