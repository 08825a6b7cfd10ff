"""The shipped examples: the submission is valid, so `n` in the demo sends it (two of its requests are meant
to fail at the API: a bad max_tokens and an unknown model, so the demo shows a 'needs a fix' group too); the
structured-output pipeline runs unchanged against the emulator and reports unusable answers."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import anthropic
import pytest

from batchboard.core.submit.validate import validate_file
from batchboard.emulator import Emulator, EmulatorSettings

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "support-tickets.jsonl"


def test_example_submission_validates() -> None:
    report = validate_file(EXAMPLE)
    assert report.ok, [str(p) for p in report.problems]
    assert [p.field for p in report.problems] == ["params.model"], "only the unknown-model warning"


def load_pipeline() -> ModuleType:
    path = EXAMPLE.parent / "structured_pipeline.py"
    spec = importlib.util.spec_from_file_location("structured_pipeline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the model's annotations through it
    spec.loader.exec_module(module)
    return module


def test_structured_pipeline_parses_every_ticket(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline = load_pipeline()
    emulator = Emulator(EmulatorSettings(seed=2, demo=False, batch_duration=0.3))
    with emulator.running_in_thread() as base_url:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-emulator")
        assert pipeline.main(["--poll-interval", "0.05"]) == 0
    out = capsys.readouterr().out
    assert f"{len(pipeline.TICKETS)} parsed, 0 unusable" in out


@pytest.mark.parametrize(
    ("settings", "max_tokens", "problem"),
    [
        ({"refusal_rate": 1.0}, 1024, "unusable: stop_reason refusal"),
        ({"invalid_output_rate": 1.0}, 1024, "invalid output: "),
        ({}, 8, "unusable: stop_reason max_tokens"),
    ],
)
def test_structured_pipeline_reports_unusable_answers(
    settings: dict[str, float], max_tokens: int, problem: str
) -> None:
    pipeline = load_pipeline()
    emulator = Emulator(EmulatorSettings(seed=2, demo=False, batch_duration=0.2, **settings))
    with (
        emulator.running_in_thread() as base_url,
        anthropic.Anthropic(
            api_key="sk-ant-emulator", base_url=base_url, max_retries=0, _strict_response_validation=True
        ) as client,
    ):
        report = pipeline.run(client, max_tokens=max_tokens, poll_interval=0.05)
    assert not report.parsed and len(report.problems) == len(pipeline.TICKETS)
    assert all(text.startswith(problem) for text in report.problems.values()), report.problems
