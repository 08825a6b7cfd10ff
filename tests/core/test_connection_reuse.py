"""Poll rounds reuse one connection: idle connections outlive the poll interval (httpx drops them after 5 s,
the default interval, so every round used to open a new one: a new TLS handshake on the real API).

The emulator counts the client ends (host, port) it served, one per connection; the gap between rounds is
real time, longer than httpx's default keep-alive, and a client built as the SDK builds it by default is
the control that shows the gap does drop connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from anthropic import AsyncAnthropic
from tests.core.conftest import running_emulator

from batchboard.core.clock import ManualClock
from batchboard.core.gateway.batches import BatchApi
from batchboard.core.gateway.client import Connection, make_client
from batchboard.core.poller import Poller
from batchboard.emulator import Emulator

#: Longer than httpx's default keep-alive (5 s), which was also the default poll interval.
GAP = 5.5


def test_keepalive_outlives_the_poll_interval() -> None:
    assert Connection(None, "k").keepalive_expiry >= 5 * 5.0
    assert Connection(None, "k", poll_interval=20).keepalive_expiry >= 2 * 20
    from_env = Connection.from_env(environ={"ANTHROPIC_API_KEY": "k"}, poll_interval=40)
    assert from_env.poll_interval == 40 and from_env.keepalive_expiry > 40


@pytest.fixture
def control(clock: ManualClock) -> Iterator[Emulator]:
    yield from running_emulator(clock, seed=1)


async def _rounds(api: BatchApi, emulator: Emulator, clock: ManualClock) -> tuple[int, int]:
    """Two rounds, a pause of GAP, two more: the connections seen after the first two and after all four."""
    poller = Poller(api, clock=clock, interval=GAP)
    for _ in range(2):
        assert (await poller.poll_once()).status.ok
    before = len(emulator.request_log.peers)
    await asyncio.sleep(GAP)
    for _ in range(2):
        assert (await poller.poll_once()).status.ok
    return before, len(emulator.request_log.peers)


async def test_poll_rounds_reuse_one_connection(
    emulator: Emulator, control: Emulator, clock: ManualClock
) -> None:
    for emu in (emulator, control):
        emu.add_batch(count=10, created_at=clock.now(), duration=3600)
        emu.add_batch(count=10, created_at=clock.now(), duration=1)
    clock.advance(2)
    assert emulator.base_url and control.base_url
    ours = BatchApi(make_client(Connection(emulator.base_url, "test-key", max_retries=0, poll_interval=GAP)))
    sdk_default = BatchApi(AsyncAnthropic(api_key="test-key", base_url=control.base_url, max_retries=0))
    try:
        (ours_before, ours_after), (sdk_before, sdk_after) = await asyncio.gather(
            _rounds(ours, emulator, clock), _rounds(sdk_default, control, clock)
        )
    finally:
        await ours.close()
        await sdk_default.close()
    assert emulator.request_log.served >= 4 and control.request_log.served >= 4
    assert ours_before == ours_after == 1, "the rounds after the pause opened a new connection"
    assert sdk_after > sdk_before, "the control kept its connection: the pause proves nothing"
