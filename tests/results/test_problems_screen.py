"""Pilot tests of the problems screen and the inspector, pushed directly with a real index."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from tests.results.helpers import ScreenHost, errored, index_lines, other, succeeded
from textual import events
from textual.app import App
from textual.binding import BindingType
from textual.geometry import Region
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, OptionList, Static, TextArea

from batchboard.core.results.index import GroupKey, ResultsIndex
from batchboard.ui.screens.inspector import InspectorScreen
from batchboard.ui.screens.problems import ItemsTable, ProblemsScreen
from batchboard.ui.widgets.key_footer import KeyFooter
from conftest import HOSTILE, SHOWN

BATCH = "msgbatch_problems"


@pytest.fixture
def index(index: ResultsIndex) -> ResultsIndex:
    """The empty index, with BATCH's results: errors of two types (hostile text among them), expired,
    canceled and 450 succeeded."""
    lines: list[dict[str, Any]] = [succeeded(f"ok-{i:04d}", text=HOSTILE) for i in range(450)]
    lines += [errored(f"over-{i:03d}") for i in range(30)]
    lines += [
        errored(HOSTILE, "invalid_request_error", HOSTILE),
        errored("bad-2", "invalid_request_error", "x"),
    ]
    lines += [other("gone-1", "expired"), other("stop-1", "canceled")]
    index_lines(index, BATCH, lines, chunk=1 << 16)
    return index


def cell_texts(table: ItemsTable, column: str = "custom_id") -> list[str]:
    return [str(table.get_cell(key, column)) for key in table.row_keys]


async def test_groups_items_and_navigation(index: ResultsIndex) -> None:
    app = ScreenHost(lambda: ProblemsScreen(index, BATCH, page_size=100))
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        screen = app.screen
        assert isinstance(screen, ProblemsScreen)
        groups = screen.query_one("#problems-groups", OptionList)
        labels = [str(groups.get_option_at_index(i).prompt) for i in range(groups.option_count)]
        assert labels[0].startswith("overloaded_error  30  ↻ retryable")
        assert any(label.startswith("invalid_request_error  2  ✎ needs a fix") for label in labels)
        assert labels[-1].startswith("succeeded  450")
        table = screen.query_one("#problems-items", ItemsTable)
        assert cell_texts(table)[:2] == ["over-000", "over-001"] and table.row_count == 30

        await pilot.press("right_square_bracket")  # next group: invalid_request_error, with the hostile text
        assert screen.group is not None and screen.group.key == GroupKey("errored", "invalid_request_error")
        assert SHOWN in cell_texts(table) and SHOWN in cell_texts(table, "detail")
        status = screen.query_one("#problems-status", Static)
        assert SHOWN in str(status.render())

        await pilot.press("left_square_bracket", "left_square_bracket")  # wraps around to succeeded
        assert screen.group is not None and screen.group.key == GroupKey("succeeded")
        assert table.row_count == 60  # a first page that fills the screen
        table.move_cursor(row=table.row_count - 1)
        await pilot.pause()
        assert table.row_count == 160  # the next (full) page loaded as the cursor neared the end

        await pilot.press("slash")
        assert screen.query_one("#problems-filter", Input).has_focus
        await pilot.press(*"ok-012")
        await pilot.pause()
        assert cell_texts(table) == [f"ok-012{i}" for i in range(10)]
        await pilot.press("escape")  # leaves the filter, stays on the screen
        assert table.has_focus and app.screen is screen
        assert app.is_running


async def test_inspector_shows_result_copies_and_has_no_request(index: ResultsIndex) -> None:
    app = ScreenHost(
        lambda: ProblemsScreen(index, BATCH, initial_group=GroupKey("errored", "invalid_request_error"))
    )
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        table = app.screen.query_one("#problems-items", ItemsTable)
        table.move_cursor(row=cell_texts(table).index(SHOWN))
        await pilot.press("enter")
        inspector = app.screen
        assert isinstance(inspector, InspectorScreen)
        result = inspector.query_one("#inspector-result", TextArea)
        assert HOSTILE.replace("\x1b", "\\u001b") in result.text or HOSTILE in result.text
        assert '"invalid_request_error"' in result.text
        assert SHOWN in str(inspector.query_one("#inspector-header", Static).render())
        await pilot.press("c")
        assert app.clipboard == result.text
        await pilot.press("t")
        assert inspector.showing_request
        assert "Not stored locally" in inspector.query_one("#inspector-request", TextArea).text
        await pilot.press("escape")
        assert isinstance(app.screen, ProblemsScreen)
        assert app.is_running


async def test_inspector_shows_a_stored_request(index: ResultsIndex) -> None:
    stored = {
        "custom_id": "over-007",
        "params": {"model": "claude-haiku-5-5", "max_tokens": 5, "messages": []},
    }

    def lookup(batch_id: str, custom_id: str) -> Any:
        return stored if (batch_id, custom_id) == (BATCH, "over-007") else None

    app = ScreenHost(lambda: ProblemsScreen(index, BATCH, request_lookup=lookup))
    async with app.run_test(size=(140, 40)) as pilot:
        table = app.screen.query_one("#problems-items", ItemsTable)
        table.move_cursor(row=7)
        await pilot.press("i")
        inspector = app.screen
        assert isinstance(inspector, InspectorScreen)
        await pilot.press("t", "c")
        assert '"claude-haiku-5-5"' in inspector.query_one("#inspector-request", TextArea).text
        assert app.clipboard == inspector.request_text


async def test_no_results_yet(index: ResultsIndex) -> None:
    app = ScreenHost(lambda: ProblemsScreen(index, "msgbatch_none"))
    async with app.run_test(size=(100, 30)):
        assert "press d" in str(app.screen.query_one("#problems-status", Static).render())


def screen_lines(table: ItemsTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.size.height)]


@pytest.mark.parametrize(("width", "kind_shown"), [(80, False), (100, False), (120, False), (200, True)])
async def test_items_show_custom_id_and_message_at_every_width(
    index: ResultsIndex, width: int, kind_shown: bool
) -> None:
    """The custom_id stays at the left, the message takes the rest of the width and ends in `…` when cut;
    the kind (which the group's title already says) comes back as the width allows."""
    long = "max_tokens: 65536 > 64000, which is the maximum allowed for this model " * 3
    lines: list[dict[str, Any]] = [errored(f"long-{i}", "invalid_request_error", long) for i in range(3)]
    lines.append(errored(HOSTILE, "invalid_request_error", HOSTILE))
    narrow = index_lines(index, "msgbatch_narrow", lines, chunk=1 << 16).id
    app = ScreenHost(lambda: ProblemsScreen(index, narrow))
    async with app.run_test(size=(width, 24)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#problems-items", ItemsTable)
        header, *rows = screen_lines(table)
        assert header.split()[0] == "custom_id" and "detail" in header
        assert ("kind" in header.split()) is kind_shown
        shown = [r for r in rows if r.strip()]
        long_rows = [r for r in shown if r.split()[0].startswith("long-")]
        assert len(shown) == 4 and len(long_rows) == 3
        for row in long_rows:
            assert "max_tokens: 65536" in row and row.rstrip().endswith("…")  # cut, and marked
        (hostile,) = (r for r in shown if r not in long_rows)
        assert hostile.split()[0] == SHOWN.split()[0]  # untrusted text drawn literally
        await pilot.press("right")  # what did not fit is there, to the right; custom_id stays
        header = screen_lines(table)[0]
        assert header.split()[0] == "custom_id" and ("kind" in header.split() or not kind_shown)
        assert app.is_running


async def test_the_first_frame_is_the_rows_and_the_rest_arrives_in_place(index: ResultsIndex) -> None:
    first: list[tuple[list[Widget], Region, int]] = []

    class Watching(ScreenHost):
        def _display(self, screen: Screen[Any], renderable: Any) -> None:
            if isinstance(screen, ProblemsScreen) and renderable is not None and not first:
                first.append((list(screen.children), screen.table.region, screen.table.row_count))
            super()._display(screen, renderable)

    app = Watching(lambda: ProblemsScreen(index, BATCH))
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ProblemsScreen)
        children, region, rows = first[0]
        assert children == [screen.table] and rows == 30  # the first frame: the rows, nothing else
        assert [w.id or type(w).__name__ for w in screen.children] == [
            "problems-title",
            "KeyFooter",
            "problems-groups",
            "problems-filter",
            "problems-status",
            "problems-items",
        ]
        assert screen.table.region == region == Region(44, 4, 96, 33)  # the others kept their space
        groups = screen.query_one("#problems-groups", OptionList)
        assert groups.option_count == len(screen.groups) == 5 and groups.highlighted == 0
        assert "problems of" in str(screen.query_one("#problems-title", Static).render())
        assert "30 items" in str(screen.query_one("#problems-status", Static).render())
        assert screen.query_one(KeyFooter).shown[0].action == "back"  # drawn without a focus change
        await pilot.press("slash")
        assert screen.query_one("#problems-filter", Input).has_focus


@pytest.mark.parametrize("how", ["pop_screen", "dismiss", "keys"])
async def test_pushed_and_popped_in_the_same_tick(index: ResultsIndex, how: str) -> None:
    """`e` then `escape` faster than a frame: the screen is gone before its mount handler and its deferred
    widgets run, which must then do nothing (they used to raise NoMatches and take the app down)."""

    class Opener(App[None]):
        BINDINGS: ClassVar[list[BindingType]] = [("e", "open", "Open")]

        def action_open(self) -> None:
            screen = ProblemsScreen(index, BATCH)
            self.push_screen(screen)
            if how == "pop_screen":
                self.pop_screen()
            elif how == "dismiss":
                screen.dismiss(None)

    app = Opener()
    async with app.run_test(size=(140, 40)) as pilot:
        if how == "keys":  # both keys queued before the app handles either, as a fast typist does
            driver = app._driver
            assert driver is not None
            driver.send_message(events.Key("e", "e"))
            driver.send_message(events.Key("escape", None))
        else:
            await pilot.press("e")
        await pilot.pause()
        await pilot.pause(0.05)
        assert app.is_running and app.return_code is None
        assert not isinstance(app.screen, ProblemsScreen)
        app.push_screen(ProblemsScreen(index, BATCH))  # and it still opens normally afterwards
        await pilot.pause()
        assert isinstance(app.screen, ProblemsScreen) and app.screen.query_one(ItemsTable).row_count == 30


async def test_a_hostile_error_type_is_plain_text(index: ResultsIndex) -> None:
    """The error type comes from the results file, like the message: shown literally, escapes made visible."""
    lines = [errored("one", HOSTILE, HOSTILE), errored("two", HOSTILE, "x")]
    hostile = index_lines(index, "msgbatch_hostile_types", lines, chunk=1 << 16).id
    app = ScreenHost(lambda: ProblemsScreen(index, hostile))
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await pilot.pause()
        screen = app.screen
        groups = screen.query_one("#problems-groups", OptionList)
        assert str(groups.get_option_at_index(0).prompt).startswith(f"{SHOWN}  2")
        table = screen.query_one("#problems-items", ItemsTable)
        assert cell_texts(table, "kind") == [SHOWN, SHOWN]
        assert SHOWN in str(screen.query_one("#problems-status", Static).render())
        assert app.is_running
