"""Retries, lineage and jobs: which failed items to resend, which batch a retry came from, and a batch with
all its retries seen as one job where, per custom_id, the latest outcome wins.

Built on the results index (`core.results`: one row per result line, with its error type) and the
submissions store (`core.submit`: the original params of every request batchboard sent or was given).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from batchboard.core.format import plural
from batchboard.core.results.index import CLASS_WORDS, ResultsIndex
from batchboard.core.results.schema import MAX_TOKENS_STOP, RETRYABLE_ERRORS, TRUNCATED, UNUSABLE
from batchboard.core.store import Store
from batchboard.core.submit.intents import SubmitError, stored_requests, submission_for_batch

#: `--types` words besides error types: what the default retry takes, and the non-error outcomes.
RETRYABLE = "retryable"
EXPIRED, CANCELED, ERRORED = "expired", "canceled", "errored"
DEFAULT_TYPES = (RETRYABLE, EXPIRED)


@dataclass(frozen=True, slots=True)
class Selection:
    """Which items a retry takes: result types (expired, canceled), error types, and classes of succeeded
    but unusable answers (truncated, invalid_output, refused)."""

    result_types: frozenset[str]
    error_types: frozenset[str]
    all_errors: bool = False
    unusable: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str | None) -> Selection:
        """From `--types T1,T2`: retryable (the retryable error types), expired, canceled, errored (every
        error type), an error type by name such as invalid_request_error, or a class of unusable answer:
        truncated, invalid (or invalid_output), refused."""
        words = [w.strip() for w in (text or ",".join(DEFAULT_TYPES)).split(",") if w.strip()]
        if not words:
            raise ValueError("--types needs at least one type")
        result_types: set[str] = set()
        error_types: set[str] = set()
        unusable: set[str] = set()
        all_errors = False
        for word in words:
            if word in (EXPIRED, CANCELED):
                result_types.add(word)
            elif word in CLASS_WORDS or word in UNUSABLE:
                unusable.add(CLASS_WORDS.get(word, word))
            elif word == ERRORED:
                all_errors = True
            elif word == RETRYABLE:
                error_types |= RETRYABLE_ERRORS
            elif word.replace("_", "").isalnum():
                error_types.add(word)
            else:
                raise ValueError(f"--types: {word!r} is not a result or error type")
        return cls(frozenset(result_types), frozenset(error_types), all_errors, frozenset(unusable))

    def wants(self, result_type: str, error_type: str, unusable: str = "") -> bool:
        if unusable:
            return unusable in self.unusable
        if result_type == ERRORED:
            return self.all_errors or error_type in self.error_types
        return result_type in self.result_types


@dataclass
class RetryPlan:
    """The failed items of one batch chosen for a retry, with their stored requests."""

    batch_id: str
    requests: list[tuple[str, bytes]] = field(default_factory=list)
    groups: Counter[str] = field(default_factory=Counter)
    """Chosen items per group (error type, or expired / canceled)."""
    missing: list[str] = field(default_factory=list)
    """Chosen custom_ids with no stored request (the batch was submitted elsewhere and not attached)."""
    left_out: Counter[str] = field(default_factory=Counter)
    """Failed items not chosen, per group (for example invalid_request_error, which needs a fix first)."""
    groups_by_id: dict[str, str] = field(default_factory=dict)
    """Chosen custom_id -> its group."""
    raised: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Truncated items (stop_reason max_tokens) resent with more room: custom_id -> (max_tokens, new)."""
    at_limit: Counter[int] = field(default_factory=Counter)
    """Truncated items already at their model's output limit, resent unchanged: limit -> count."""
    no_limit: int = 0
    """Truncated items whose model's output limit is not known: max_tokens raised without a cap."""
    window: int = 0
    """Truncated items that hit the model's context window: resent unchanged (more output tokens will not
    help; a shorter prompt would)."""
    capped: Counter[int] = field(default_factory=Counter)
    """An explicit max_tokens above the model's output limit: items given the limit instead, per limit."""
    source_kind: str | None = None
    """Where the stored requests came from: 'file' or 'retry' (sent by batchboard), 'attach' (a file linked
    to a batch sent elsewhere), or None (nothing stored for this batch)."""
    source_path: str | None = None
    """The submitted or attached file, when there is one."""

    @property
    def chosen(self) -> int:
        """Failed items chosen, with or without a stored request."""
        return len(self.requests) + len(self.missing)

    def counts_line(self) -> str | None:
        """Why fewer requests will be sent than items were chosen, in one sentence; None when every chosen
        item has its request ("90 failed items chosen: 7 have a stored request, 83 are not in the attached
        file tickets.jsonl")."""
        if not self.missing:
            return None
        sent, missing = len(self.requests), len(self.missing)
        have = f"{sent:,} {'has' if sent == 1 else 'have'} a stored request"
        if self.source_kind == "attach":
            where = f" {Path(self.source_path).name}" if self.source_path else ""
            lack = f"{missing:,} {'is' if missing == 1 else 'are'} not in the attached file{where}"
        else:
            lack = f"{missing:,} {'has' if missing == 1 else 'have'} no stored request"
        return f"{plural(self.chosen, 'failed item')} chosen: {have}, {lack}"

    def notes(self) -> list[str]:
        """What the plan did to the truncated items, in plain words (empty when it took none)."""
        lines = []
        if self.raised:
            new = sorted({after for _, after in self.raised.values()})
            to = f"{new[0]:,}" if len(new) == 1 else f"{new[0]:,}-{new[-1]:,}"
            raised = plural(len(self.raised), "truncated item")
            lines.append(f"{raised} resent with max_tokens raised to {to}")
        for limit, count in sorted(self.capped.items()):
            their = "its" if count == 1 else "their"
            lines.append(f"{plural(count, 'item')} capped at {their} model's {limit:,}-token output limit")
        for limit, count in sorted(self.at_limit.items()):
            lines.append(
                f"{plural(count, 'item')} already at the model's {limit:,}-token limit: resent unchanged"
            )
        if self.no_limit:
            lines.append(
                f"{plural(self.no_limit, 'item')} of a model whose output limit is not known: raised uncapped"
            )
        if self.window:
            lines.append(
                f"{plural(self.window, 'item')} stopped at the model's context window "
                "(model_context_window_exceeded): resent unchanged; more output tokens will not help "
                + ("it" if self.window == 1 else "them")
            )
        return lines


def plan_retry(
    store: Store, batch_id: str, selection: Selection, *, max_tokens: int | None = None
) -> RetryPlan:
    """Choose `batch_id`'s failed items per `selection` and find their original requests.

    Truncated items that stopped at `max_tokens` are resent with more room: `max_tokens` (an explicit
    value) or their own doubled, either capped at the model's output limit (`model_limits`). Every other
    chosen item is resent exactly as it was sent. Needs the batch's results in the index
    (`results.ingest`); raises SubmitError otherwise.
    """
    store.ensure_schemas()  # the results and submissions tables, if the store was opened before import
    with ResultsIndex(store) as index:
        index.migrate()  # an older database's items, moved to items files once (callers run in threads)
        if not index.is_complete(batch_id):
            raise SubmitError(f"the results of {batch_id} are not in the local index yet")
        outcomes = index.outcomes(batch_id, problems_only=True)
        stops = index.stop_reasons(batch_id, TRUNCATED) if TRUNCATED in selection.unusable else {}
    plan = RetryPlan(batch_id)
    chosen: list[str] = []
    for custom_id, result_type, error_type, unusable in outcomes:
        group = unusable or error_type or result_type
        if custom_id in plan.groups_by_id:
            continue  # a custom_id listed twice in one batch's results is still sent once
        if selection.wants(result_type, error_type, unusable):
            chosen.append(custom_id)
            plan.groups[group] += 1
            plan.groups_by_id[custom_id] = group
        else:
            plan.left_out[group] += 1
    found = stored_requests(store, batch_id, chosen)
    submission = submission_for_batch(store, batch_id)
    if submission is not None:
        plan.source_kind, plan.source_path = submission.kind, submission.source_path
    for custom_id in chosen:
        params = found.get(custom_id)
        if params is None:
            plan.missing.append(custom_id)
            continue
        if custom_id in stops:
            params = _more_room(plan, custom_id, params, stops[custom_id], max_tokens)
        plan.requests.append((custom_id, params))
    return plan


def _more_room(plan: RetryPlan, custom_id: str, params: bytes, stop: str, wanted: int | None) -> bytes:
    """A truncated request's params for the retry: max_tokens raised when that is what stopped it (and the
    model allows more), else unchanged. Counts what it did in `plan`."""
    from batchboard.core.model_limits import max_output_tokens

    if stop != MAX_TOKENS_STOP:
        plan.window += 1
        return params
    request = orjson.loads(params)
    current = request.get("max_tokens") if isinstance(request, dict) else None
    if not isinstance(current, int) or isinstance(current, bool):
        return params  # not a request the API took: sent as it was
    model = request.get("model")
    limit = max_output_tokens(model) if isinstance(model, str) else None
    target = wanted if wanted is not None else current * 2
    if limit is None:
        plan.no_limit += 1
    elif target > limit:
        if current >= limit:
            plan.at_limit[limit] += 1
            return params
        if wanted is not None:
            plan.capped[limit] += 1
        target = limit
    if target == current:
        return params
    request["max_tokens"] = target
    plan.raised[custom_id] = (current, target)
    return orjson.dumps(request)


# ------------------------------------------------------------------------------------------ lineage


def parent_of(store: Store, batch_id: str) -> str | None:
    """The batch this one retried, if it is a retry batchboard sent."""
    submission = submission_for_batch(store, batch_id)
    return submission.parent_batch_id if submission else None


def children_of(store: Store, batch_id: str) -> list[str]:
    """Batches that retried this one, oldest first."""
    store.ensure_schemas()
    rows = store.query(
        "SELECT c.batch_id FROM submissions s JOIN submission_chunks c ON c.submission_id = s.id "
        "WHERE s.parent_batch_id = ? AND c.batch_id IS NOT NULL ORDER BY s.created_at, c.chunk",
        (batch_id,),
    )
    return [r[0] for r in rows]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a batch came from, for the detail screen: its submission, source file, parent and retries."""

    kind: str | None
    """'file', 'retry', 'attach', 'chat' (a chat comparison), or None for a batch batchboard knows nothing
    about."""
    source_path: str | None
    parent_batch_id: str | None
    retries: tuple[str, ...]
    label: str | None


def origin(store: Store, batch_id: str) -> Origin:
    submission = submission_for_batch(store, batch_id)
    retries = tuple(children_of(store, batch_id))
    if submission is None:
        return Origin(None, None, None, retries, None)
    return Origin(
        submission.kind, submission.source_path, submission.parent_batch_id, retries, submission.label
    )


def root_of(store: Store, batch_id: str) -> str:
    seen = {batch_id}
    while (parent := parent_of(store, batch_id)) is not None and parent not in seen:
        seen.add(parent)
        batch_id = parent
    return batch_id


def chain(store: Store, batch_id: str) -> list[str]:
    """The whole job `batch_id` belongs to: its root, then every retry below it, in the order sent."""
    order = [root_of(store, batch_id)]
    position = 0
    while position < len(order):
        for child in children_of(store, order[position]):
            if child not in order:
                order.append(child)
        position += 1
    # Breadth-first lists a retry of a retry after its parent but maybe before an older sibling's retry;
    # "latest outcome wins" needs send order, so sort by when each batch's submission was made.
    when = {b: _sent_order(store, b) for b in order}
    return sorted(order, key=lambda b: (when[b], order.index(b)))


def _sent_order(store: Store, batch_id: str) -> str:
    rows = store.query(
        "SELECT s.created_at FROM submissions s JOIN submission_chunks c ON c.submission_id = s.id "
        "WHERE c.batch_id = ?",
        (batch_id,),
    )
    return rows[0][0] if rows else ""  # a batch sent elsewhere comes first: it is the root


# ---------------------------------------------------------------------------------------------- jobs


@dataclass
class Job:
    """A batch and its retries as one: per custom_id the latest outcome, totals, and cost across the chain.

    An answer that succeeded but is unusable (truncated, invalid output, refused) is not done: it counts
    under its class, not as succeeded, until a later attempt gives a usable answer."""

    batch_ids: list[str]
    latest: dict[str, tuple[str, str, str, str]]
    """custom_id -> (batch_id, result_type, error_type, unusable) of its latest result."""
    without_results: list[str]
    """Batches in the chain whose results are not in the index (still running, or not downloaded)."""
    cost_batch: float
    cost_standard: float

    @property
    def totals(self) -> Counter[str]:
        """Latest outcomes: succeeded (usable answers only), truncated, invalid_output, refused, errored,
        canceled, expired."""
        return Counter(unusable or result_type for _, result_type, _, unusable in self.latest.values())

    @property
    def done(self) -> int:
        """custom_ids whose latest attempt gave a usable answer."""
        return sum(1 for _, kind, _, unusable in self.latest.values() if kind == "succeeded" and not unusable)

    @property
    def attempts(self) -> int:
        return len(self.batch_ids)


def job(store: Store, batch_id: str) -> Job:
    store.ensure_schemas()
    batch_ids = chain(store, batch_id)
    latest: dict[str, tuple[str, str, str, str]] = {}
    without: list[str] = []
    cost_batch = cost_standard = 0.0
    with ResultsIndex(store) as index:
        index.migrate()
        for member in batch_ids:  # oldest first: a later batch's outcome replaces an earlier one
            if not index.is_complete(member):
                without.append(member)
                continue
            for custom_id, result_type, error_type, unusable in index.outcomes(member):
                latest[custom_id] = (member, result_type, error_type, unusable)
            member_batch, member_standard = index.cost_sums(member)
            cost_batch += member_batch
            cost_standard += member_standard
    return Job(batch_ids, latest, without, cost_batch, cost_standard)


def merged_lines(store: Store, current: Job) -> Iterator[bytes]:
    """The job's results, one line per custom_id: the line from the batch that holds its latest outcome."""
    wanted: dict[str, set[str]] = {}
    for custom_id, (member, *_) in current.latest.items():
        wanted.setdefault(member, set()).add(custom_id)
    with ResultsIndex(store) as index:  # reads raw files only, but closes whatever it opened
        for member in current.batch_ids:
            ids = wanted.get(member)
            if not ids:
                continue
            for line in index.lines_of(member):
                try:
                    custom_id = orjson.loads(line).get("custom_id")
                except (orjson.JSONDecodeError, AttributeError):
                    continue
                if custom_id in ids:
                    ids.discard(custom_id)  # a line per custom_id, even if a batch listed one twice
                    yield line


def missing_from(custom_ids: Iterable[str], known: set[str]) -> list[str]:
    """Which of `custom_ids` are not in `known`, in the order given."""
    return [cid for cid in custom_ids if cid not in known]
