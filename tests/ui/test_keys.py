"""The one listing of a screen's keys (`ui/keys.py`): the command palette, the help and a key pressed when
its action does not apply now all say the same thing, in batchboard's words."""

from __future__ import annotations

from collections import Counter

from tests.ui.conftest import SIZE, first_round, notices, wait_until
from tests.ui.test_dashboard import find, select

from batchboard.ui.app import BatchboardApp
from batchboard.ui.screens.help import HelpScreen


async def test_the_palette_has_one_entry_per_action_with_its_keys(app: BatchboardApp) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        await wait_until(pilot, lambda: app.controller.sources is not None)
        running = find(app, lambda b: b.can_cancel)
        await select(pilot, running.id)
        commands = list(app.get_system_commands(app.screen))
        titles = Counter(c.title for c in commands)
        assert [t for t, n in titles.items() if n > 1] == []  # no Bottom x4, no All x2
        assert "Copy selected text" not in titles and titles["Bottom"] == 1
        by_title = {c.title: c for c in commands}
        assert by_title["Sort"].help.startswith("s · ")
        assert by_title["Cancel"].help.startswith("c · ")
        # Every action of the screen is listed; one that does not apply says why.
        assert "not now: only an ended batch can be retried" in by_title["Retry"].help
        assert "not now: this batch has no retries" in by_title["Job"].help
        assert "not now" not in by_title["Cancel"].help

        await by_title["Retry"].callback()  # chosen anyway: says why, opens nothing
        await pilot.pause()
        assert app.screen is app.dashboard
        assert any("Only an ended batch can be retried." in n for n in notices(app))

        clean = find(app, lambda b: b.is_ended and not b.can_retry and not app.book.unusable(b.id))
        await select(pilot, clean.id)
        by_title = {c.title: c for c in app.get_system_commands(app.screen)}
        reason = app.controller.why_not("retry", clean.id)
        assert reason is not None and reason.startswith("no failed")  # or unusable, once its results are here
        assert f"not now: {reason}" in by_title["Retry"].help
        assert "not now: only a batch in progress can be canceled" in by_title["Cancel"].help


async def test_a_footer_key_that_does_not_apply_says_why(app: BatchboardApp) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        await wait_until(pilot, lambda: app.controller.sources is not None)
        ended = find(app, lambda b: b.is_ended and not b.can_retry)
        await select(pilot, ended.id)
        await pilot.press("J")
        await pilot.pause()
        assert app.screen is app.dashboard
        assert any("This batch has no retries." in n for n in notices(app))
        await pilot.press("c")
        await pilot.pause()
        assert any("Only a batch in progress can be canceled." in n for n in notices(app))


async def test_the_help_speaks_batchboard_and_fits_80x24(app: BatchboardApp) -> None:
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await first_round(pilot)
        await pilot.press("question_mark")
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        text = "\n".join(f"{keys} {what} {binding_id}" for keys, what, binding_id in screen.rows)
        for textual_words in ("Focus Next", "Copy selected text", "Maximize"):
            assert textual_words not in text
        actions = [row for row in screen.rows if row[2]]
        assert {"dashboard.cancel", "dashboard.sort", "app.help", "app.quit"} <= {r[2] for r in actions}
        assert len({r[2] for r in actions}) == len(actions)  # each binding once
        dialog = screen.query_one("#dialog")
        assert dialog.region.right <= 80 and dialog.region.bottom <= 24  # no cut border: it scrolls
        await pilot.press("escape")
        assert app.screen is app.dashboard
