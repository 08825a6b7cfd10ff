"""Triage of succeeded but unusable answers: their groups with counts beside the error types, the usable
ones counted apart, and the inspector's violation path and raw output (hostile text shown literally)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from tests.results.helpers import (
    ScreenHost,
    answer,
    errored,
    index_lines,
    params,
    schema_params,
    succeeded,
)
from textual.widgets import OptionList, Static, TextArea

from batchboard.core.results.index import GroupKey, ResultsIndex
from batchboard.ui.screens.inspector import InspectorScreen
from batchboard.ui.screens.problems import ItemsTable, ProblemsScreen
from conftest import HOSTILE, SHOWN

BATCH = "msgbatch_unusable_triage"
BAD = orjson.dumps({"customer": HOSTILE, "items": [{"name": "jam", "price": "12"}]}).decode()


@pytest.fixture
def index(index: ResultsIndex) -> ResultsIndex:
    """The empty index, with BATCH's results: every class of unusable answer beside usable ones and an
    error, the requests stored (two asked for a JSON schema)."""
    lines: list[dict[str, Any]] = [succeeded(f"ok-{i}") for i in range(5)]
    lines += [answer(f"cut-{i}", HOSTILE, "max_tokens") for i in range(3)]
    lines += [answer("window-0", "x", "model_context_window_exceeded")]
    lines += [answer("json-bad", BAD), answer("json-ok", '{"customer": "Ada", "items": []}')]
    lines += [answer("no-0", "", "refusal", stop_details={"type": "refusal", "explanation": HOSTILE})]
    lines += [errored("err-0")]
    requests = {line["custom_id"]: params() for line in lines} | {"json-bad": schema_params()}
    requests["json-ok"] = schema_params()
    index_lines(index, BATCH, lines, requests=requests)
    return index


async def test_groups_with_counts_and_the_inspector_shows_the_violation_and_the_output(
    index: ResultsIndex,
) -> None:
    app = ScreenHost(lambda: ProblemsScreen(index, BATCH))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, ProblemsScreen)
        groups = screen.query_one("#problems-groups", OptionList)
        labels = [str(groups.get_option_at_index(i).prompt) for i in range(groups.option_count)]
        assert [label.split("  ")[:2] for label in labels] == [
            ["overloaded_error", "1"],
            ["✂ truncated", "4"],
            ["{} invalid output", "1"],
            ["⊘ refused", "1"],
            ["succeeded", "6"],  # the usable ones only
        ]
        assert "↻ on request" in labels[1]

        await pilot.press("right_square_bracket", "right_square_bracket")  # the invalid outputs
        assert screen.group is not None and screen.group.key == GroupKey("succeeded", "", "invalid_output")
        table = screen.query_one("#problems-items", ItemsTable)
        detail = str(table.get_cell(table.row_keys[0], "detail"))
        assert detail.startswith('$.items[0].price: expected number, got "12"')
        await pilot.press("enter")
        inspector = app.screen
        assert isinstance(inspector, InspectorScreen)
        header = str(inspector.query_one("#inspector-header", Static).render())
        assert '{} invalid output: $.items[0].price: expected number, got "12"' in header
        output = inspector.query_one("#inspector-output", TextArea)
        assert output.has_focus and output.text == BAD  # the raw output, exactly as written
        await pilot.press("c")
        assert app.clipboard == output.text
        await pilot.press("t")
        assert inspector.query_one("#inspector-tabs").active == "inspector-result-tab"  # type: ignore[attr-defined]
        await pilot.press("t", "t")
        assert inspector.query_one("#inspector-tabs").active == "inspector-output-tab"  # type: ignore[attr-defined]
        await pilot.press("escape", "left_square_bracket")  # the truncated ones: hostile output, literally

        assert screen.group is not None and screen.group.key.unusable == "truncated"
        table.move_cursor(row=0)
        await pilot.press("enter")
        inspector = app.screen
        assert isinstance(inspector, InspectorScreen)
        assert inspector.query_one("#inspector-output", TextArea).text == HOSTILE
        header = str(inspector.query_one("#inspector-header", Static).render())
        assert "cut off at max_tokens" in header
        await pilot.press("escape", "right_square_bracket", "right_square_bracket", "enter")
        inspector = app.screen
        assert isinstance(inspector, InspectorScreen)
        assert SHOWN in str(inspector.query_one("#inspector-header", Static).render())  # refusal's reason
        assert app.is_running
