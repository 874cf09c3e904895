"""Our event sequences follow the golden sequences a real OpenAI server emits (shared/reference/golden)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from schemas.openai import Dialect
from tests.translators.harness import Playbook, events

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "golden"
# Not part of a turn: connection-level events, and rate limits we have no real numbers for.
_SKIP = {"session.created", "session.updated", "rate_limits.updated"}


def golden(name: str) -> list[dict[str, Any]]:
    lines = (GOLDEN / name).read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["type"] not in _SKIP]


def collapse(seq: list[dict[str, Any]]) -> list[str]:
    """Event types with runs of the same delta folded into one."""
    return [t for t, _ in itertools.groupby(e["type"] for e in seq)]


def shape(event: dict[str, Any]) -> Any:
    """The key structure of an event: which fields exist, recursively (values ignored)."""
    if isinstance(event, dict):
        return {k: shape(v) for k, v in event.items() if k not in ("obfuscation", "usage")}
    if isinstance(event, list):
        return [shape(v) for v in event[:1]]
    return None


def text_turn(dialect: Dialect, model: str, config: dict[str, Any]) -> list[dict[str, Any]]:
    play = Playbook(dialect, model=model)
    play.start()
    play.send(config)
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Say hi"}]}
    out = play.send({"type": "conversation.item.create", "item": item})
    out += play.send({"type": "response.create"})
    play.connect()
    if play.state.upstream_text:
        content = [
            {"modelTurn": {"parts": [{"text": "Hi"}]}},
            {"modelTurn": {"parts": [{"text": " there!"}]}},
        ]
    else:
        content = [
            {"modelTurn": {"parts": [{"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": "AAAA"}}]}},
            {"outputTranscription": {"text": "Hi"}},
            {"outputTranscription": {"text": " there!"}},
        ]
    for body in content:
        out += play.recv({"serverContent": body})
    out += play.recv({"serverContent": {"generationComplete": True}})
    out += play.recv(
        {
            "serverContent": {"turnComplete": True},
            "usageMetadata": {"promptTokenCount": 120, "responseTokenCount": 7},
        }
    )
    return events(out)


GA_TEXT = {"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}}
BETA_TEXT = {"type": "session.update", "session": {"modalities": ["text"]}}


@pytest.mark.parametrize(
    "model", ["gemini-2.5-flash-native-audio-preview-12-2025", "gemini-2.0-flash-live-preview-04-09"]
)
def test_ga_text_turn_matches_golden(model: str) -> None:
    """A GA text turn has the golden order and the golden fields, whether Gemini sends TEXT or a transcript."""
    ours, want = text_turn(Dialect.GA, model, GA_TEXT), golden("ga_text.jsonl")
    assert collapse(ours) == collapse(want)
    assert [shape(e) for e in ours if e["type"] != "response.output_text.delta"] == [
        shape(e) for e in want if e["type"] != "response.output_text.delta"
    ]
    assert "".join(e["delta"] for e in ours if e["type"] == "response.output_text.delta") == "Hi there!"


def test_beta_text_turn_matches_golden() -> None:
    """A beta text turn uses the beta names, item shapes and response object of the golden file."""
    ours, want = (
        text_turn(Dialect.BETA, "gemini-2.5-flash-native-audio-preview-12-2025", BETA_TEXT),
        golden("beta_text.jsonl"),
    )
    assert collapse(ours) == collapse(want)
    assert [shape(e) for e in ours if e["type"] != "response.text.delta"] == [
        shape(e) for e in want if e["type"] != "response.text.delta"
    ]


def test_ga_audio_response_matches_golden() -> None:
    """An audio response streams audio and transcript deltas and closes like ga_audio.jsonl."""
    play = Playbook(Dialect.GA)
    play.start()
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello"}]}
    play.send({"type": "conversation.item.create", "item": item})
    out = play.send({"type": "response.create"})
    play.connect()
    out += play.recv({"serverContent": {"outputTranscription": {"text": "Sure!"}}})
    audio = {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": "AAAAAAAA"}}
    out += play.recv({"serverContent": {"modelTurn": {"parts": [audio]}}})
    out += play.recv({"serverContent": {"turnComplete": True}})
    want = golden("ga_audio.jsonl")
    want = [e for e in want[[e["type"] for e in want].index("response.created") :] if "transcription" not in e["type"]]
    ours = events(out)
    assert collapse(ours) == collapse(want)
    assert [shape(e) for e in ours[1:]] == [shape(e) for e in want[1:]]
    assert ours[-1]["response"]["output"][0]["content"] == [{"type": "output_audio", "transcript": "Sure!"}]
