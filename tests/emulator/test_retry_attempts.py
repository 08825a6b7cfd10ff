"""Retryable failures are drawn per attempt: reproducible from the seed, yet a retry can succeed."""

from __future__ import annotations

import anthropic
import pytest

from batchboard.core.clock import ManualClock
from batchboard.emulator import Emulator, EmulatorSettings

from .conftest import request, sync_client, validated_results


def run_batch(client: anthropic.Anthropic, clock: ManualClock, custom_ids: list[str]) -> dict[str, str]:
    batch = client.messages.batches.create(requests=[request(cid) for cid in custom_ids])  # type: ignore[misc]
    clock.advance(601)
    return {line.custom_id: line.result.type for line in validated_results(client, batch.id)}


def failed_then_retried(seed: int) -> tuple[dict[str, str], dict[str, str]]:
    clock = ManualClock()
    settings = EmulatorSettings(seed=seed, demo=False, batch_duration=600.0, error_rate=0.5)
    emu = Emulator(settings, clock=clock)
    with emu.running_in_thread() as base_url, sync_client(base_url) as client:
        first = run_batch(client, clock, [f"item-{i:03d}" for i in range(60)])
        failed = sorted(cid for cid, kind in first.items() if kind == "errored")
        return first, run_batch(client, clock, failed)


def test_a_retry_gets_a_fresh_draw_and_the_run_is_reproducible() -> None:
    first, retry = failed_then_retried(seed=11)
    failed = {cid for cid, kind in first.items() if kind == "errored"}
    assert 15 <= len(failed) <= 45, "error_rate 0.5 should fail about half"
    assert set(retry) == failed
    recovered = [cid for cid, kind in retry.items() if kind == "succeeded"]
    assert recovered, "a retry of overloaded/api errors must be able to succeed"
    assert len(recovered) < len(retry) or len(retry) < 4, "the retry is drawn at the same rate, not forced"
    assert failed_then_retried(seed=11) == (first, retry), "same seed and history, same outcomes"


def test_a_rejected_create_is_not_an_attempt(emulator: Emulator, client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError):
        client.messages.batches.create(requests=[request("dup"), request("dup")])  # type: ignore[misc]
    assert emulator.store.attempts.get("dup") is None
    client.messages.batches.create(requests=[request("dup")])  # type: ignore[misc]
    assert emulator.store.attempts["dup"] == 1
