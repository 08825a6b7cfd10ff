"""Escape when keys arrive together: a second escape right after one that closed a screen, a key typed
right after escape, and escape merged with the next key into an alt+key (what a terminal sends for "ESC x"
within its escape delay: tmux's `escape-time`, 500 ms by default, and Textual's own 100 ms).

`pilot.press` waits for each key to be handled before the next; a terminal hands keys over as they come. The
burst helper posts the keys to the app at once, as the driver does when they arrive in one read. The
repeat window is measured on the app's ManualClock: no sleeps, and the test moves the clock to end it.
"""

from __future__ import annotations

import pytest
from tests.ui.conftest import SIZE, connect_to, first_round, wait_until
from textual import events
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input

from batchboard.core.clock import ManualClock
from batchboard.core.config import Settings
from batchboard.core.store import Store
from batchboard.emulator import Emulator
from batchboard.ui.app import BatchboardApp, make_app
from batchboard.ui.escape_keys import ESCAPE_REPEAT_WINDOW
from batchboard.ui.modals.cancel import CancelConfirm
from batchboard.ui.modals.label import LabelInput
from batchboard.ui.screens.attach import AttachScreen
from batchboard.ui.screens.detail import DetailScreen
from batchboard.ui.screens.help import HelpScreen
from batchboard.ui.widgets.batch_table import BatchTable

FILTER = "running"


def burst(app: BatchboardApp, *keys: str) -> None:
    """Hand `keys` to the app as the terminal driver does when they arrive together: none waits for the
    one before to be handled. As Textual's parser reports ESC followed by a letter, alt+x carries "x" and
    alt+shift+x "X"."""
    for key in keys:
        plain = key.removeprefix("alt+")
        if plain.startswith("shift+"):
            plain = plain.removeprefix("shift+").upper()
        character = "\x1b" if key == "escape" else (plain if len(plain) == 1 else None)
        app.post_message(events.Key(key, character))


def table_of(app: BatchboardApp) -> BatchTable:
    return app.dashboard.query_one(BatchTable)


async def settle(pilot: Pilot[None]) -> None:
    for _ in range(3):
        await pilot.pause()


async def filtered(pilot: Pilot[None]) -> None:
    await first_round(pilot)
    await pilot.press("slash", *FILTER, "enter")
    assert table_of(pilot.app).filter_text == FILTER  # type: ignore[arg-type]


SCREENS: dict[str, tuple[str, type[Screen[object]]]] = {
    "attach": ("a", AttachScreen),
    "help": ("question_mark", HelpScreen),
    "label": ("l", LabelInput),
    "cancel": ("c", CancelConfirm),
    "detail": ("enter", DetailScreen),
}
"""Each screen the tests open from the dashboard: the key that opens it and its class."""


async def open_screen(pilot: Pilot[None], name: str) -> None:
    key, kind = SCREENS[name]
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, kind))
    await settle(pilot)


@pytest.mark.parametrize("screen", list(SCREENS))
async def test_two_escapes_together_close_the_screen_and_keep_the_filter(
    app: BatchboardApp, clock: ManualClock, screen: str
) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await filtered(pilot)
        await open_screen(pilot, screen)
        burst(app, "escape", "escape")
        await settle(pilot)
        assert app.screen is app.dashboard
        assert table_of(app).filter_text == FILTER  # the second escape was the same press
        clock.advance(ESCAPE_REPEAT_WINDOW + 0.01)
        await pilot.press("escape")  # later, escape is escape again
        assert table_of(app).filter_text == ""


async def test_an_escape_inside_the_window_on_the_same_screen_still_counts(
    app: BatchboardApp,
) -> None:
    """Only an escape on the screen that another escape just revealed is dropped."""
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await filtered(pilot)
        await pilot.press("slash")  # filter shown and focused: escape clears it, no screen closes
        burst(app, "escape", "escape")
        await settle(pilot)
        assert table_of(app).filter_text == ""
        await open_screen(pilot, "help")
        await pilot.press("escape")
        assert app.screen is app.dashboard


async def test_a_key_typed_right_after_escape_goes_to_the_screen_beneath(app: BatchboardApp) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        await open_screen(pilot, "attach")
        box = app.screen.query_one("#path", Input)
        sort = table_of(app).sort_mode
        burst(app, "escape", "s")
        await settle(pilot)
        assert app.screen is app.dashboard
        assert box.value == ""  # not typed into the closing dialog's path box
        assert table_of(app).sort_mode is sort.next()


async def test_escape_merged_with_the_next_letter_closes_then_delivers_the_letter(app: BatchboardApp) -> None:
    """ESC then s within the escape delay arrives as one alt+s: escape, then s."""
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        await open_screen(pilot, "attach")
        box = app.screen.query_one("#path", Input)
        sort = table_of(app).sort_mode
        burst(app, "alt+s")
        await settle(pilot)
        assert app.screen is app.dashboard
        assert box.value == ""
        assert table_of(app).sort_mode is sort.next()


async def test_escape_merged_with_a_capital_on_the_filter_clears_it_then_acts(app: BatchboardApp) -> None:
    """On the filter box: ESC then shift+s (alt+shift+s) clears the filter, then S is pressed on the table,
    where nothing is bound to it: it is not typed into the filter."""
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await filtered(pilot)
        await pilot.press("slash")
        filter_box = app.dashboard.query_one("#filter", Input)
        burst(app, "alt+shift+s")
        await settle(pilot)
        assert table_of(app).filter_text == ""
        assert filter_box.value == ""
        assert app.focused is table_of(app)


async def test_a_bound_alt_key_is_not_split(
    emulator: Emulator, clock: ManualClock, store: Store, settings: Settings
) -> None:
    settings.keymap["dashboard.sort"] = "alt+s"
    app = make_app(connect=connect_to(emulator), settings=settings, store=store, clock=clock, demo=True)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await filtered(pilot)
        sort = table_of(app).sort_mode
        burst(app, "alt+s")
        await settle(pilot)
        assert table_of(app).sort_mode is sort.next()
        assert table_of(app).filter_text == FILTER  # no escape was read into it


async def test_keys_after_escape_on_the_filter_wait_for_the_focus_to_move(app: BatchboardApp) -> None:
    """escape on the filter box moves the focus to the table (a deferred focus): the s that arrived with
    it sorts the table instead of being typed into the filter."""
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await filtered(pilot)
        await pilot.press("slash")
        filter_box = app.dashboard.query_one("#filter", Input)
        sort = table_of(app).sort_mode
        burst(app, "escape", "s", "s")
        await settle(pilot)
        assert filter_box.value == "" and table_of(app).filter_text == ""
        assert table_of(app).sort_mode is sort.next().next()
