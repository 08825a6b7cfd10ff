"""A demo run never writes into the user's own data dir (labels, ETA history, results files)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from batchboard.cli import main
from batchboard.core import paths


class RecordingApp:
    """Stands in for the Textual app: records where the run's data would go."""

    seen: dict[str, Any] = {}

    def __init__(self, **kwargs: Any) -> None:
        RecordingApp.seen = {"kwargs": kwargs}

    def run(self) -> None:
        RecordingApp.seen["data_dir"] = paths.data_dir()
        RecordingApp.seen["database"] = Path(RecordingApp.seen["kwargs"]["store"].path)
        RecordingApp.seen["database"].parent.joinpath("marker").write_text("x")


@pytest.fixture
def recording_app(monkeypatch: pytest.MonkeyPatch) -> type[RecordingApp]:
    import batchboard.ui.app

    monkeypatch.setattr(batchboard.ui.app, "make_app", RecordingApp)
    return RecordingApp


def test_demo_uses_a_throwaway_data_dir(recording_app: type[RecordingApp], isolated_dirs: Path) -> None:
    user_data = Path(os.environ["BATCHBOARD_DATA_DIR"])
    assert main(["--demo"]) == 0
    used = recording_app.seen["data_dir"]
    assert used != user_data and user_data not in used.parents
    assert recording_app.seen["database"].parent == used
    assert not used.exists(), "the demo's scratch dir is removed when the app exits"
    assert not (user_data / "batchboard.sqlite3").exists()


def test_with_a_key_the_users_data_dir_is_used(
    recording_app: type[RecordingApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-not-real")
    user_data = Path(os.environ["BATCHBOARD_DATA_DIR"])
    assert main([]) == 0
    assert recording_app.seen["data_dir"] == user_data
    assert (user_data / "marker").exists()


def test_only_the_throwaway_store_gets_the_demos_submissions(
    recording_app: type[RecordingApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo records its structured batches as sent from batchboard: in its own scratch store, never in
    the user's (a run with a key can still switch to the demo)."""
    assert main(["--demo"]) == 0
    kwargs = recording_app.seen["kwargs"]
    store, directory = kwargs["connect"].__self__.sent_from
    assert store is kwargs["store"] and directory.parent == recording_app.seen["data_dir"]
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-not-real")
    assert main([]) == 0
    assert recording_app.seen["kwargs"]["demo_connect"].__self__.sent_from is None
