"""Fixtures for the core tests that talk to the API: the emulator in a thread on a manual clock, and a
BatchApi (no SDK retries) pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from batchboard.core.clock import ManualClock
from batchboard.core.gateway.batches import BatchApi
from batchboard.core.gateway.client import Connection, make_client
from batchboard.emulator import Emulator, EmulatorSettings

START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def running_emulator(clock: ManualClock, seed: int = 0) -> Iterator[Emulator]:
    """An emulator (no demo world) serving in a thread on `clock` until the generator is closed."""
    emu = Emulator(EmulatorSettings(seed=seed, demo=False), clock=clock)
    emu.start_in_thread()
    try:
        yield emu
    finally:
        emu.stop_in_thread()


@pytest.fixture
def emulator(clock: ManualClock) -> Iterator[Emulator]:
    yield from running_emulator(clock)


@pytest.fixture
async def api(emulator: Emulator) -> AsyncIterator[BatchApi]:
    assert emulator.base_url
    batch_api = BatchApi(make_client(Connection(emulator.base_url, "test-key", max_retries=0)))
    yield batch_api
    await batch_api.close()
