"""`batchboard list`: every batch in the workspace as a table (newest first), or as JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING, Any

from batchboard.commands._results_common import (
    CommandError,
    add_profile_option,
    connection_from_args,
    fail,
    load_settings_quietly,
    printable,
)

if TYPE_CHECKING:
    from batchboard.core.models import Batch


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "list",
        help="print every batch as a table (newest first)",
        description="List every batch in the workspace, newest first, with counts and cost where known.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON (one object per batch)")
    add_profile_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings_quietly()
    try:
        connection = connection_from_args(args, settings)
        batches = asyncio.run(_fetch_all(connection))
    except CommandError as error:
        return fail(error)
    costs = _known_costs(settings, [b.id for b in batches])
    if args.json:
        print(json.dumps([_as_json(b, costs.get(b.id)) for b in batches], indent=2, ensure_ascii=False))
        return 0
    _print_table(batches, costs)
    return 0


async def _fetch_all(connection: Any) -> list[Batch]:
    from batchboard.core.gateway.batches import BatchApi
    from batchboard.core.gateway.client import make_client
    from batchboard.core.gateway.errors import ApiError

    api = BatchApi(make_client(connection))
    batches: list[Batch] = []
    try:
        async for page in api.list_all():
            batches.extend(page.batches)
    except ApiError as exc:
        raise CommandError(exc.message) from exc
    finally:
        await api.close()
    return batches


def _known_costs(settings: Any, batch_ids: list[str]) -> dict[str, Any]:
    """Costs of batches whose results are in the local index (others show '—')."""
    from batchboard.commands._results_common import open_store
    from batchboard.core.cost import batch_cost
    from batchboard.core.results.index import ResultsIndex

    index = ResultsIndex(open_store())
    try:
        files = index.files()
        usage = index.usage_groups()
        return {b: batch_cost(b, usage, settings) for b in batch_ids if b in files and files[b].indexed}
    finally:
        index.store.close()


def _as_json(batch: Batch, cost: Any) -> dict[str, Any]:
    c = batch.counts

    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": batch.id,
        "processing_status": batch.processing_status,
        "outcome": batch.outcome.value,
        "request_counts": {
            "processing": c.processing,
            "succeeded": c.succeeded,
            "errored": c.errored,
            "canceled": c.canceled,
            "expired": c.expired,
            "total": c.total,
        },
        "created_at": iso(batch.created_at),
        "expires_at": iso(batch.expires_at),
        "ended_at": iso(batch.ended_at),
        "archived_at": iso(batch.archived_at),
        "cost_usd": cost.batch_cost if cost is not None else None,
        "saving_usd": cost.saving if cost is not None else None,
        "cost_complete": cost.complete if cost is not None else None,
    }


def _print_table(batches: list[Batch], costs: dict[str, Any]) -> None:
    from batchboard.core.format import timestamp, usd

    header = ("ID", "STATUS", "TOTAL", "OK", "ERR", "CANCEL", "EXPIRED", "CREATED", "COST", "SAVED")
    rows = [header]
    for b in batches:
        c = b.counts
        cost = costs.get(b.id)
        rows.append(
            (
                printable(b.id),
                b.outcome.value,
                f"{c.total:,}",
                f"{c.succeeded:,}",
                f"{c.errored:,}",
                f"{c.canceled:,}",
                f"{c.expired:,}",
                timestamp(b.created_at),
                (usd(cost.batch_cost) + ("" if cost.complete else "+?")) if cost else "—",
                usd(cost.saving) if cost else "—",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    numeric = {2, 3, 4, 5, 6, 8, 9}
    for row in rows:
        cells = [
            cell.rjust(w) if i in numeric else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
    if not batches:
        print("(no batches)", file=sys.stderr)
