"""Themes and keymap entries are checked against the app's own: `config set` refuses them (with "did you
mean" and both names of a clash), `batchboard config` lists them as problems, and the TUI says so at start
and leaves the entry out, so a key never silently replaces another action."""

from __future__ import annotations

import json

import pytest

from batchboard.cli import main
from batchboard.core import paths
from batchboard.core.config import Settings, load_settings
from batchboard.ui.app import BatchboardApp
from batchboard.ui.keymap_choices import choices


def test_the_binding_ids_are_the_apps_own() -> None:
    screens = choices(BatchboardApp).screens
    dashboard = {b.id: b.keys for b in screens["dashboard"]}
    assert dashboard["dashboard.cancel"] == ("c",) and dashboard["app.quit"] == ("q",)
    assert dashboard["table.down"] == ("down", "j")  # the table's, on the screen that shows it
    assert "table.detail" in dashboard and "table.select" not in dashboard  # BatchTable's enter replaces it
    assert all("app.help" in {b.id for b in bindings} for bindings in screens.values())
    assert {"detail", "problems", "inspector", "submit", "retry", "help"} <= set(screens)


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("theme", "notatheme", 'theme: unknown theme "notatheme"; known themes: ansi-dark,'),
        ("theme", "nordd", 'theme: unknown theme "nordd"; did you mean "nord"?'),
        (
            "keymap.dashboard.nope",
            "y",
            'keymap.dashboard.nope: unknown binding id "dashboard.nope"; did you mean',
        ),
        (
            "keymap.dashboard.cancel",
            "q",
            'keymap.dashboard.cancel: "q" would be both Cancel (dashboard.cancel) and Quit (app.quit) on the '
            "dashboard screen; give one of them another key",
        ),
        (
            "keymap.table.down",
            "q",
            '"q" would be both Down (table.down) and Quit (app.quit) on the dashboard, problems screens',
        ),
    ],
)
def test_config_set_refuses_what_the_app_cannot_use(
    key: str, value: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "set", key, value]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and said in captured.err, captured.err
    assert not paths.config_file().exists()


def test_config_set_takes_a_free_key_and_a_real_theme(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "set", "keymap.dashboard.cancel", "x"]) == 0
    assert main(["config", "set", "theme", "nord"]) == 0
    assert load_settings()[0] == Settings(theme="nord", keymap={"dashboard.cancel": "x"})
    # Now "c" is free on the dashboard, but still Cancel on the detail screen.
    assert main(["config", "set", "keymap.app.help", "c"]) == 2
    err = capsys.readouterr().err
    assert "Cancel (detail.cancel) on the detail screen" in err and "dashboard.cancel" not in err


def test_batchboard_config_lists_them_as_problems(capsys: pytest.CaptureFixture[str]) -> None:
    file = paths.config_file()
    file.parent.mkdir(parents=True)
    file.write_text('theme = "notatheme"\n[keymap]\n"dashboard.nope" = "y"\n"dashboard.cancel" = "q"\n')
    assert main(["config"]) == 0
    err = capsys.readouterr().err
    assert 'theme: unknown theme "notatheme"' in err
    assert 'keymap.dashboard.nope: unknown binding id "dashboard.nope"' in err
    assert "Cancel (dashboard.cancel) and Quit (app.quit)" in err
    assert main(["config", "--json"]) == 0
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert [p.split(": ")[1] for p in problems] == [
        "theme",
        "keymap.dashboard.nope",
        "keymap.dashboard.cancel",
    ]
    # Fixing one key at a time works although the others are still wrong.
    assert main(["config", "set", "keymap.dashboard.cancel", "x"]) == 0
