"""Emulator test fixtures: a manual clock, an emulator serving from a thread, and SDK clients on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import anthropic
import pytest
from anthropic.types.messages import MessageBatchIndividualResponse

from batchboard.core.clock import ManualClock
from batchboard.emulator import Emulator, EmulatorSettings

API_KEY = "sk-ant-emulator"


def sync_client(base_url: str, **kwargs: object) -> anthropic.Anthropic:
    options: dict[str, object] = {"max_retries": 0}
    options.update(kwargs)
    return anthropic.Anthropic(
        api_key=API_KEY,
        base_url=base_url,
        _strict_response_validation=True,
        **options,  # type: ignore[arg-type]
    )


def request(
    custom_id: str, text: str = "Classify this ticket: the CSV export is missing rows.", **params: object
) -> dict[str, object]:
    """One batch request envelope; `params` override the defaults."""
    body: dict[str, object] = {
        "model": "claude-haiku-5-5",
        "max_tokens": 512,
        "messages": [{"role": "user", "content": text}],
    }
    body.update(params)
    return {"custom_id": custom_id, "params": body}


def validated_results(client: anthropic.Anthropic, batch_id: str) -> list[MessageBatchIndividualResponse]:
    """Every results line, validated strictly with the SDK's own model (the SDK itself does not)."""
    return [
        MessageBatchIndividualResponse.model_validate(line.to_dict())
        for line in client.messages.batches.results(batch_id)
    ]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings() -> EmulatorSettings:
    return EmulatorSettings(seed=7, demo=False, batch_duration=600.0, ttft=0.0, tokens_per_second=0.0)


@pytest.fixture
def emulator(settings: EmulatorSettings, clock: ManualClock) -> Iterator[Emulator]:
    emu = Emulator(settings, clock=clock)
    with emu.running_in_thread():
        yield emu


@pytest.fixture
def client(emulator: Emulator) -> Iterator[anthropic.Anthropic]:
    assert emulator.base_url is not None
    with sync_client(emulator.base_url) as sdk:
        yield sdk


@pytest.fixture
async def async_emulator(settings: EmulatorSettings, clock: ManualClock) -> AsyncIterator[Emulator]:
    emu = Emulator(settings, clock=clock)
    async with emu.running():
        yield emu


@pytest.fixture
async def async_client(async_emulator: Emulator) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(
        api_key=API_KEY, base_url=async_emulator.base_url, max_retries=0, _strict_response_validation=True
    ) as sdk:
        yield sdk
