"""Fuzz the gateway with a few thousand bent client frames (both dialects), and replay the committed corpus.

Against the gateway and the built-in emulator: no traceback in any log, every frame the edge refuses gets an
`error` echoing its `event_id`, the session stays open and still serves a turn (issue #16). `make fuzz` runs
the same checks over 100k frames; inputs that fail there go to `tests/fuzz/corpus.jsonl`, which always runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from schemas.openai import Dialect
from tests.fuzz.mutator import Frame, Mutator
from tests.fuzz.runner import Report, TracebackCatcher, fuzz_session
from tests.support.live import MASTER_KEY, LiveGateway

AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}
CORPUS = Path(__file__).with_name("corpus.jsonl")
SEED = 16
FRAMES = 1500  # per dialect: 3000 in all


def _corpus() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]


def _explain(report: Report, tracebacks: list[str]) -> str:
    missing = [f"{frame.origin} (event_id {event_id!r})" for frame, event_id in report.missing[:5]]
    return (
        f"frames={report.frames} refused={report.refused} close={report.close_code} {report.close_reason!r} "
        f"turn={report.turn!r} missing errors={missing} tracebacks={tracebacks[:5]}"
    )


@pytest.mark.timeout(240)
@pytest.mark.parametrize(
    ("dialect", "alias"),
    [(Dialect.GA, "gemini-live"), (Dialect.BETA, "gemini-3.1-live")],  # both dialects, both model families
    ids=["ga-2.5", "beta-3.1"],
)
async def test_fuzzed_frames_get_errors_and_the_session_survives(
    gateway: LiveGateway, dialect: Dialect, alias: str
) -> None:
    """1500 mutated and raw frames: each refused one answered with its event_id, no traceback, a turn after."""
    mutator = Mutator(SEED, dialect)
    url = f"{gateway.ws_base}/realtime?model={alias}"
    with TracebackCatcher() as caught:
        report = await fuzz_session(url, AUTH, dialect, (mutator.frame(n) for n in range(FRAMES)))
    assert report.ok and not caught.records, _explain(report, caught.lines())
    assert report.frames == FRAMES and report.refused > FRAMES // 2  # the mutator does bend most frames
    assert sum(report.errors.values()) >= report.refused


@pytest.mark.parametrize("case", _corpus(), ids=lambda case: case["name"])
async def test_corpus_case(gateway: LiveGateway, case: dict[str, Any]) -> None:
    """A failing input found once (the issue's reproductions among them) stays fixed."""
    dialect = Dialect(case["dialect"])
    frames = [Frame.from_json(entry) for entry in case["frames"]]
    url = f"{gateway.ws_base}/realtime?model={case.get('model', 'gemini-live')}"
    with TracebackCatcher() as caught:
        report = await fuzz_session(url, AUTH, dialect, frames)
    assert report.ok and not caught.records, _explain(report, caught.lines())
