"""Each model's token limits as data (the bundled `model_limits.toml`, with sources): the most output a
request may ask for and the largest prompt. `submit` checks requests against them before sending; the
results code uses the output limit to say how far a truncated answer's `max_tokens` can still go.

A model with no known limits is `None` everywhere: nothing is checked for it, never a guessed figure.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = [
    "LimitsTable",
    "ModelLimits",
    "bundled_limits",
    "context_window",
    "max_output_tokens",
    "model_limits",
]


@dataclass(frozen=True, slots=True)
class ModelLimits:
    model: str
    max_output_tokens: int
    """The largest `max_tokens` the API accepts for this model (no beta header)."""
    context_window: int
    """The most input tokens a prompt may have."""
    source: str


@dataclass(frozen=True)
class LimitsTable:
    limits: dict[str, ModelLimits]
    aliases: dict[str, str]
    unknown: dict[str, str]
    checked: str

    def lookup(self, model: str) -> ModelLimits | None:
        return self.limits.get(self.aliases.get(model, model))


def parse_limits(text: str) -> LimitsTable:
    """Parse a limits document (the format of `model_limits.toml`). Raises on malformed data: the bundled
    file is ours, and a test loads it."""
    doc = tomllib.loads(text)
    limits: dict[str, ModelLimits] = {}
    aliases: dict[str, str] = {}
    for model, table in doc.get("models", {}).items():
        limits[model] = _entry(model, table)
        for alias in table.get("aliases", []):
            aliases[str(alias)] = model
    return LimitsTable(
        limits=limits,
        aliases=aliases,
        unknown={str(k): str(v) for k, v in doc.get("unknown", {}).items()},
        checked=str(doc.get("meta", {}).get("checked", "")),
    )


def _entry(model: str, table: dict[str, Any]) -> ModelLimits:
    output, window = table["max_output_tokens"], table["context_window"]
    if not (isinstance(output, int) and isinstance(window, int) and 0 < output <= window):
        raise ValueError(f"model_limits.toml: {model}: expected 0 < max_output_tokens <= context_window")
    return ModelLimits(model, output, window, str(table["source"]))


@lru_cache(maxsize=1)
def bundled_limits() -> LimitsTable:
    text = resources.files("batchboard.core").joinpath("model_limits.toml").read_text(encoding="utf-8")
    return parse_limits(text)


def model_limits(model: str) -> ModelLimits | None:
    """`model`'s limits (a dated id resolves through its alias), or None when they are not known."""
    return bundled_limits().lookup(model)


def max_output_tokens(model: str) -> int | None:
    """The largest `max_tokens` `model` accepts, or None when it is not known."""
    found = model_limits(model)
    return found.max_output_tokens if found else None


def context_window(model: str) -> int | None:
    """The most input tokens a prompt for `model` may have, or None when it is not known."""
    found = model_limits(model)
    return found.context_window if found else None
