"""Paths honour the override variables, fall back to platformdirs, and are never created by asking."""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest

from batchboard.core import paths


def test_overrides_from_environment(isolated_dirs: Path) -> None:
    assert paths.config_dir() == isolated_dirs / "config"
    assert paths.data_dir() == isolated_dirs / "data"
    assert paths.config_file() == isolated_dirs / "config" / "config.toml"
    assert paths.database_file() == isolated_dirs / "data" / "batchboard.sqlite3"
    assert paths.results_dir() == isolated_dirs / "data" / "results"


def test_nothing_is_created_by_asking(isolated_dirs: Path) -> None:
    paths.config_file()
    paths.database_file()
    paths.results_dir()
    assert not (isolated_dirs / "config").exists()
    assert not (isolated_dirs / "data").exists()


def test_computed_on_each_call(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BATCHBOARD_DATA_DIR", str(tmp_path / "elsewhere"))
    assert paths.database_file() == tmp_path / "elsewhere" / "batchboard.sqlite3"


def test_platformdirs_without_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BATCHBOARD_CONFIG_DIR")
    monkeypatch.setenv("BATCHBOARD_DATA_DIR", "  ")  # blank counts as unset
    assert paths.config_dir() == platformdirs.user_config_path("batchboard", appauthor=False)
    assert paths.data_dir() == platformdirs.user_data_path("batchboard", appauthor=False)
