"""Retrying succeeded but unusable answers: truncated ones get room to finish (max_tokens doubled, capped at
the model's output limit, or an explicit value), the rest go again exactly as they were sent."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.results.helpers import answer, chunked, ended_batch, errored, jsonl, params, succeeded

from batchboard.core.jobs import RetryPlan, Selection, plan_retry
from batchboard.core.model_limits import max_output_tokens
from batchboard.core.results.index import ResultsIndex
from batchboard.core.results.ingest import ingest
from batchboard.core.store import Store
from batchboard.core.submit.intents import attach_file

LIMIT = max_output_tokens("claude-sonnet-4-6")


def world(store: Store) -> str:
    """A batch sent elsewhere, its requests attached: each kind of truncation, a refusal, an error."""
    assert LIMIT is not None
    lines = [
        succeeded("ok"),
        answer("cut-small", "stops in the mi", "max_tokens"),
        answer("cut-big", "stops in the mi", "max_tokens"),
        answer("cut-full", "stops in the mi", "max_tokens"),
        answer("cut-odd", "stops in the mi", "max_tokens", model="claude-mystery-1"),
        answer("window", "ran out of context", "model_context_window_exceeded"),
        answer("no", "", "refusal"),
        errored("err"),
    ]
    requests: dict[str, dict[str, Any]] = {line["custom_id"]: params() for line in lines}
    requests["cut-small"] = params(max_tokens=300, thinking={"type": "enabled", "budget_tokens": 200})
    requests["cut-big"] = params(max_tokens=LIMIT - 1000)
    requests["cut-full"] = params(max_tokens=LIMIT)
    requests["cut-odd"] = params(max_tokens=500) | {"model": "claude-mystery-1"}
    requests["window"] = params(max_tokens=2000)
    batch = ended_batch("msgbatch_cut", lines)
    ingest(batch.id, ResultsIndex(store), batch=batch, source=chunked(jsonl(lines), 64))
    rows = [(cid, n + 1, orjson.dumps(p)) for n, (cid, p) in enumerate(requests.items())]
    attach_file(store, batch.id, rows, source_path="sent.jsonl")
    return batch.id


def sent(plan: Any) -> dict[str, dict[str, Any]]:
    return {cid: orjson.loads(p) for cid, p in plan.requests}


def test_truncated_items_get_max_tokens_doubled_up_to_the_model_limit(store: Store) -> None:
    batch_id = world(store)
    plan = plan_retry(store, batch_id, Selection.parse("truncated"))
    out = sent(plan)
    assert list(out) == ["cut-small", "cut-big", "cut-full", "cut-odd", "window"]
    assert out["cut-small"]["max_tokens"] == 600
    assert out["cut-small"]["thinking"] == {"type": "enabled", "budget_tokens": 200}  # the rest as sent
    assert out["cut-big"]["max_tokens"] == LIMIT  # doubled would be above the limit
    assert out["cut-full"]["max_tokens"] == LIMIT  # already there: resent unchanged
    assert out["cut-odd"]["max_tokens"] == 1000  # no known limit: doubled, uncapped
    assert out["window"]["max_tokens"] == 2000  # more output would not help
    assert plan.raised == {"cut-small": (300, 600), "cut-big": (LIMIT - 1000, LIMIT), "cut-odd": (500, 1000)}
    assert plan.at_limit == Counter({LIMIT: 1}) and plan.window == 1 and plan.no_limit == 1
    assert plan.groups == Counter({"truncated": 5})
    assert plan.left_out == Counter({"refused": 1, "overloaded_error": 1})
    assert plan.notes() == [
        f"3 truncated items resent with max_tokens raised to 600-{LIMIT:,}",
        f"1 item already at the model's {LIMIT:,}-token limit: resent unchanged",
        "1 item of a model whose output limit is not known: raised uncapped",
        "1 item stopped at the model's context window (model_context_window_exceeded): resent unchanged; "
        "more output tokens will not help it",
    ]


def test_the_notes_count_items_in_the_singular_and_the_plural() -> None:
    one = RetryPlan("b", raised={"a": (300, 600)}, capped=Counter({LIMIT: 1}))
    assert one.notes() == [
        "1 truncated item resent with max_tokens raised to 600",
        f"1 item capped at its model's {LIMIT:,}-token output limit",
    ]
    many = RetryPlan(
        "b",
        raised={"a": (300, 600), "b": (300, 600)},
        capped=Counter({LIMIT: 2}),
        at_limit=Counter({LIMIT: 2}),
        no_limit=2,
        window=1_500,
    )
    assert many.notes() == [
        "2 truncated items resent with max_tokens raised to 600",
        f"2 items capped at their model's {LIMIT:,}-token output limit",
        f"2 items already at the model's {LIMIT:,}-token limit: resent unchanged",
        "2 items of a model whose output limit is not known: raised uncapped",
        "1,500 items stopped at the model's context window (model_context_window_exceeded): resent "
        "unchanged; more output tokens will not help them",
    ]


def test_an_explicit_max_tokens_is_used_and_capped(store: Store) -> None:
    batch_id = world(store)
    assert LIMIT is not None
    plan = plan_retry(store, batch_id, Selection.parse("truncated,refused"), max_tokens=LIMIT + 5)
    out = sent(plan)
    assert {cid: r["max_tokens"] for cid, r in out.items() if cid.startswith("cut")} == {
        "cut-small": LIMIT,
        "cut-big": LIMIT,
        "cut-full": LIMIT,
        "cut-odd": LIMIT + 5,  # its limit is not known
    }
    assert plan.capped == Counter({LIMIT: 2}) and plan.at_limit == Counter({LIMIT: 1})
    assert out["no"] == params()  # refused: exactly as sent
    small = plan_retry(store, batch_id, Selection.parse("truncated"), max_tokens=4096)
    assert sent(small)["cut-small"]["max_tokens"] == 4096 and sent(small)["cut-full"]["max_tokens"] == 4096


def test_the_default_retry_leaves_unusable_answers_out(store: Store) -> None:
    batch_id = world(store)
    plan = plan_retry(store, batch_id, Selection.parse(None))
    assert [cid for cid, _ in plan.requests] == ["err"]
    assert plan.left_out == Counter({"truncated": 5, "refused": 1})
    assert Selection.parse("invalid").unusable == {"invalid_output"}


def test_cli_dry_run_json_carries_each_request_as_it_would_be_sent(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from batchboard.cli import main

    with Store.open() as store:  # the data dir the command opens (tests/conftest.py)
        batch_id = world(store)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    code = main(["retry", batch_id, "--types", "truncated", "--max-tokens", "8000", "--dry-run", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    requests = {r["custom_id"]: r["params"] for r in report["requests"]}
    assert requests["cut-small"] == params(
        max_tokens=8000, thinking={"type": "enabled", "budget_tokens": 200}
    )
    assert requests["window"]["max_tokens"] == 2000
    assert report["chosen"] == {"truncated": 5} and report["max_tokens_raised"] == 4
    assert any("model_context_window_exceeded" in n for n in report["notes"])
    with pytest.raises(SystemExit) as usage:
        main(["retry", batch_id, "--max-tokens", "0", "--dry-run"])
    assert usage.value.code == 2
    assert "--max-tokens: expected a whole number of tokens above 0, got '0'" in capsys.readouterr().err


async def test_the_retry_screen_toggles_the_unusable_groups_and_steps_max_tokens(tmp_path: Path) -> None:
    from textual.app import App
    from textual.widgets import Static

    from batchboard.core.clock import ManualClock
    from batchboard.core.config import Settings
    from batchboard.ui.screens.submit import RetryScreen

    with Store.open(tmp_path / "db.sqlite3") as store:
        batch_id = world(store)
        screen = RetryScreen(store, lambda: None, Settings(), ManualClock(), batch_id)

        class Host(App[None]):
            def on_mount(self) -> None:
                self.push_screen(screen)

        async def planned(pilot: Any, test: Any) -> None:
            for _ in range(200):
                await pilot.pause(0.02)
                if screen.plan is not None and test(screen.plan):
                    return
            raise AssertionError(f"no such plan: {screen.plan}")

        app = Host()
        async with app.run_test(size=(100, 30)) as pilot:
            await planned(pilot, lambda plan: plan.groups == Counter({"overloaded_error": 1}))
            assert screen.plan is not None and screen.plan.left_out["truncated"] == 5
            await pilot.press("t", "r")
            await planned(pilot, lambda plan: plan.groups["truncated"] == 5 and plan.groups["refused"] == 1)
            assert screen.types == "expired,retryable,truncated,refused"
            assert sent(screen.plan)["cut-small"]["max_tokens"] == 600
            report = " ".join(str(s.render()) for s in screen.query("#report Static").results(Static))
            assert "model_context_window_exceeded" in report and "resent unchanged" in report
            await pilot.press("m")
            await planned(pilot, lambda plan: sent(plan)["cut-small"]["max_tokens"] == 8192)
            assert "max_tokens 8,192" in str(screen.query_one("#choices", Static).render())
