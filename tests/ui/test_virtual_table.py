"""The virtual table on its own: layout by width and priority, frozen columns, the cursor across changes,
what is drawn again (counted), keys, mouse, messages, and untrusted or oversized text."""

from __future__ import annotations

import pytest
from rich.segment import Segment
from rich.text import Text
from tests.conftest import HOSTILE
from textual.app import App, ComposeResult
from textual.pilot import Pilot

from batchboard.ui.widgets.batch_table import COLUMNS
from batchboard.ui.widgets.table_layout import Column, Justify, fit, fit_plain, layout_columns
from batchboard.ui.widgets.virtual_table import VirtualTable

WIDE = (
    Column("name", "Name", 8, frozen=True),
    Column("a", "Alpha", 10, priority=1),
    Column("b", "Bravo", 10, priority=3),
    Column("c", "Charlie", 10, priority=2),
    Column("when", "When", 8, priority=4, live=True),
    Column("n", "Count", 5, priority=5, justify="right", numeric=True),
    Column("note", "Note", 10, min_width=6, priority=6, flex=True),
)


def view(columns: tuple[Column, ...], width: int, hidden: set[str] | None = None) -> list[str]:
    shown = [c for c in columns if c.key not in (hidden or set())]
    return layout_columns(shown, width).shown


# -- layout -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("terminal", "expected"),
    [
        (80, ["id", "label", "status", "bar", "deadline", "cost"]),
        (100, ["id", "label", "status", "total", "errored", "bar", "age", "deadline", "cost"]),
        (
            120,
            ["id", "label", "status", "total", "errored", "bar", "age", "deadline", "eta", "cost"],
        ),
        (200, [c.key for c in COLUMNS]),
    ],
)
def test_batch_columns_by_width(terminal: int, expected: list[str]) -> None:
    """What a row shows in a terminal this wide (one cell is the scrollbar's): the essentials at 80."""
    layout = layout_columns(COLUMNS, terminal - 1)
    assert layout.shown == expected
    assert layout.offscreen == [c.key for c in COLUMNS if c.key not in expected]
    assert (
        layout.frozen_width + sum(p.cells for p in layout.scrolling if p.key in layout.fitted) <= terminal - 1
    )


def test_the_label_takes_the_spare_width_and_without_labels_more_columns_fit() -> None:
    assert layout_columns(COLUMNS, 199).width_of("label") == 55  # not 12 at 200 columns
    assert layout_columns(COLUMNS, 79).width_of("label") == 12
    unlabelled = [c for c in COLUMNS if c.key != "label"]
    assert layout_columns(unlabelled, 79).shown == [
        "id",
        "status",
        "errored",
        "bar",
        "age",
        "deadline",
        "cost",
    ]


def test_a_flex_column_keeps_its_width_from_lower_priority_columns() -> None:
    """A message column (flex, 40 wanted, 16 at least) shrinks for the columns before it, never for a
    column of lower priority: that one waits until the message has its 40."""
    columns = [
        Column("id", "custom_id", 12, frozen=True),
        Column("kind", "kind", 20, priority=2),
        Column("message", "detail", 40, min_width=16, priority=1, flex=True),
    ]
    assert layout_columns(columns, 35).shown == ["id", "message"]
    assert layout_columns(columns, 35).width_of("message") == 19  # squeezed by the frozen id only
    assert layout_columns(columns, 70).shown == ["id", "message"]  # kind would leave it 32
    assert layout_columns(columns, 70).width_of("message") == 54
    assert layout_columns(columns, 78).shown == ["id", "kind", "message"]
    assert layout_columns(columns, 78).width_of("message") == 40


def test_header_labels_are_never_cut() -> None:
    for width in range(20, 220):
        layout = layout_columns(COLUMNS, width)
        for placed in (*layout.frozen, *layout.scrolling):
            assert placed.width >= len(placed.column.label), (width, placed.key)


def test_a_column_cannot_be_narrower_than_its_label_nor_a_numeric_one_shrink() -> None:
    with pytest.raises(ValueError, match="label"):
        Column("eta", "ETA", 2)
    with pytest.raises(ValueError, match="numeric"):
        Column("n", "N", 8, min_width=4, numeric=True)


def test_fit_marks_cuts_and_pads() -> None:
    assert fit(Text("max_tokens: 65536 > 64000"), 20, "left").plain == "max_tokens: 65536 >…"
    assert fit(Text("ok"), 5, "right").plain == "   ok"
    assert fit(Text("ok"), 6, "center").plain == "  ok  "
    assert fit(Text("two\nlines\tand a tab"), 30, "left").plain.rstrip() == "two lines and a tab"


@pytest.mark.parametrize("justify", ["left", "right", "center"])
@pytest.mark.parametrize(
    "value", ["ok", "max_tokens: 65536 > 64000", "two\nlines\tand a tab", "日本語のテキスト", "", HOSTILE]
)
def test_fit_plain_is_fit_for_a_text_without_styles(value: str, justify: Justify) -> None:
    for width in (0, 1, 5, 12, 40):
        assert fit_plain(Text(value), width, justify) == fit(Text(value), width, justify).plain
    assert fit_plain(Text(value, style="bold"), 12, justify) is None
    assert fit_plain(Text.assemble(value, ("x", "red")), 12, justify) is None


# -- a table in an app ------------------------------------------------------------------------------


class Host(App[None]):
    def __init__(self, columns: tuple[Column, ...] = WIDE, rows: int = 100) -> None:
        super().__init__()
        self.columns = columns
        self.cells: dict[tuple[str, str], Text] = {}
        self.keys = [f"r{i:03d}" for i in range(rows)]
        self.messages: list[tuple[str, str]] = []

    def cell(self, key: str, column: str) -> Text:
        found = self.cells.get((key, column))
        if found is not None:
            return found
        if column == "n":
            return Text(str(int(key[1:])))
        return Text(f"{column}-{key}")

    def compose(self) -> ComposeResult:
        yield VirtualTable(self.columns, self.cell, id="table")

    def on_mount(self) -> None:
        self.query_one(VirtualTable).set_rows(self.keys)

    def on_virtual_table_row_highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        self.messages.append(("highlighted", event.key))

    def on_virtual_table_row_selected(self, event: VirtualTable.RowSelected) -> None:
        self.messages.append(("selected", event.key))


def line(table: VirtualTable, y: int) -> str:
    return table.render_line(y).text


async def started(pilot: Pilot[None]) -> VirtualTable:
    await pilot.pause()
    table = pilot.app.query_one(VirtualTable)
    table.focus()
    await pilot.pause()
    return table


async def test_frozen_columns_stay_while_scrolling_sideways() -> None:
    app = Host()
    async with app.run_test(size=(50, 12)) as pilot:
        table = await started(pilot)
        assert table.column_layout.shown == ["name", "a", "b", "c"]
        assert line(table, 0).split() == ["Name", "Alpha", "Bravo", "Charlie"]
        await pilot.press("right")
        header, row = line(table, 0), line(table, 1)
        assert header.split()[0] == "Name" and "Alpha" not in header and "When" in header
        assert row.startswith(" name-r… ")  # cut, and marked; the number goes whole, never "r0…"
        await pilot.press("right", "right", "right", "right", "right", "right")
        header = line(table, 0)
        assert header.split() == ["Name", "When", "Count", "Note"]  # the last columns, whole
        await pilot.press("left", "left", "left", "left", "left", "left", "left")
        assert line(table, 0).split() == ["Name", "Alpha", "Bravo", "Charlie"]


async def test_a_resize_keeps_the_column_scrolled_to() -> None:
    app = Host()
    async with app.run_test(size=(50, 12)) as pilot:
        table = await started(pilot)
        await pilot.press("right", "right")
        assert line(table, 0).split()[:2] == ["Name", "Charlie"]
        await pilot.resize_terminal(60, 12)
        await pilot.pause()
        assert line(table, 0).split()[:2] == ["Name", "Charlie"]  # still the first after the frozen one
        await pilot.resize_terminal(200, 12)  # everything fits: nothing to scroll
        await pilot.pause()
        assert table.scroll_x == 0 and line(table, 0).split()[:3] == ["Name", "Alpha", "Bravo"]
        await pilot.resize_terminal(50, 12)  # narrow again: back where the user had scrolled
        await pilot.pause()
        assert line(table, 0).split()[:2] == ["Name", "Charlie"]
        await pilot.press("left", "left", "left")
        await pilot.resize_terminal(60, 12)
        await pilot.pause()
        assert table.scroll_x == 0 and line(table, 0).split()[:2] == ["Name", "Alpha"]


async def test_only_whole_columns_are_drawn() -> None:
    """A column cut by the right edge would read as another value: it is left out until scrolled to."""
    app = Host()
    async with app.run_test(size=(50, 12)) as pilot:
        table = await started(pilot)
        for _ in range(8):
            for y in range(table.size.height):
                words = line(table, y).split()
                for word in words:
                    assert (
                        word in {"Name", "Alpha", "Bravo", "Charlie", "When", "Count", "Note"}
                        or "-r" in word
                        or word.isdigit()
                    ), word
            await pilot.press("right")


async def test_keys_move_the_cursor_and_post_messages() -> None:
    app = Host()
    async with app.run_test(size=(60, 12)) as pilot:
        table = await started(pilot)
        assert app.messages == [("highlighted", "r000")]
        await pilot.press("j", "down", "j")
        assert table.cursor_row == 3
        await pilot.press("k", "up")
        assert table.cursor_row == 1
        await pilot.press("pagedown")
        assert table.cursor_row == 1 + table.body_height - 1
        await pilot.press("pageup")
        assert table.cursor_row == 1
        await pilot.press("end")
        assert table.cursor_row == 99 and table.scroll_y == 100 + 1 - table.scrollable_content_region.height
        await pilot.press("home")
        assert table.cursor_row == 0 and table.scroll_y == 0
        await pilot.press("G")
        assert table.cursor_key == "r099"
        await pilot.press("g")
        assert table.cursor_key == "r000"
        await pilot.press("enter")
        assert app.messages[-1] == ("selected", "r000")
        assert ("highlighted", "r099") in app.messages


async def test_click_moves_the_cursor_and_a_click_on_it_selects() -> None:
    app = Host()
    async with app.run_test(size=(60, 12)) as pilot:
        table = await started(pilot)
        await pilot.click(VirtualTable, offset=(3, 3))  # the header is line 0: row 2
        assert table.cursor_key == "r002" and app.messages[-1] == ("highlighted", "r002")
        await pilot.click(VirtualTable, offset=(3, 3))
        assert app.messages[-1] == ("selected", "r002")
        await pilot.click(VirtualTable, offset=(3, 5), times=2)  # a double click on another row
        assert table.cursor_key == "r004" and app.messages[-1] == ("selected", "r004")
        await pilot.click(VirtualTable, offset=(3, 0))  # the header: nothing
        assert table.cursor_key == "r004"


async def test_the_cursor_stays_on_its_row_across_changes() -> None:
    app = Host()
    async with app.run_test(size=(60, 12)) as pilot:
        table = await started(pilot)
        table.move_cursor(key="r050")
        await pilot.pause()
        on_screen = table.cursor_row - table.scroll_y
        table.set_rows(list(reversed(app.keys)))  # resorted
        assert table.cursor_key == "r050" and table.cursor_row == 49
        assert table.cursor_row - table.scroll_y == on_screen  # at the same height on screen
        table.set_rows([k for k in app.keys if k.endswith("0")])  # refiltered, still shown
        assert table.cursor_key == "r050"
        table.update_rows(["r050", "r010"])
        assert table.cursor_key == "r050"
        table.remove_rows(["r040"])
        assert table.cursor_key == "r050"
        await pilot.resize_terminal(120, 30)
        await pilot.pause()
        assert table.cursor_key == "r050"
        assert table.scroll_y <= table.cursor_row < table.scroll_y + table.body_height
        table.set_rows([k for k in app.keys if k.endswith("1")])  # filtered out: back to the top
        assert table.cursor_row == 0 and table.scroll_y == 0 and table.cursor_key == "r001"
        table.remove_rows(["r001"])
        assert table.cursor_key == "r011"  # the row that took its place
        table.clear()
        assert table.cursor_key is None and table.row_count == 0


async def test_only_changed_rows_are_drawn_again() -> None:
    app = Host()
    async with app.run_test(size=(60, 12)) as pilot:
        table = await started(pilot)
        body = table.body_height
        before = table.rows_rendered
        await pilot.pause()
        assert table.rows_rendered == before  # a frame with no change draws no row
        app.cells[("r003", "a")] = Text("changed")
        table.update_rows(["r003", "r090"])  # one in view, one not
        await pilot.pause()
        assert table.rows_rendered == before + 1
        assert "changed" in line(table, 4)
        await pilot.press("down")  # the cursor leaves one row and lands on another
        await pilot.pause()
        assert table.rows_rendered == before + 3
        table.set_rows(app.keys[:50] + app.keys[60:])  # rows in view already drawn: none again
        await pilot.pause()
        assert table.rows_rendered == before + 3
        await pilot.press("pagedown")
        await pilot.pause()
        assert before + 3 < table.rows_rendered <= before + 3 + body + 1


async def test_tick_redraws_only_rows_whose_live_cells_changed() -> None:
    app = Host()
    async with app.run_test(size=(60, 12)) as pilot:
        table = await started(pilot)
        await pilot.pause()
        before = table.rows_rendered
        table.tick()
        await pilot.pause()
        assert table.rows_rendered == before  # nothing moved: nothing drawn
        app.cells[("r002", "when")] = Text("later")
        app.cells[("r080", "when")] = Text("later")  # not in view: never asked for
        table.tick()
        await pilot.pause()
        assert table.rows_rendered == before + 1
        table.tick()
        await pilot.pause()
        assert table.rows_rendered == before + 1


async def test_hostile_text_is_drawn_literally_and_cut_with_an_ellipsis() -> None:
    columns = (Column("name", "Name", 8), Column("msg", "Message", 10, flex=True))
    app = Host(columns, rows=3)
    app.cells[("r000", "msg")] = Text(HOSTILE)
    app.cells[("r001", "name")] = Text("a-very-long-custom-id")
    async with app.run_test(size=(200, 8)) as pilot:
        table = await started(pilot)
        assert HOSTILE.replace("\x1b", "") in line(table, 1).replace("\x1b", "")
        assert line(table, 2).startswith(" a-very-… ")
        await pilot.resize_terminal(40, 8)
        await pilot.pause()
        shown = line(table, 1)
        assert shown.rstrip().endswith("…") and "[/]" in shown
        assert app.is_running


async def test_a_number_is_never_cut() -> None:
    columns = (Column("name", "Name", 8), Column("n", "Count", 5, justify="right", numeric=True))
    app = Host(columns, rows=3)
    app.cells[("r001", "n")] = Text("1,234,567")
    async with app.run_test(size=(60, 8)) as pilot:
        table = await started(pilot)
        await pilot.pause()
        await pilot.pause()
        assert table.column_layout.width_of("n") == 9  # widened to its value
        assert "1,234,567" in line(table, 2) and "1,234,56 " not in line(table, 2)
        await pilot.resize_terminal(18, 8)  # too narrow for it: dropped whole, reached sideways
        await pilot.pause()
        assert table.column_layout.shown == ["name"]
        assert not any(ch.isdigit() for ch in line(table, 2).split("-r")[0])
        assert "Count" not in line(table, 0)
        await pilot.press("right")
        assert "1,234,567" in line(table, 2)


async def test_theme_change_redraws_with_the_new_palette() -> None:
    app = Host()
    async with app.run_test(size=(60, 12)) as pilot:
        table = await started(pilot)
        before = table.render_line(1)
        app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
        await pilot.pause()
        after = table.render_line(1)
        assert before.text == after.text and list(before) != list(after)


async def test_rows_kept_across_a_style_change_draw_with_the_new_styles() -> None:
    """Kept strips and row styles (striped, under the cursor) are dropped when the theme or the focus changes:
    every cell of every row then has the background its row has now, and each line reads, segment by
    segment, as it does once every kept strip is thrown away."""
    app = Host(rows=6)
    async with app.run_test(size=(60, 12)) as pilot:
        table = await started(pilot)
        table.zebra_stripes = True
        app.cells[("r002", "a")] = Text("styled", style="bold red")  # a cell with spans beside plain ones

        def lines() -> list[list[Segment]]:
            return [list(table.render_line(y)) for y in range(8)]  # header, 6 rows, one blank line

        def check_backgrounds(drawn: list[list[Segment]]) -> None:
            for index, segments in enumerate(drawn[1:7]):
                row = table.get_component_rich_style("virtual-table--even-row") if index % 2 == 0 else None
                base = row or table.rich_style
                if index == table.cursor_row:
                    base += table.get_component_rich_style("virtual-table--cursor")
                assert {s.style.bgcolor for s in segments if s.style} == {base.bgcolor}, index

        table.refresh_rows()
        check_backgrounds(lines())
        for change in ("theme", "blur", "focus"):
            kept_before = lines()
            if change == "theme":
                app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
            elif change == "blur":
                app.set_focus(None)
            else:
                table.focus()
            await pilot.pause()
            after = lines()
            assert after != kept_before, change  # the change shows
            check_backgrounds(after)
            table.refresh_rows()
            assert after == lines(), change
