"""Fixtures shared by the results tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from batchboard.core.results.index import ResultsIndex
from batchboard.core.store import Store


@pytest.fixture
def index(tmp_path: Path) -> Iterator[ResultsIndex]:
    """An empty results index in its own store (a module fills it by overriding `index` with a fixture that
    takes this one)."""
    with Store.open(tmp_path / "db.sqlite3") as store, ResultsIndex(store, tmp_path / "results") as index:
        yield index
