"""Succeeded but unusable: truncated, invalid output and refused answers are classified once, at ingest (or
when a batch's requests are attached later, or when an older items file is migrated), never when read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.conftest import HOSTILE
from tests.results.helpers import (
    answer,
    errored,
    index_lines,
    legacy_database,
    link_requests,
    params,
    schema_params,
    succeeded,
    tool_call,
    tool_params,
)

from batchboard.core.cost import batch_cost
from batchboard.core.results.index import GroupKey, ResultsIndex, Retryability
from batchboard.core.results.recheck import recheck_outputs
from batchboard.core.store import Store

ORDER = {"customer": "Ada", "items": [{"name": "tea", "price": 3.5}]}
BAD_PRICE = {
    "customer": "Ada",
    "items": [{"name": "tea", "price": 3.5}, {"name": "jam", "price": 4}, {"name": "bread", "price": "12"}],
}


def unusable_world() -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Results and the requests they answer: one line of every kind of answer."""
    window = {"stop_reason": "model_context_window_exceeded"}
    lines = [
        succeeded("plain-ok"),
        answer("cut-1", "The answer stops in the mi", "max_tokens"),
        answer("window-1", "A long answer that ran into the window", window["stop_reason"]),
        answer(
            "no-1",
            "I can't",
            "refusal",
            stop_details={"type": "refusal", "category": "cyber", "explanation": HOSTILE},
        ),
        answer(
            "no-2", "", "refusal", stop_details={"type": "refusal", "category": None, "explanation": None}
        ),
        answer("json-ok", orjson.dumps(ORDER).decode()),
        answer("json-price", orjson.dumps(BAD_PRICE).decode()),
        answer("json-broken", '{"customer": "Ada", "items": [{"name": "te'),
        answer("json-missing", '{"items": []}'),
        answer("json-extra", '{"customer": "Ada", "items": [], "note": "[/]"}'),
        answer("json-cut", '{"customer": "Ada", "ite', "max_tokens"),
        answer("tool-ok", tool_call("record_weather", {"city": "Oslo", "celsius": -3}), "tool_use"),
        answer("tool-bad", tool_call("record_weather", {"city": "Oslo", "celsius": "warm"}), "tool_use"),
        answer("tool-none", "It will be sunny.", "end_turn"),
        answer("any-wrong", tool_call("launch_rocket", {}), "tool_use"),
        answer("plain-json", '{"not": "checked"'),  # no schema asked for: never checked
        errored("err-1"),
    ]
    requests = {line["custom_id"]: params() for line in lines}
    for cid in ("json-ok", "json-price", "json-broken", "json-missing", "json-extra", "json-cut"):
        requests[cid] = schema_params()
    for cid in ("tool-ok", "tool-bad", "tool-none"):
        requests[cid] = tool_params()
    requests["any-wrong"] = tool_params({"type": "any"})
    return lines, requests


def details(index: ResultsIndex, batch_id: str, unusable: str) -> dict[str, str | None]:
    items = index.items(batch_id, GroupKey("succeeded", "", unusable))
    assert all(i.unusable == unusable for i in items)
    return {i.custom_id: i.unusable_detail for i in items}


def test_every_class_is_decided_at_ingest_with_the_first_violation_and_its_path(index: ResultsIndex) -> None:
    lines, requests = unusable_world()
    # The requests are known before the results come: checked as they arrive.
    batch = index_lines(index, "msgbatch_unusable", lines, requests=requests, chunk=97)

    assert details(index, batch.id, "truncated") == {"cut-1": None, "json-cut": None, "window-1": None}
    assert details(index, batch.id, "refused") == {"no-1": HOSTILE, "no-2": None}
    invalid = details(index, batch.id, "invalid_output")
    assert invalid["json-price"] == '$.items[2].price: expected number, got "12"'
    assert invalid["json-missing"] == "$.customer: missing (required)"
    assert invalid["json-extra"] == "$.note: not allowed (no such property in the schema)"
    assert (invalid["json-broken"] or "").startswith("$: not valid JSON (")
    assert invalid["tool-bad"] == 'tool record_weather input $.celsius: expected number, got "warm"'
    assert invalid["tool-none"] == '$: no call of the tool "record_weather" in the output'
    assert invalid["any-wrong"] == '$: a call of "launch_rocket", which is not one of the tools offered'
    assert set(invalid) == {
        "json-price",
        "json-missing",
        "json-extra",
        "json-broken",
        "tool-bad",
        "tool-none",
        "any-wrong",
    }

    usable = index.items(batch.id, GroupKey("succeeded"))
    assert [i.custom_id for i in usable] == ["json-ok", "plain-json", "plain-ok", "tool-ok"]
    summary = [(g.key.label, g.count, g.retryability) for g in index.groups(batch.id)]
    assert summary == [
        ("overloaded_error", 1, Retryability.RETRYABLE),
        ("truncated", 3, Retryability.ON_REQUEST),
        ("invalid_output", 7, Retryability.ON_REQUEST),
        ("refused", 2, Retryability.ON_REQUEST),
        ("succeeded", 4, Retryability.NOT_APPLICABLE),  # the usable ones only
    ]
    assert index.unusable_counts(batch.id) == {
        "truncated": (3, None),
        "invalid_output": (7, '$.items[2].price: expected number, got "12"'),  # the first in the file
        "refused": (2, HOSTILE),
    }
    found = index.find(batch.id, "json-price")
    assert found is not None and found.unusable == "invalid_output"
    problems = {cid: unusable for cid, _, _, unusable in index.outcomes(batch.id, problems_only=True)}
    expected = {"err-1": ""} | dict.fromkeys(("cut-1", "window-1", "json-cut"), "truncated")
    expected |= dict.fromkeys(("no-1", "no-2"), "refused") | dict.fromkeys(invalid, "invalid_output")
    assert problems == expected


def test_without_stored_requests_nothing_is_validated(index: ResultsIndex) -> None:
    lines, _ = unusable_world()
    batch = index_lines(index, "msgbatch_unknown", lines)
    counts = {name: count for name, (count, _) in index.unusable_counts(batch.id).items()}
    assert counts == {"truncated": 3, "refused": 2}  # the stop reasons say so; schemas are unknown here
    assert details(index, batch.id, "invalid_output") == {}


def test_requests_attached_after_ingest_get_their_outputs_checked_then(index: ResultsIndex) -> None:
    lines, requests = unusable_world()
    batch = index_lines(index, "msgbatch_late", lines)
    before = index.items_path(batch.id).stat().st_ino
    link_requests(index.store, batch.id, requests)
    found = recheck_outputs(index, batch.id)
    assert found is not None and (found.checked, found.invalid, found.changed) == (9, 7, 7)
    assert index.items_path(batch.id).stat().st_ino != before  # a new file, renamed over the old one
    assert details(index, batch.id, "invalid_output")["json-price"] == (
        '$.items[2].price: expected number, got "12"'
    )
    assert index.unusable_counts(batch.id)["invalid_output"][0] == 7
    assert len(index.items(batch.id, GroupKey("succeeded"))) == 4
    # The same again changes nothing; another file, without schemas, makes them usable again.
    again = recheck_outputs(index, batch.id)
    assert again is not None and again.changed == 0
    link_requests(index.store, batch.id, {cid: params() for cid in requests})
    plain = recheck_outputs(index, batch.id)
    assert plain is not None and (plain.checked, plain.invalid, plain.changed) == (0, 0, 7)
    assert "invalid_output" not in index.unusable_counts(batch.id)
    assert len(index.items(batch.id, GroupKey("succeeded"))) == 11


def test_what_the_unusable_answers_cost_per_class(index: ResultsIndex) -> None:
    lines = [
        succeeded("ok", output_tokens=10),
        answer("cut-a", "x", "max_tokens", output_tokens=1024, input_tokens=2000),
        answer("cut-b", "x", "max_tokens", output_tokens=1024, input_tokens=1000),
        answer("no", "", "refusal", output_tokens=3, input_tokens=100),
    ]
    batch = index_lines(index, "msgbatch_cost", lines)
    usage = index.unusable_usage(batch.id)
    assert list(usage) == ["truncated", "refused"]
    truncated = batch_cost(batch.id, usage["truncated"])
    # claude-sonnet-4-6 at $3 / $15 per million, half price in a batch.
    assert truncated.requests == 2
    assert truncated.batch_cost == pytest.approx((3000 * 3 + 2048 * 15) / 1e6 / 2)
    assert batch_cost(batch.id, usage["refused"]).batch_cost == pytest.approx((100 * 3 + 3 * 15) / 1e6 / 2)
    whole = batch_cost(batch.id, index.usage_groups(batch.id))
    assert whole.requests == 4  # every succeeded request is billed, usable or not


def test_lines_of_one_class_come_in_file_order(index: ResultsIndex) -> None:
    lines, requests = unusable_world()
    batch = index_lines(index, "msgbatch_lines", lines, requests=requests)
    ids = [orjson.loads(line)["custom_id"] for line in index.lines_only(batch.id, "truncated")]
    assert ids == ["cut-1", "window-1", "json-cut"]
    usable = [orjson.loads(line)["custom_id"] for line in index.lines_only(batch.id, "usable")]
    assert usable == ["plain-ok", "json-ok", "tool-ok", "plain-json"]
    every = [orjson.loads(line)["custom_id"] for line in index.lines_only(batch.id, "succeeded")]
    assert len(every) == len(lines) - 1  # succeeded as the API counts it: usable or not


def downgrade_to_version_2(index: ResultsIndex, batch_id: str) -> None:
    """Make the batch look as a batchboard before the unusable classes left it: an items file without the
    columns (user_version 0), no counts in the store, results_version 2."""
    import sqlite3

    from batchboard.core.results.schema import ITEMS_VIEW

    index.forget(batch_id)
    db = sqlite3.connect(index.items_path(batch_id))
    db.execute("DROP VIEW items")
    db.execute("DROP INDEX items_unusable")
    db.execute("ALTER TABLE item_rows DROP COLUMN unusable")
    db.execute("ALTER TABLE item_rows DROP COLUMN unusable_detail")
    db.execute(ITEMS_VIEW.replace(", r.unusable, r.unusable_detail", ""))
    db.execute("PRAGMA user_version = 0")
    db.commit()
    db.close()
    index.store.execute("DELETE FROM result_unusable")
    index.store.execute("DELETE FROM result_unusable_usage")
    index.store.execute("UPDATE meta SET value = '2' WHERE key = 'results_version'")


def test_an_items_file_from_before_the_classes_is_migrated(tmp_path: Path) -> None:
    lines, requests = unusable_world()
    with Store.open(tmp_path / "db.sqlite3") as store:
        index = ResultsIndex(store, tmp_path / "results")
        batch = index_lines(index, "msgbatch_older", lines, requests=requests)
        plain = index_lines(index, "msgbatch_older_plain", lines)
        for each in (batch, plain):
            downgrade_to_version_2(index, each.id)
        index.close()

    with Store.open(tmp_path / "db.sqlite3") as store:
        index = ResultsIndex(store, tmp_path / "results")
        # Not read before it is migrated (it lacks the columns): it counts as not indexed yet.
        assert not index.is_complete(batch.id) and index.items(batch.id, GroupKey("succeeded")) == []
        index.migrate()
        assert index.is_complete(batch.id)
        assert store.query("SELECT value FROM meta WHERE key = 'results_version'") == [("3",)]
        counts = {name: count for name, (count, _) in index.unusable_counts(batch.id).items()}
        assert counts == {"truncated": 3, "invalid_output": 7, "refused": 2}  # its requests were stored
        assert details(index, batch.id, "invalid_output")["tool-bad"] == (
            'tool record_weather input $.celsius: expected number, got "warm"'
        )
        plain_counts = {name: count for name, (count, _) in index.unusable_counts(plain.id).items()}
        assert plain_counts == {"truncated": 3, "refused": 2}  # from the stop reasons the file held
        assert list(index.unusable_usage(plain.id)) == ["truncated", "refused"]
        # The rest of the file is as it was: items, costs and places.
        item = index.find(plain.id, "cut-1")
        assert item is not None and item.unusable == "truncated" and item.cost_batch is not None
        assert orjson.loads(index.raw_line(item))["custom_id"] == "cut-1"
        index.close()


def test_a_database_from_before_items_files_gets_the_classes_too(tmp_path: Path) -> None:
    """Version 1 kept every item in one shared table: its rows move to an items file with the classes the
    stop reasons give."""
    lines, _ = unusable_world()
    batch_id = "msgbatch_v1"
    legacy_database(tmp_path, {batch_id: lines})
    (tmp_path / "results" / f"{batch_id}.jsonl").unlink()  # archived since: only the old rows are left

    with Store.open(tmp_path / "db.sqlite3") as store:
        index = ResultsIndex(store, tmp_path / "results")
        index.migrate()
        counts = {name: count for name, (count, _) in index.unusable_counts(batch_id).items()}
        assert counts == {"truncated": 3, "refused": 2}
        cut = index.items(batch_id, GroupKey("succeeded", "", "truncated"))
        assert [i.custom_id for i in cut] == ["cut-1", "json-cut", "window-1"]
        index.close()
