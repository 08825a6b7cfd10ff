"""Fixtures for submit tests: an emulator in a thread on a manual clock, an async SDK client, a store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anthropic
import orjson
import pytest

from batchboard.core.clock import ManualClock
from batchboard.core.store import Store
from batchboard.emulator import Emulator, EmulatorSettings

API_KEY = "sk-ant-emulator"


def write_jsonl(path: Path, count: int, *, prefix: str = "req", model: str = "claude-haiku-5-5") -> Path:
    lines = [
        orjson.dumps(
            {
                "custom_id": f"{prefix}-{i}",
                "params": {
                    "model": model,
                    "max_tokens": 64,
                    "messages": [{"role": "user", "content": f"Classify ticket {i}: export is slow."}],
                },
            }
        )
        for i in range(count)
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def emulator(clock: ManualClock) -> Iterator[Emulator]:
    settings = EmulatorSettings(seed=3, demo=False, batch_duration=60.0, error_rate=0.0)
    emu = Emulator(settings, clock=clock)
    with emu.running_in_thread():
        yield emu


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(
        api_key=API_KEY, base_url=emulator.base_url, max_retries=0, _strict_response_validation=True
    ) as sdk:
        yield sdk


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.memory() as db:
        yield db
