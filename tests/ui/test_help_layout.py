"""The help reads well at 80x24 and 120x40: one line per key, what it does shortened to fit (the reason a
key does not apply now is kept before the tooltip), cut with "…"; its own keys on the footer."""

from __future__ import annotations

import pytest
from tests.ui.conftest import first_round

from batchboard.ui.app import BatchboardApp
from batchboard.ui.screens.help import HelpKeys, HelpRow, HelpScreen, help_lines
from batchboard.ui.widgets.key_footer import KeyFooter

HOSTILE = "[/] [@click=app.quit]x[/] list[int]"


def test_lines_fit_the_width_and_keep_the_reason_before_the_tooltip() -> None:
    rows = [
        HelpRow(
            "c",
            ("Cancel: Cancel the selected batch (not now: it ended)", "Cancel (not now: it ended)"),
            "x.c",
        ),
        HelpRow("s", ("Sort: Sort by created, status, expiry, cost and more",), "dashboard.sort"),
        HelpRow("^p", (HOSTILE,)),
    ]
    lines = [line.plain for line in help_lines(rows, 40)]
    assert all(len(line) <= 40 for line in lines)
    assert lines[0].startswith("c   Cancel (not now: it ended)")
    assert lines[1].endswith("…  dashboard.sort") or "…" in lines[1]
    assert HOSTILE[:10] in lines[2]
    narrow = [line.plain for line in help_lines(rows, 30)]  # no room for the ids: they make way
    assert all(len(line) <= 30 for line in narrow) and "dashboard.sort" not in narrow[1]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_the_help_has_one_line_per_key_and_its_own_footer(
    app: BatchboardApp, size: tuple[int, int]
) -> None:
    async with app.run_test(size=size) as pilot:
        await first_round(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        keys = screen.query_one(HelpKeys)
        assert keys.size.height == len(screen.rows)  # nothing wraps
        lines = [line.plain for line in help_lines(keys.rows, keys.content_size.width)]
        assert all(len(line) <= keys.content_size.width for line in lines)
        cut = [line for line in lines if "…" in line]
        assert len(cut) < len(lines) // 2  # most keys read in full, even at 80 columns
        if size[0] == 80:
            assert cut and all(line.split("…")[0].strip() for line in cut)
        footer = screen.query_one(KeyFooter)
        assert [entry.description for entry in footer.shown][:1] == ["Close"]
        dialog = screen.query_one("#dialog")
        assert dialog.region.bottom <= footer.region.y  # the footer stays in view below the dialog
        await pilot.press("escape")
        assert app.screen is app.dashboard
