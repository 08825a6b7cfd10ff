"""`batchboard list`: every batch in the workspace (newest first) with its label, counts and cost where known,
as a table, a JSON array or JSON lines, printed page by page as the API answers."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from batchboard.commands._results_common import (
    CommandError,
    add_profile_option,
    connection_from_args,
    fail,
    load_settings_quietly,
    one_line,
)

if TYPE_CHECKING:
    from batchboard.core.config import Settings
    from batchboard.core.cost import BatchCost
    from batchboard.core.gateway.client import Connection
    from batchboard.core.models import Batch

#: The table's columns and widths: fixed, so each row prints as soon as its page arrives (a wider value
#: widens its own row only; nothing is ever cut). A batch id of the API is 33 characters.
COLUMNS = (
    ("ID", 33),
    ("STATUS", 9),
    ("TOTAL", 7),
    ("OK", 7),
    ("ERR", 7),
    ("CANCEL", 6),
    ("EXPIRED", 7),
    ("CREATED", 23),
    ("COST", 9),
    ("SAVED", 9),
    ("LABEL", 0),
)
_LEFT = {"ID", "STATUS", "CREATED", "LABEL"}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "list",
        help="print every batch as a table (newest first), with its label",
        description=(
            "List every batch in the workspace, newest first, with its label, counts and cost where known. "
            "Rows are printed as each page of the list arrives."
        ),
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print a JSON array (one object per batch)")
    output.add_argument("--jsonl", action="store_true", help="print JSON lines (one object per batch)")
    add_profile_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings_quietly()
    try:
        connection = connection_from_args(args, settings)
    except CommandError as error:
        return fail(error)
    labels, costs = local_state(settings)
    printer: _Printer
    if args.json:
        printer = _JsonArray(labels, costs)
    elif args.jsonl:
        printer = _JsonLines(labels, costs)
    else:
        printer = _Table(labels, costs)
    try:
        asyncio.run(_list(connection, printer.page))
    except CommandError as error:
        return fail(error)  # a JSON array stays unclosed: what was printed cannot pass for the whole list
    printer.end()
    return 0


async def _list(connection: Connection, on_page: Callable[[list[Batch]], None]) -> None:
    from batchboard.core.gateway.batches import BatchApi
    from batchboard.core.gateway.client import make_client
    from batchboard.core.gateway.errors import ApiError

    api = BatchApi(make_client(connection))
    try:
        async for page in api.list_all():
            on_page(page.batches)
    except ApiError as exc:
        raise CommandError(exc.message) from exc
    finally:
        await api.close()


def local_state(settings: Settings) -> tuple[dict[str, str], Callable[[str], BatchCost | None]]:
    """Labels, and the cost of each batch whose results are in the local index (others show '—')."""
    from batchboard.commands._results_common import open_store
    from batchboard.core.cost import UsageGroup, batch_cost
    from batchboard.core.results.index import ResultsIndex

    index = ResultsIndex(open_store())
    try:
        labels = index.store.labels()
        indexed = {b for b, f in index.files().items() if f.indexed}
        usage: dict[str, list[UsageGroup]] = {}
        for group in index.usage_groups():
            usage.setdefault(group.batch_id, []).append(group)
    finally:
        index.store.close()

    def cost(batch_id: str) -> BatchCost | None:
        return batch_cost(batch_id, usage.get(batch_id, ()), settings) if batch_id in indexed else None

    return labels, cost


class _Printer:
    def __init__(self, labels: dict[str, str], cost: Callable[[str], BatchCost | None]) -> None:
        self.labels = labels
        self.cost = cost
        self.count = 0

    def page(self, batches: list[Batch]) -> None:
        for batch in batches:
            self.row(batch)
            self.count += 1
        sys.stdout.flush()  # each page reaches the reader (a pipe buffers) as soon as it arrives

    def row(self, batch: Batch) -> None:
        raise NotImplementedError

    def end(self) -> None:
        if not self.count:
            print("(no batches)", file=sys.stderr)


class _Table(_Printer):
    def __init__(self, labels: dict[str, str], cost: Callable[[str], BatchCost | None]) -> None:
        super().__init__(labels, cost)
        self._line([name for name, _ in COLUMNS])

    def row(self, batch: Batch) -> None:
        from batchboard.core.format import timestamp, usd

        c = batch.counts
        cost = self.cost(batch.id)
        self._line(
            [
                one_line(batch.id),
                batch.outcome.value,
                f"{c.total:,}",
                f"{c.succeeded:,}",
                f"{c.errored:,}",
                f"{c.canceled:,}",
                f"{c.expired:,}",
                timestamp(batch.created_at),
                (usd(cost.batch_cost) + ("" if cost.complete else "+?")) if cost else "—",
                usd(cost.saving) if cost else "—",
                one_line(self.labels.get(batch.id, "")),
            ]
        )

    @staticmethod
    def _line(cells: list[str]) -> None:
        padded = [
            cell.ljust(width) if name in _LEFT else cell.rjust(width)
            for cell, (name, width) in zip(cells, COLUMNS, strict=True)
        ]
        print("  ".join(padded).rstrip())


class _JsonLines(_Printer):
    def row(self, batch: Batch) -> None:
        print(json.dumps(as_json(batch, self.cost(batch.id), self.labels.get(batch.id)), ensure_ascii=False))


class _JsonArray(_Printer):
    """The same bytes `json.dumps(all, indent=2)` gives, written an object at a time."""

    def row(self, batch: Batch) -> None:
        value = as_json(batch, self.cost(batch.id), self.labels.get(batch.id))
        text = json.dumps(value, indent=2, ensure_ascii=False)
        sys.stdout.write(("[\n" if not self.count else ",\n") + textwrap.indent(text, "  "))

    def end(self) -> None:
        sys.stdout.write("\n]\n" if self.count else "[]\n")
        super().end()


def as_json(batch: Batch, cost: BatchCost | None, label: str | None) -> dict[str, Any]:
    c = batch.counts

    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": batch.id,
        "label": label,
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
