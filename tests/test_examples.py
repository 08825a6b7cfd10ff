"""The shipped example submission is valid, so `n` in the demo sends it; two of its requests are meant to
fail at the API (a bad max_tokens and an unknown model), so the demo shows a 'needs a fix' group too."""

from __future__ import annotations

from pathlib import Path

from batchboard.core.jsonl import validate_file

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "support-tickets.jsonl"


def test_example_submission_validates() -> None:
    report = validate_file(EXAMPLE)
    assert report.ok, [str(p) for p in report.problems]
    assert [p.field for p in report.problems] == ["params.model"], "only the unknown-model warning"
