"""Every batch in one sort order, kept up to date a few at a time, and which of them a filter shows.

Beside each batch id the ordering keeps its sort key and, once a filter asked, what the filter reads of it:
its casefolded id and label (its *name*) and the *class* of its state (status, outcome, whether a request
errored; a few dozen classes at most). A filter's text is matched against each class once, not against each
batch, and only names are searched: a longer text only among the names a shorter one it contains found. So a
status typed into the filter ("ended") or a quick filter costs about the same at 100,000 batches as at 100,
and an id fragment costs one pass over the names, then less with each letter.
"""

from __future__ import annotations

import operator
from bisect import bisect_left, insort
from collections.abc import Callable
from itertools import compress, repeat
from typing import Any

from batchboard.core.models import Batch, Outcome

#: Rows found by name alone (their class does not match) merged one at a time into the rows their class
#: gives; past this many, the rows are picked in one pass over the ordering instead.
MERGE_LIMIT = 256

#: Results kept per state of the ordering (typing "end" then deleting back to "e" reuses them).
CACHE_SIZE = 16


class Ordering:
    """Every batch in one sort order: ids, sort keys and (once a filter asked) names and class codes, in the
    same order. Kept up to date as batches change: a change that leaves a batch's sort key alone moves
    nothing."""

    __slots__ = ("codes", "ids", "key_of", "keys", "mode", "names", "shared", "valid_until")

    def __init__(self, mode: Any, keyed: list[tuple[Any, str]]) -> None:
        self.mode = mode  # the book's sort mode
        self.keys: list[Any] = [k for k, _ in keyed]
        self.ids: list[str] = [b for _, b in keyed]
        self.key_of: dict[str, Any] = dict(zip(self.ids, self.keys, strict=True))
        self.names: list[str] | None = None
        self.codes: list[int] | None = None
        self.shared = False  # `ids` was handed out: copy before changing it (names and codes never are)
        self.valid_until = float("inf")  # a timed mode: when a batch's key changes by the clock alone

    @property
    def searchable(self) -> bool:
        """The names and codes are kept (a filter asked for them)."""
        return self.names is not None

    def search_with(self, names: list[str], codes: list[int]) -> None:
        self.names, self.codes = names, codes

    def _own(self) -> None:
        if self.shared:
            self.ids = list(self.ids)
            self.keys = list(self.keys)
            self.shared = False

    def remove(self, batch_id: str) -> None:
        key = self.key_of.pop(batch_id)
        self._own()
        at = bisect_left(self.keys, key)
        del self.ids[at], self.keys[at]
        if self.names is not None and self.codes is not None:
            del self.names[at], self.codes[at]

    def insert(self, batch_id: str, key: Any, name: str | None, code: int | None) -> None:
        self._own()
        at = bisect_left(self.keys, key)
        self.ids.insert(at, batch_id)
        self.keys.insert(at, key)
        self.key_of[batch_id] = key
        if self.names is not None and self.codes is not None:
            assert name is not None and code is not None
            self.names.insert(at, name)
            self.codes.insert(at, code)

    def set_search(self, batch_id: str, name: str, code: int) -> None:
        """A batch's name or class changed, its sort key did not."""
        assert self.names is not None and self.codes is not None
        at = bisect_left(self.keys, self.key_of[batch_id])
        self.names[at] = name
        self.codes[at] = code


class StateClasses:
    """What the filter can tell of a batch's state, as classes with small int codes: its status, its outcome
    and whether any request errored. Each class keeps the first batch seen in it as its example, so a rule
    that reads only those (every quick filter does) is decided once per class."""

    def __init__(self) -> None:
        self._codes: dict[tuple[str, Outcome, bool], int] = {}
        self.texts: list[str] = []
        """Per code, what the text filter reads of the state: the status and the outcome, a line each."""
        self.examples: list[Batch] = []

    def __len__(self) -> int:
        return len(self.examples)

    def code(self, batch: Batch) -> int:
        outcome = batch.outcome
        key = (batch.processing_status, outcome, batch.counts.errored > 0)
        code = self._codes.get(key)
        if code is None:
            code = self._codes[key] = len(self.examples)
            self.examples.append(batch)
            self.texts.append(f"{batch.processing_status}\n{outcome.value}".casefold())
        return code

    def where(self, test: Callable[[Batch], bool]) -> frozenset[int]:
        """The classes whose batches pass `test` (it must read only the status, outcome or errored count)."""
        return frozenset(code for code, example in enumerate(self.examples) if test(example))

    def naming(self, needle: str, among: frozenset[int]) -> frozenset[int]:
        """Those of `among` whose status or outcome holds `needle` (casefolded, no newline)."""
        texts = self.texts
        return frozenset(code for code in among if needle in texts[code])


class Finder:
    """Which rows of an ordering a filter shows, in order; what it found is kept until `clear` (the
    ordering changed)."""

    def __init__(self, classes: StateClasses) -> None:
        self.classes = classes
        self._rows: dict[frozenset[int], list[str]] = {}
        self._named: dict[str, tuple[list[str], list[str], list[int]]] = {}

    def clear(self) -> None:
        self._rows.clear()
        self._named.clear()

    def rows_of(self, ordering: Ordering, codes: frozenset[int]) -> list[str]:
        """The rows whose class is one of `codes` (do not change the list)."""
        if len(codes) == len(self.classes):  # every class
            ordering.shared = True
            return ordering.ids
        if not codes:
            return []
        found = self._rows.get(codes)
        if found is None:
            assert ordering.codes is not None
            found = list(compress(ordering.ids, map(codes.__contains__, ordering.codes)))
            _keep(self._rows, codes, found)
        return found

    def named(self, ordering: Ordering, needle: str) -> tuple[list[str], list[str], list[int]]:
        """The ids, names and codes of the rows whose name holds `needle`, in order."""
        found = self._named.get(needle)
        if found is not None:
            return found
        # The longest earlier needle this one contains: what it found holds every name this one can.
        narrower = max((k for k in self._named if k in needle), key=len, default=None)
        if narrower is not None:
            ids, names, codes = self._named[narrower]
        else:
            assert ordering.names is not None and ordering.codes is not None
            ids, names, codes = ordering.ids, ordering.names, ordering.codes
        hits = list(map(operator.contains, names, repeat(needle)))
        found = (list(compress(ids, hits)), list(compress(names, hits)), list(compress(codes, hits)))
        _keep(self._named, needle, found)
        return found

    def find(self, ordering: Ordering, passing: frozenset[int], needle: str) -> list[str]:
        """The rows of a class in `passing` whose status, outcome or name holds `needle` (casefolded, not
        empty, no newline: a match then never spans two fields), in order. Do not change the list."""
        by_state = self.classes.naming(needle, passing)
        rows = self.rows_of(ordering, by_state)
        others = passing - by_state
        if not others:
            return rows
        ids, _, codes = self.named(ordering, needle)
        if len(ids) == len(ordering.ids):  # every name holds it ("msgbatch")
            return self.rows_of(ordering, passing)
        extra = list(compress(ids, map(others.__contains__, codes))) if ids else []
        if not extra:
            return rows
        if not rows:
            return extra
        if len(extra) <= MERGE_LIMIT:
            merged = list(rows)
            key_of = ordering.key_of.__getitem__
            for batch_id in extra:
                insort(merged, batch_id, key=key_of)
            return merged
        assert ordering.names is not None and ordering.codes is not None
        keep: Any = map(
            operator.or_,
            map(by_state.__contains__, ordering.codes),
            map(operator.contains, ordering.names, repeat(needle)),
        )
        if len(passing) < len(self.classes):
            keep = map(operator.and_, keep, map(passing.__contains__, ordering.codes))
        return list(compress(ordering.ids, keep))


def _keep(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if len(cache) >= CACHE_SIZE:
        del cache[next(iter(cache))]  # the oldest
    cache[key] = value
