"""The batch table in the dashboard at the widths people have: what every row shows at 80 columns, the
frozen ID and Label while scrolling sideways, the Label taking spare width, home/end."""

from __future__ import annotations

from tests.conftest import HOSTILE, SHOWN
from tests.ui.conftest import first_round, table_of

from batchboard.ui.app import BatchboardApp


def screen_rows(app: BatchboardApp) -> list[tuple[str, str]]:
    """(batch id, the line drawn for it) for the rows on screen."""
    table = table_of(app)
    first, last = table.rows_in_view()
    return [(table.row_keys[i], table.render_line(i - first + 1).text) for i in range(first, last)]


async def test_at_80_columns_every_row_shows_status_countdown_and_cost(app: BatchboardApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await first_round(pilot)
        table = table_of(app)
        header = table.render_line(0).text
        for label in ("ID", "Status", "Outcome", "Expires/archive", "Cost"):
            assert f" {label} " in header
        rows = screen_rows(app)
        assert len(rows) >= 15
        for batch_id, text in rows:
            cells = {
                c: table.get_cell(batch_id, c).plain for c in ("id", "status", "deadline", "cost", "bar")
            }
            for column, value in cells.items():
                assert value in text, (column, value, text)


async def test_labels_are_frozen_with_the_id_and_take_the_spare_width(app: BatchboardApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await first_round(pilot)
        table = table_of(app)
        assert "Label" not in table.render_line(0).text  # no batch has a label: no column for it
        labelled = table.row_keys[0]
        app.book.labels[labelled] = HOSTILE
        table.update_label(labelled)
        await pilot.pause()
        assert table.render_line(0).text.split()[:3] == ["ID", "Label", "Status"]
        width = table.column_layout.width_of("label")
        assert width == 12
        assert table.render_line(1).text[13 : 13 + width] == SHOWN[: width - 1] + "…"  # cut, and marked
        for _ in range(3):
            await pilot.press("right")
        header, row = table.render_line(0).text, table.render_line(1).text
        assert header.split()[:2] == ["ID", "Label"] and "Status" not in header
        assert row.split()[0] == table.get_cell(labelled, "id").plain
        await pilot.resize_terminal(200, 40)
        await pilot.pause()
        assert table.column_layout.width_of("label") == 55  # the spare width, not 12
        assert table.render_line(1).text[13 : 13 + 55] == SHOWN[:54] + "…"  # literal, escapes visible


async def test_home_and_end_go_to_the_first_and_last_batch(app: BatchboardApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await first_round(pilot)
        table = table_of(app)
        await pilot.press("end")
        assert table.cursor_row == table.row_count - 1 and table.scroll_x == 0
        await pilot.press("home")
        assert table.cursor_row == 0
        await pilot.press("right", "end")  # scrolled sideways, the keys still move the cursor
        assert table.cursor_row == table.row_count - 1
