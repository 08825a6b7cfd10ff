"""The footer keeps `?` and `q` at any width and drops the other keys by the screen's priority."""

from __future__ import annotations

from typing import ClassVar

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Input, Static

from batchboard.ui.widgets.key_footer import FooterEntry, KeyFooter, fit_entries


class Keys(Screen[None]):
    FOOTER_PRIORITY: ClassVar[tuple[str, ...]] = ("detail", "cancel", "filter")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "detail", "Detail"),
        Binding("slash", "filter", "Filter"),
        Binding("s", "sort", "Sort"),
        Binding("c", "cancel", "Cancel"),
        Binding("x", "hidden", "Hidden", show=False),
        Binding("1", "show('a')", "All", group=Binding.Group("Show", compact=True)),
        Binding("2", "show('b')", "Active", group=Binding.Group("Show", compact=True)),
    ]
    pressed: ClassVar[list[str]] = []

    def compose(self) -> ComposeResult:
        yield Static("body")
        yield KeyFooter()

    def action_sort(self) -> None:
        self.pressed.append("sort")


class Host(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def on_mount(self) -> None:
        self.push_screen(Keys())

    def action_help(self) -> None:
        pass


def test_fit_entries_keeps_pinned_and_drops_by_rank() -> None:
    entries = [
        FooterEntry("⏎", "Detail", "enter", "detail"),
        FooterEntry("s", "Sort", "s", "sort"),
        FooterEntry("c", "Cancel", "c", "cancel"),
        FooterEntry("?", "Help", "question_mark", "help"),
        FooterEntry("q", "Quit", "q", "quit"),
    ]
    ranking = ("detail", "cancel")
    assert [e.action for e in fit_entries(entries, ranking, 200)] == [
        "detail",
        "sort",
        "cancel",
        "help",
        "quit",
    ]
    assert [e.action for e in fit_entries(entries, ranking, 34)] == ["detail", "cancel", "help", "quit"]
    assert [e.action for e in fit_entries(entries, ranking, 14)] == ["help", "quit"]
    assert [e.action for e in fit_entries(entries, ranking, 3)] == ["help", "quit"]  # never dropped


@pytest.mark.parametrize("width", [20, 40, 60, 160])
async def test_footer_fits_its_width_and_keeps_help_and_quit(width: int) -> None:
    app = Host()
    async with app.run_test(size=(width, 10)) as pilot:
        await pilot.pause()
        footer = app.screen.query_one(KeyFooter)
        line = app.screen.query_one(KeyFooter).render().plain
        assert len(line) <= max(width - 2, len("? Help  q Quit"))
        assert ("^p palette" in line) is (width >= 40)  # the palette goes last, before the screen's keys
        assert line.endswith(("? Help  q Quit", "? Help  q Quit  ^p palette"))
        actions = [e.action for e in footer.shown]
        assert "hidden" not in actions
        if width == 60:  # the ranking decides: sort and the group go first
            assert actions == ["detail", "filter", "cancel", "help", "quit", "command_palette"]
        if width == 160:
            assert line.startswith("⏎ Detail  / Filter  s Sort  c Cancel  12 Show")
        if width == 40:  # the palette before the screen's keys
            assert actions == ["detail", "help", "quit", "command_palette"]


async def test_a_click_presses_the_key() -> None:
    app = Host()
    async with app.run_test(size=(100, 10)) as pilot:
        await pilot.pause()
        footer = app.screen.query_one(KeyFooter)
        line = footer.render().plain
        await pilot.click(KeyFooter, offset=(1 + line.index("s Sort"), 0))
        assert Keys.pressed == ["sort"]


class Typing(Screen[None]):
    """An input has the focus: `q` and `?` are text there."""

    def compose(self) -> ComposeResult:
        yield Input()
        yield KeyFooter()


class TypingHost(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def on_mount(self) -> None:
        self.push_screen(Typing())

    def action_help(self) -> None:
        pass


async def test_while_typing_the_footer_shows_the_other_way_to_quit() -> None:
    app = TypingHost()
    async with app.run_test(size=(80, 10)) as pilot:
        await pilot.pause()
        footer = app.screen.query_one(KeyFooter)
        line = footer.render().plain
        assert line.startswith("^q Quit"), line  # Textual's own ctrl+q, not q
        assert [e.action for e in footer.shown].count("quit") == 1
        await pilot.press("q")
        assert app.is_running and app.screen.query_one(Input).value == "q"
