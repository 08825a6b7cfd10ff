"""`batchboard cost [BATCH_ID]`: what a batch cost (per model and token kind, at batch price, with the
standard-price equivalent and the saving), or the totals today / this month / all time."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from batchboard.commands._results_common import (
    CommandError,
    add_profile_option,
    fail,
    load_settings_quietly,
    one_line,
    open_index,
)
from batchboard.core.format import plural

if TYPE_CHECKING:
    from batchboard.core.config import Settings
    from batchboard.core.cost import BatchCost, Spend
    from batchboard.core.results.index import ResultsIndex


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "cost",
        help="print a batch's cost and savings, or the totals (today, this month, all time)",
        description=(
            "With BATCH_ID: the batch's actual cost from its results (downloaded first if needed; only "
            "succeeded requests are billed), per model and token kind, at batch price (50% of standard), "
            "with the standard-price equivalent and the saving. Without: totals over every batch whose "
            "results are downloaded. Prices: the bundled table, overridable per model under [prices.MODEL] "
            "in the config file."
        ),
    )
    parser.add_argument("batch_id", metavar="BATCH_ID", nargs="?")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_profile_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from batchboard.core.cost import batch_cost, totals

    settings = load_settings_quietly()
    try:
        index = open_index()
        if args.batch_id:
            from batchboard.commands._results_common import ensure_local

            ensure_local(args, index)
            cost = batch_cost(args.batch_id, index.usage_groups(args.batch_id), settings)
            unusable = _unusable_costs(index, settings, args.batch_id)
            if args.json:
                report = {**cost.as_dict(), "unusable": _unusable_json(unusable)}
                print(json.dumps(report, indent=2, ensure_ascii=False))
            else:
                _print_batch(cost)
                _print_unusable(unusable)
            return 0
    except CommandError as error:
        return fail(error)
    ended = index.indexed_ended()
    usage = index.usage_by_batch()
    costs = {b: batch_cost(b, usage.get(b, ()), settings) for b in ended}
    result = totals((g for groups in usage.values() for g in groups), ended, datetime.now(UTC), settings)
    unusable = _unusable_costs(index, settings, None)
    if args.json:
        batches = {
            b: {**c.as_dict(), "unusable": _unusable_json(_unusable_costs(index, settings, b))}
            for b, c in costs.items()
        }
        print(
            json.dumps(
                {**result.as_dict(), "unusable_all_time": _unusable_json(unusable), "batches": batches},
                indent=2,
            )
        )
        return 0
    _print_totals(result, costs)
    _print_unusable(unusable, "all time")
    return 0


#: How each class of unusable answer is named in the report.
UNUSABLE_NAMES = {"truncated": "truncated", "invalid_output": "invalid output", "refused": "refused"}


def _unusable_costs(index: ResultsIndex, settings: Settings, batch_id: str | None) -> dict[str, Spend]:
    """Class -> what the succeeded but unusable answers cost (of one batch, or of every batch here)."""
    from batchboard.core.cost import Spend, batch_cost

    result: dict[str, Spend] = {}
    for name, groups in index.unusable_usage(batch_id).items():
        spend = Spend()
        for member in sorted({g.batch_id for g in groups}):
            spend = spend.plus(batch_cost(member, groups, settings))
        result[name] = spend
    return result


def _unusable_json(costs: dict[str, Spend]) -> dict[str, Any]:
    return {
        name: {
            "requests": spend.requests,
            "batch_cost_usd": spend.cost,
            "standard_cost_usd": spend.cost + spend.saving,
            "complete": not spend.incomplete,
        }
        for name, spend in costs.items()
    }


def _print_unusable(costs: dict[str, Spend], when: str = "") -> None:
    from batchboard.core.format import human_int, usd

    if not costs:
        return
    scope = f", {when}" if when else ""
    print(f"\n  succeeded but unusable (billed all the same{scope}):")
    width = max(len(UNUSABLE_NAMES.get(n, n)) for n in costs)
    for name, spend in costs.items():
        flag = " (some models: price unknown)" if spend.incomplete else ""
        print(
            f"    {UNUSABLE_NAMES.get(name, name):<{width}}  {human_int(spend.requests):>8} "
            f"{plural(spend.requests, 'request', number=False):<8}  "
            f"{usd(spend.cost)} at batch price{flag}"
        )


def _print_batch(cost: BatchCost) -> None:
    from batchboard.core.format import human_int, usd
    from batchboard.core.pricing import PRICE_UNKNOWN, TOKEN_KINDS, bundled_table

    billed = plural(cost.requests, "billed (succeeded) request")
    print(f"batch {one_line(cost.batch_id)}: {billed}")
    for model in cost.models:
        source = f" ({model.price_source} prices)" if model.price_known else ""
        print(f"\n  {one_line(model.model)}: {plural(model.requests, 'request')}{source}")
        if not model.price_known:
            print(f"    {PRICE_UNKNOWN}: {one_line(bundled_table().why_unknown(model.model))}")
        rows = [("kind", "tokens", "batch", "standard", "saved")]
        for kind in TOKEN_KINDS:
            tokens = getattr(model.tokens, kind)
            if not tokens:
                continue
            b = model.batch_by_kind.get(kind) if model.price_known else None
            s = model.standard_by_kind.get(kind) if model.price_known else None
            rows.append(
                (
                    kind,
                    human_int(tokens),
                    usd(b),
                    usd(s),
                    usd(s - b) if b is not None and s is not None else "—",
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        for row in rows:
            print(
                "    "
                + "  ".join(
                    c.ljust(w) if i == 0 else c.rjust(w)
                    for i, (c, w) in enumerate(zip(row, widths, strict=True))
                )
            )
    suffix = "" if cost.complete else f" (excluding {', '.join(cost.unknown_models)}: {PRICE_UNKNOWN})"
    print(
        f"\n  total: {usd(cost.batch_cost)} at batch price, {usd(cost.standard_cost)} at standard price, "
        f"saved {usd(cost.saving)}{one_line(suffix)}"
    )


def _print_totals(result: Any, costs: dict[str, BatchCost]) -> None:
    from batchboard.core.format import usd

    def line(name: str, spend: Any) -> str:
        flag = " (some models: price unknown)" if spend.incomplete else ""
        amounts = f"{usd(spend.cost):>12} spent  {usd(spend.saving):>12} saved"
        return (
            f"{name:<11} {amounts}  {spend.batches:>5} {plural(spend.batches, 'batch', number=False)}{flag}"
        )

    print(line("today", result.today))
    print(line("this month", result.this_month))
    print(line("all time", result.all_time))
    if not costs:
        print(
            "(no downloaded results yet: 'batchboard results BATCH_ID' or 'd' in the dashboard fetches them)"
        )
