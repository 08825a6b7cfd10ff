"""`batchboard label BATCH_ID TEXT` (or `--clear`): set a batch's label from a script, in the same local store
as the dashboard's `l`, by the same rule: the text as typed, trimmed; empty clears it."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from batchboard.commands._results_common import (
    CommandError,
    add_profile_option,
    fail,
    load_settings_quietly,
    lookup_batch,
    one_line,
    open_store,
)

if TYPE_CHECKING:
    from batchboard.core.store import Store


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "label",
        help="set or clear a batch's label (the dashboard's l)",
        description=(
            "Set BATCH_ID's label to TEXT, or clear it with --clear (an empty TEXT clears it too). Labels "
            "are kept in the local store, shown as plain text in the dashboard and by 'batchboard list', "
            "and found by the dashboard's filter. A batch this machine has not seen is looked up first, so "
            "a mistyped id is refused (credentials as for 'list')."
        ),
    )
    parser.add_argument("batch_id", metavar="BATCH_ID")
    parser.add_argument("text", metavar="TEXT", nargs="?", help="the label (quote it if it has spaces)")
    parser.add_argument("--clear", action="store_true", help="remove the label")
    parser.add_argument("--json", action="store_true", help="print the batch id and its label as JSON")
    add_profile_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.clear == (args.text is not None):
        return fail(CommandError("give either TEXT or --clear", 2))
    label = "" if args.clear else args.text.strip()
    try:
        with open_store() as store:
            if not _known_here(store, args.batch_id):
                lookup_batch(args, args.batch_id, load_settings_quietly())
            store.set_label(args.batch_id, label or None)
    except CommandError as error:
        return fail(error)
    if args.json:
        print(json.dumps({"batch_id": args.batch_id, "label": label or None}, ensure_ascii=False))
    elif label:
        print(f"{one_line(args.batch_id)}: label set to {one_line(label)}")
    else:
        print(f"{one_line(args.batch_id)}: label cleared")
    return 0


def _known_here(store: Store, batch_id: str) -> bool:
    """Seen by the dashboard, sent, attached or downloaded here: no need to ask the API."""
    from batchboard.core.results.index import ResultsIndex
    from batchboard.core.submit.intents import submission_for_batch

    if batch_id in store.known_batch_ids() or store.label(batch_id) is not None:
        return True
    return submission_for_batch(store, batch_id) is not None or ResultsIndex(store).file(batch_id) is not None
