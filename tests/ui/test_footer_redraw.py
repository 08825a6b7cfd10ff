"""The footer is drawn again only when what it shows changes: a poll round refreshes the screen's bindings,
and most rounds change no key."""

from __future__ import annotations

from tests.ui.conftest import first_round, next_round, wait_until

from batchboard.ui.app import BatchboardApp
from batchboard.ui.widgets.key_footer import KeyFooter


async def test_poll_rounds_that_change_no_key_leave_the_footer_alone(app: BatchboardApp) -> None:
    async with app.run_test(size=(120, 30)) as pilot:
        await first_round(pilot)
        await wait_until(pilot, lambda: bool(app.dashboard.query(KeyFooter)))
        footer = app.dashboard.query_one(KeyFooter)
        await pilot.pause()
        assert footer.renders >= 1 and footer.shown
        before = footer.renders
        shown = list(footer.shown)
        for _ in range(3):
            await next_round(pilot)
        assert footer.shown == shown
        assert footer.renders == before, "a round that changed no key drew the footer again"
        await pilot.press("slash")  # the filter input takes the focus: q and ? are text, ^q is shown
        await pilot.pause()
        await pilot.pause()
        assert footer.renders > before and footer.shown != shown
