"""The models the emulator knows: ids, dates, limits, lifecycle, as `GET /v1/models` lists them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from batchboard.emulator._util import rfc3339

#: Prompt prefixes shorter than this are not cached, as on the real API (silently, no error).
MIN_CACHEABLE_TOKENS = 1024


@dataclass(frozen=True, slots=True)
class ModelSpec:
    id: str
    display_name: str
    released: datetime
    max_tokens: int
    max_input_tokens: int
    line: str | None
    lifecycle: str = "active"
    deprecated_at: datetime | None = None
    retires_at: datetime | None = None
    thinking: bool = True

    def to_json(self) -> dict[str, Any]:
        def support(flag: bool) -> dict[str, bool]:
            return {"supported": flag}

        return {
            "type": "model",
            "id": self.id,
            "display_name": self.display_name,
            "created_at": rfc3339(self.released),
            "lifecycle": self.lifecycle,
            "deprecated_at": rfc3339(self.deprecated_at) if self.deprecated_at else None,
            "retires_at": rfc3339(self.retires_at) if self.retires_at else None,
            "line": self.line,
            "max_input_tokens": self.max_input_tokens,
            "max_tokens": self.max_tokens,
            "capabilities": {
                "batch": support(True),
                "citations": support(True),
                "code_execution": support(self.thinking),
                "context_management": {
                    "supported": True,
                    "clear_thinking_20251015": support(self.thinking),
                    "clear_tool_uses_20250919": support(True),
                    "compact_20260112": support(self.thinking),
                },
                "effort": {
                    "supported": self.thinking,
                    "low": support(self.thinking),
                    "medium": support(self.thinking),
                    "high": support(self.thinking),
                    "max": support(self.thinking),
                    "xhigh": support(False),
                },
                "image_input": support(True),
                "pdf_input": support(True),
                "server_tools": {
                    "supported": True,
                    "code_execution": support(True),
                    "web_search": support(True),
                },
                "structured_outputs": support(True),
                "thinking": {
                    "supported": self.thinking,
                    "types": {
                        "adaptive": support(self.thinking),
                        "between_tools": support(self.thinking),
                        "disabled": support(True),
                        "enabled": support(self.thinking),
                    },
                },
            },
        }


def _day(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


# Newest first, as the API lists them. Limits and dates are the emulator's own plausible figures.
MODELS: tuple[ModelSpec, ...] = (
    ModelSpec("claude-opus-5-5", "Claude Opus 5.5", _day(2026, 10, 28), 128_000, 1_000_000, "opus"),
    ModelSpec("claude-sonnet-5-5", "Claude Sonnet 5.5", _day(2026, 10, 28), 64_000, 1_000_000, "sonnet"),
    ModelSpec("claude-haiku-5-5", "Claude Haiku 5.5", _day(2026, 10, 21), 64_000, 200_000, "haiku"),
    ModelSpec("claude-fable-5-2", "Claude Fable 5.2", _day(2026, 9, 30), 64_000, 400_000, "fable"),
    ModelSpec("claude-mythos-5-2", "Claude Mythos 5.2", _day(2026, 9, 30), 128_000, 1_000_000, "mythos"),
    ModelSpec("claude-fable-5-1", "Claude Fable 5.1", _day(2026, 8, 12), 64_000, 400_000, "fable"),
    ModelSpec("claude-mythos-5-1", "Claude Mythos 5.1", _day(2026, 8, 12), 128_000, 1_000_000, "mythos"),
    ModelSpec("claude-sonnet-5", "Claude Sonnet 5", _day(2026, 6, 24), 64_000, 1_000_000, "sonnet"),
    ModelSpec("claude-opus-5", "Claude Opus 5", _day(2026, 6, 24), 128_000, 1_000_000, "opus"),
    ModelSpec("claude-fable-5", "Claude Fable 5", _day(2026, 6, 3), 64_000, 400_000, "fable"),
    ModelSpec("claude-mythos-5", "Claude Mythos 5", _day(2026, 6, 3), 128_000, 1_000_000, "mythos"),
    ModelSpec("claude-opus-4-8", "Claude Opus 4.8", _day(2026, 4, 15), 128_000, 1_000_000, "opus"),
    ModelSpec("claude-opus-4-7", "Claude Opus 4.7", _day(2026, 3, 4), 128_000, 1_000_000, "opus"),
    ModelSpec(
        "claude-mythos-preview",
        "Claude Mythos Preview",
        _day(2026, 2, 18),
        128_000,
        1_000_000,
        "mythos",
        lifecycle="retired",
        deprecated_at=_day(2026, 4, 1),
        retires_at=_day(2026, 6, 30),
    ),
    ModelSpec("claude-opus-4-6", "Claude Opus 4.6", _day(2026, 2, 5), 128_000, 1_000_000, "opus"),
    ModelSpec("claude-sonnet-4-6", "Claude Sonnet 4.6", _day(2026, 2, 17), 64_000, 1_000_000, "sonnet"),
    ModelSpec("claude-opus-4-5-20251101", "Claude Opus 4.5", _day(2025, 11, 24), 64_000, 200_000, "opus"),
    ModelSpec("claude-haiku-4-5-20251001", "Claude Haiku 4.5", _day(2025, 10, 15), 64_000, 200_000, "haiku"),
    ModelSpec(
        "claude-sonnet-4-5-20250929",
        "Claude Sonnet 4.5",
        _day(2025, 9, 29),
        64_000,
        1_000_000,
        "sonnet",
        lifecycle="deprecated",
        deprecated_at=_day(2026, 8, 1),
        retires_at=_day(2026, 11, 30),
    ),
)

#: Undated aliases the API accepts in requests and in `GET /v1/models/{id}`.
ALIASES: dict[str, str] = {
    "claude-opus-4-5": "claude-opus-4-5-20251101",
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
}

_BY_ID = {model.id: model for model in MODELS}


def resolve_model(name: str) -> ModelSpec | None:
    """The model a request may use under `name` (id or alias); None if unknown or retired."""
    spec = _BY_ID.get(ALIASES.get(name, name))
    if spec is None or spec.lifecycle == "retired":
        return None
    return spec


def lookup_model(name: str) -> ModelSpec | None:
    """The catalogue entry for `name` (id or alias), retired models included."""
    return _BY_ID.get(ALIASES.get(name, name))
