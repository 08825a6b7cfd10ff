"""Where batchboard keeps its config and local state, computed on every call and never created here.

Each location has one environment variable that overrides it (`BATCHBOARD_CONFIG_DIR`,
`BATCHBOARD_DATA_DIR`); that is also how the tests isolate themselves.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "batchboard"
CONFIG_DIR_ENV = "BATCHBOARD_CONFIG_DIR"
DATA_DIR_ENV = "BATCHBOARD_DATA_DIR"


def _override(env_var: str) -> Path | None:
    value = os.environ.get(env_var, "").strip()
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    """The directory holding `config.toml` (not created)."""
    return _override(CONFIG_DIR_ENV) or platformdirs.user_config_path(APP_NAME, appauthor=False)


def data_dir() -> Path:
    """The directory holding the SQLite store and downloaded results (not created)."""
    return _override(DATA_DIR_ENV) or platformdirs.user_data_path(APP_NAME, appauthor=False)


def config_file() -> Path:
    return config_dir() / "config.toml"


def database_file() -> Path:
    return data_dir() / "batchboard.sqlite3"


def results_dir() -> Path:
    return data_dir() / "results"
