"""BatchApi against the real emulator: pages, retrieve, cancel, request counting, plain-words errors."""

from __future__ import annotations

import pytest

from batchboard.core.clock import ManualClock
from batchboard.core.gateway.batches import BatchApi
from batchboard.core.gateway.client import Connection, make_client
from batchboard.core.gateway.errors import ApiError
from batchboard.emulator import Emulator, Fault


async def test_list_page_and_list_all(api: BatchApi, emulator: Emulator, clock: ManualClock) -> None:
    ids = [emulator.add_batch(count=10, created_at=clock.now(), duration=60) for _ in range(25)]
    clock.advance(1)
    page = await api.list_page(limit=10)
    assert len(page.batches) == 10 and page.has_more
    assert api.requests_made == 1
    pages = [p async for p in api.list_all(page_size=10)]
    assert [len(p.batches) for p in pages] == [10, 10, 5]
    assert api.requests_made == 1 + 3
    listed = [b.id for p in pages for b in p.batches]
    assert sorted(listed) == sorted(ids) and len(set(listed)) == 25
    # Newest first.
    created = [b.created_at for p in pages for b in p.batches]
    assert created == sorted(created, reverse=True)


async def test_retrieve_and_cancel(api: BatchApi, emulator: Emulator, clock: ManualClock) -> None:
    batch_id = emulator.add_batch(count=100, created_at=clock.now(), duration=3600)
    batch = await api.retrieve(batch_id)
    assert batch.id == batch_id and batch.processing_status == "in_progress"
    assert batch.counts.processing == 100 and batch.can_cancel
    canceled = await api.cancel(batch_id)
    assert canceled.processing_status == "canceling" and canceled.cancel_initiated_at is not None
    assert api.requests_made == 2


async def test_not_found_is_a_plain_api_error(api: BatchApi) -> None:
    with pytest.raises(ApiError) as info:
        await api.retrieve("msgbatch_doesnotexist000000000000")
    error = info.value
    assert error.status == 404 and error.is_not_found
    assert error.error_type == "not_found_error"
    assert error.request_id and error.request_id.startswith("req_")
    assert error.message.startswith("HTTP 404 not_found_error: ")
    assert f"(request {error.request_id})" in error.message


async def test_overloaded_fault_maps_to_api_error(api: BatchApi, emulator: Emulator) -> None:
    emulator.faults.add(Fault(kind="overloaded", path="/v1/messages/batches"))
    with pytest.raises(ApiError) as info:
        await api.list_page()
    assert info.value.status == 529 and info.value.error_type == "overloaded_error"
    assert "overloaded_error" in info.value.message


async def test_connection_refused_is_an_api_error_without_status() -> None:
    api = BatchApi(make_client(Connection("http://127.0.0.1:9", "test-key", max_retries=0, timeout=2)))
    try:
        with pytest.raises(ApiError) as info:
            await api.list_page()
        assert info.value.status is None
        assert info.value.message.startswith("Could not reach the API")
    finally:
        await api.close()
