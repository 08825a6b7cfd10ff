"""Shared fixtures: every test runs with its own config and data directories and no real API key."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

#: One hostile string pushed through every display path (see shared/STYLE.md).
HOSTILE = "[/] [@click=app.quit]x[/] list[int] \x1b[31mred\x1b[0m [bold]not bold"
#: How HOSTILE looks on screen: the markup stays literal, the terminal escapes are made visible (␛).
SHOWN = "[/] [@click=app.quit]x[/] list[int] \u241b[31mred\u241b[0m [bold]not bold"


class Terminal(io.StringIO):
    """A stream that says it is a terminal: stderr for the CLI's progress lines, or stdin with the
    user's answers typed in advance."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point config and data at a temp dir and drop any real credentials from the environment."""
    monkeypatch.setenv("BATCHBOARD_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("BATCHBOARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path / "anthropic-config"))
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "ANTHROPIC_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    yield tmp_path
