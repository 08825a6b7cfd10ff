"""`R` from the dashboard on a batch whose only problems are succeeded but unusable answers (truncated,
invalid output, refused), against the real emulator: the retry screen opens with those classes chosen,
truncated items go again with max_tokens doubled, and a batch with neither failures nor unusable answers
says why R does not apply."""

from __future__ import annotations

from pathlib import Path

import anthropic
import orjson
from tests.results.helpers import ORDER_SCHEMA
from tests.ui.conftest import SIZE, first_round, notices, select, until_ended, wait_until
from tests.ui.test_submit_retry_keys import emulator_received, retry_screen_ready, send_file, send_retry
from textual.widgets import Static

from batchboard.core.clock import ManualClock
from batchboard.core.results.index import ResultsIndex
from batchboard.core.store import Store
from batchboard.core.submit.intents import stored_requests
from batchboard.emulator import EmulatorSettings
from batchboard.ui.app import BatchboardApp

#: No API errors: the only problems are the answers themselves (refused, or breaking their schema).
EMULATOR_SETTINGS = EmulatorSettings(
    seed=0, demo=False, batch_duration=60.0, refusal_rate=0.15, invalid_output_rate=0.5
)
MODEL = "claude-haiku-5-5"
SHORT = 4  # too few tokens for any answer: cut at max_tokens


def write_requests(path: Path, count: int, *, clean: bool = False) -> Path:
    """`count` requests in turn: too short a max_tokens, a JSON schema, a plain prompt (all plain if
    `clean`)."""
    lines = []
    for i in range(count):
        kind = "plain" if clean else ("short", "json", "plain")[i % 3]
        params: dict[str, object] = {
            "model": MODEL,
            "max_tokens": SHORT if kind == "short" else 1024,
            "messages": [{"role": "user", "content": f"Order {i}"}],
        }
        if kind == "json":
            params["output_config"] = {"format": {"type": "json_schema", "schema": ORDER_SCHEMA}}
        lines.append(orjson.dumps({"custom_id": f"{kind}-{i}", "params": params}))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def unusable_ids(store: Store, batch_id: str) -> dict[str, set[str]]:
    """The batch's problems by class, as the results index has them ("" for an API error)."""
    found: dict[str, set[str]] = {}
    for custom_id, _, _, unusable in ResultsIndex(store).outcomes(batch_id, problems_only=True):
        found.setdefault(unusable, set()).add(custom_id)
    return found


async def test_R_on_a_batch_with_only_unusable_answers_resends_them_with_room_to_finish(
    app: BatchboardApp, store: Store, tmp_path: Path, client: anthropic.AsyncAnthropic, clock: ManualClock
) -> None:
    cut = await send_file(store, client, clock, write_requests(tmp_path / "orders.jsonl", 30))
    clean = await send_file(store, client, clock, write_requests(tmp_path / "fine.jsonl", 2, clean=True))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_round(pilot)
        await until_ended(pilot, app, cut, clean)
        results = app.controller.results
        assert results is not None
        # Seen running, then ended: both are indexed without a key pressed.
        await wait_until(pilot, lambda: results.is_indexed(cut) and results.is_indexed(clean), limit=30)
        problems = unusable_ids(store, cut)
        assert set(problems) == {"truncated", "invalid_output", "refused"}  # no API error among them
        assert app.book.batches[cut].counts.errored == 0 and not app.book.batches[cut].can_retry
        assert unusable_ids(store, clean) == {}

        # Neither failures nor unusable answers: R is not offered, and pressed, it says why.
        await select(pilot, clean)
        assert app.dashboard.check_action("retry", ()) is False
        await pilot.press("R")
        await pilot.pause()
        assert app.screen is app.dashboard
        assert any("No failed or unusable items in this batch." in n for n in notices(app))

        await select(pilot, cut)
        await wait_until(pilot, lambda: app.dashboard.check_action("retry", ()) is True)
        await pilot.press("R")
        screen = await retry_screen_ready(pilot, app)
        assert screen.batch_id == cut and screen.unusable == {"truncated", "invalid_output", "refused"}
        choices = str(screen.query_one("#choices", Static).render())
        for choice in ("✂ truncated (t, max_tokens doubled", "{} invalid output (o)", "⊘ refused (r)"):
            assert f"[x] {choice}" in choices
        assert screen.plan is not None
        expected = set().union(*problems.values())
        assert screen.plan.groups == {name: len(ids) for name, ids in problems.items()}
        assert {custom_id for custom_id, _ in screen.plan.requests} == expected

        child = await send_retry(pilot, app, screen)
        sent = {cid: orjson.loads(params) for cid, params in stored_requests(store, child).items()}
        assert set(sent) == expected
        for custom_id, params in sent.items():  # room to finish for the cut ones; the rest as they were
            asked = SHORT if custom_id.startswith("short-") else 1024
            doubled = custom_id in problems["truncated"]
            assert params["max_tokens"] == (2 * asked if doubled else asked), custom_id
        assert all(cid.startswith("short-") for cid in problems["truncated"])  # only those ran short
    assert await emulator_received(client, clock, child) == expected
