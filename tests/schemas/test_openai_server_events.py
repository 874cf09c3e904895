"""Server-event models: the golden sequences and hand-made samples pass ours and the real SDK parsers; bugs fail."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, get_args

import pytest
from agents.realtime.openai_realtime import get_server_event_type_adapter
from openai.types.beta.realtime import RealtimeServerEvent as BetaSdkServerEvent
from openai.types.realtime import RealtimeServerEvent as GaSdkServerEvent
from pydantic import BaseModel, TypeAdapter, ValidationError

from schemas.openai import (
    CLIENT_EVENT_TYPES,
    SERVER_EVENT_TYPES,
    SERVER_MODELS,
    Dialect,
    validate_server_event,
)

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "golden"
GA_SDK: TypeAdapter[Any] = TypeAdapter(GaSdkServerEvent)
BETA_SDK: TypeAdapter[Any] = TypeAdapter(BetaSdkServerEvent)


def _golden_lines() -> list[tuple[str, Dialect, dict[str, Any]]]:
    lines = []
    for path in sorted(GOLDEN.glob("*.jsonl")):
        dialect = Dialect.GA if path.name.startswith("ga_") else Dialect.BETA
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if line.strip():
                lines.append((f"{path.name}:{n}", dialect, json.loads(line)))
    return lines


GOLDEN_LINES = _golden_lines()


def _skip_client_event(event: dict[str, Any], dialect: Dialect) -> None:
    """Golden files are server transcripts; a client event in one is skipped by name, never silently."""
    kind = event["type"]
    if kind in CLIENT_EVENT_TYPES[dialect] and kind not in SERVER_EVENT_TYPES[dialect]:
        pytest.skip(f"{kind} is a client event")


def agents_parse(event: dict[str, Any]) -> None:
    """What openai-agents (Python) does with a GA server event before trusting it (§8.1)."""
    if event.get("previous_item_id", "") is None:
        event = {**event, "previous_item_id": ""}  # the adapter's own workaround, copied from _handle_ws_event
    get_server_event_type_adapter().validate_python(event)


def sdk_parse(event: dict[str, Any], dialect: Dialect) -> None:
    (GA_SDK if dialect is Dialect.GA else BETA_SDK).validate_python(event)


def test_golden_files_are_there() -> None:
    """The golden directory holds the six reference transcripts, so the parametrized tests below are real."""
    assert len({name.split(":")[0] for name, _, _ in GOLDEN_LINES}) == 6
    assert len(GOLDEN_LINES) > 70


@pytest.mark.parametrize(("where", "dialect", "event"), GOLDEN_LINES, ids=[g[0] for g in GOLDEN_LINES])
def test_golden_event_validates(where: str, dialect: Dialect, event: dict[str, Any]) -> None:
    """Every golden line is a valid server event of its file's dialect under our models."""
    _skip_client_event(event, dialect)
    validate_server_event(event, dialect)


@pytest.mark.parametrize(("where", "dialect", "event"), GOLDEN_LINES, ids=[g[0] for g in GOLDEN_LINES])
def test_golden_event_passes_sdk_parsers(where: str, dialect: Dialect, event: dict[str, Any]) -> None:
    """The same lines pass openai-python's own union (GA or beta) and, for GA, the Agents SDK adapter."""
    _skip_client_event(event, dialect)
    sdk_parse(event, dialect)
    if dialect is Dialect.GA:
        agents_parse(event)


_USER_ITEM = {
    "id": "item_U1",
    "type": "message",
    "status": "completed",
    "role": "user",
    "content": [{"type": "input_audio", "transcript": "hello"}],
}
_CALL = {
    "id": "item_F1",
    "type": "function_call",
    "status": "completed",
    "name": "f",
    "call_id": "call_1",
    "arguments": "{}",
}
_TOKENS = {"type": "tokens", "input_tokens": 16, "output_tokens": 8, "total_tokens": 24}
_COMMON: list[dict[str, Any]] = [
    {"type": "conversation.item.deleted", "event_id": "e1", "item_id": "item_U1"},
    {"type": "conversation.item.retrieved", "event_id": "e2", "item": _USER_ITEM},
    {"type": "input_audio_buffer.cleared", "event_id": "e3"},
    {
        "type": "conversation.item.input_audio_transcription.failed",
        "event_id": "e4",
        "item_id": "item_U1",
        "content_index": 0,
        "error": {"type": "transcription_error", "code": "audio_unintelligible", "message": "no speech", "param": None},
    },
    {
        "type": "conversation.item.input_audio_transcription.completed",
        "event_id": "e5",
        "item_id": "item_U1",
        "content_index": 0,
        "transcript": "hi",
        "usage": {"type": "duration", "seconds": 1.5},
    },
    {"type": "error", "event_id": "e6", "error": {"type": "invalid_request_error", "message": "m"}},
    {
        "type": "response.function_call_arguments.done",
        "event_id": "e7",
        "response_id": "r",
        "item_id": "i",
        "output_index": 0,
        "call_id": "c",
        "name": "f",
        "arguments": "{}",
    },
]
_GA_ONLY: list[dict[str, Any]] = [
    {"type": "conversation.item.created", "event_id": "g1", "previous_item_id": None, "item": _CALL},
    {
        "type": "input_audio_buffer.timeout_triggered",
        "event_id": "g2",
        "audio_start_ms": 0,
        "audio_end_ms": 6000,
        "item_id": "item_U2",
    },
    {
        "type": "session.updated",
        "event_id": "g3",
        "session": {
            "type": "transcription",
            "object": "realtime.transcription_session",
            "id": "sess_1",
            "expires_at": 1,
            "audio": {
                "input": {
                    "format": {"type": "audio/pcm", "rate": 24000},
                    "transcription": {"model": "gpt-4o-mini-transcribe"},
                    "noise_reduction": None,
                    "turn_detection": {"type": "server_vad"},
                }
            },
            "include": None,
        },
    },
    {
        "type": "conversation.item.input_audio_transcription.completed",
        "event_id": "g4",
        "item_id": "item_U1",
        "content_index": 0,
        "transcript": "hi",
        "usage": _TOKENS,
        "languages": [{"code": "en"}],
    },
    {
        "type": "response.done",
        "event_id": "g5",
        "response": {
            "object": "realtime.response",
            "id": "resp_1",
            "status": "failed",
            "output": [],
            "status_details": {"type": "failed", "error": {"type": "server_error", "code": "x", "message": "m"}},
            "audio": {"output": {"format": {"type": "audio/pcmu"}, "voice": "marin"}},
            "usage": {},
        },
    },
]
_BETA_ONLY: list[dict[str, Any]] = [
    {
        "type": "conversation.item.created",
        "event_id": "b1",
        "previous_item_id": "item_U1",
        "item": {**_CALL, "object": "realtime.item"},
    },
    {
        "type": "transcription_session.updated",
        "event_id": "b2",
        "session": {
            "client_secret": {"value": "ek_1", "expires_at": 1},
            "input_audio_format": "pcm16",
            "input_audio_transcription": {"model": "gpt-4o-mini-transcribe"},
            "modalities": ["text"],
            "turn_detection": {"type": "server_vad", "threshold": 0.5},
        },
    },
    {
        "type": "session.updated",
        "event_id": "b3",
        "session": {
            "object": "realtime.session",
            "id": "sess_1",
            "modalities": ["text"],
            "voice": "alloy",
            "input_audio_format": "g711_ulaw",
            "turn_detection": None,
            "tool_choice": "auto",
            "temperature": 0.8,
            "tools": [{"type": "function", "name": "f", "description": "d", "parameters": {"type": "object"}}],
        },
    },
    {
        "type": "response.function_call_arguments.done",
        "event_id": "b4",
        "response_id": "r",
        "item_id": "i",
        "output_index": 0,
        "call_id": "c",
        "arguments": "{}",
    },
]
SAMPLES = [(Dialect.GA, e) for e in _COMMON + _GA_ONLY] + [(Dialect.BETA, e) for e in _COMMON + _BETA_ONLY]


@pytest.mark.parametrize(("dialect", "event"), SAMPLES, ids=[f"{d.value}-{e['event_id']}" for d, e in SAMPLES])
def test_sample_event_passes_ours_and_sdk(dialect: Dialect, event: dict[str, Any]) -> None:
    """Events the goldens don't cover (deleted, retrieved, failed, timeout, transcription sessions) pass all."""
    validate_server_event(event, dialect)
    sdk_parse(event, dialect)
    if dialect is Dialect.GA:
        agents_parse(event)


def _golden(file: str, kind: str) -> dict[str, Any]:
    return copy.deepcopy(next(e for name, _, e in GOLDEN_LINES if name.startswith(file) and e["type"] == kind))


def _without(event: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != key}


def _output_audio_part() -> dict[str, Any]:
    event = _golden("ga_audio", "response.content_part.added")
    event["part"]["type"] = "output_audio"
    return event


def _beta_audio_in_ga_item() -> dict[str, Any]:
    event = _golden("ga_audio", "response.output_item.done")
    event["item"]["content"][0]["type"] = "audio"
    return event


def _ga_item_in_beta() -> dict[str, Any]:
    event = _golden("beta_audio", "response.output_item.done")
    event["item"]["content"][0]["type"] = "output_audio"
    return event


def _session_without_type() -> dict[str, Any]:
    event = _golden("ga_text", "session.created")
    del event["session"]["type"]
    return event


def _beta_usage_with_image_tokens() -> dict[str, Any]:
    event = _golden("beta_text", "response.done")
    event["response"]["usage"]["input_token_details"]["image_tokens"] = 0
    return event


_BETA_DELTA = _golden("beta_text", "response.text.delta")
# (name, dialect, event, substring the ValueError must contain, whether the GA Agents adapter rejects it too)
BROKEN: list[tuple[str, Dialect, dict[str, Any], str, bool]] = [
    (
        "missing event_id",
        Dialect.GA,
        _without(_golden("ga_text", "response.output_text.delta"), "event_id"),
        "event_id",
        True,
    ),
    ("beta name in GA", Dialect.GA, {**_BETA_DELTA}, "'response.text.delta' is not a GA server event", True),
    ("GA name in beta", Dialect.BETA, _golden("ga_text", "response.output_text.delta"), "not a BETA", False),
    ("GA item.added in beta", Dialect.BETA, _golden("ga_text", "conversation.item.added"), "not a BETA", False),
    ("part.type output_audio", Dialect.GA, _output_audio_part(), "part.type", True),
    ("part.type output_audio, beta", Dialect.BETA, {**_output_audio_part(), "event_id": "x"}, "part.type", False),
    (
        "args.done without name",
        Dialect.GA,
        _without(_golden("ga_function_call", "response.function_call_arguments.done"), "name"),
        "name",
        True,
    ),
    ("beta part type in GA item", Dialect.GA, _beta_audio_in_ga_item(), "item.content[0]", True),
    ("GA part type in beta item", Dialect.BETA, _ga_item_in_beta(), "item.content[0]", False),
    ("session without type", Dialect.GA, _session_without_type(), "session", True),
    (
        "transcription without usage",
        Dialect.GA,
        _without(_golden("ga_audio", "conversation.item.input_audio_transcription.completed"), "usage"),
        "usage",
        True,
    ),
    (
        "speech_started without item_id",
        Dialect.GA,
        _without(_golden("ga_audio", "input_audio_buffer.speech_started"), "item_id"),
        "item_id",
        True,
    ),
    (
        "error without error.type",
        Dialect.GA,
        {"type": "error", "event_id": "e", "error": {"message": "m"}},
        "error.type",
        True,
    ),
    (
        "unknown field",
        Dialect.GA,
        {**_golden("ga_text", "response.output_text.delta"), "obfuscation": "x"},
        "obfuscation",
        False,
    ),
    ("image tokens in beta usage", Dialect.BETA, _beta_usage_with_image_tokens(), "image_tokens", False),
    ("vendor event", Dialect.GA, {"type": "livegate.debug", "event_id": "e"}, "not a GA server event", True),
    ("no type", Dialect.GA, {"event_id": "e"}, "without a string 'type'", True),
]


@pytest.mark.parametrize(("name", "dialect", "event", "needle", "agents_rejects"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_event_fails(
    name: str, dialect: Dialect, event: dict[str, Any], needle: str, agents_rejects: bool
) -> None:
    """Deliberately broken events fail ours with a message naming the field; where §8.1 says so, Agents agrees."""
    with pytest.raises(ValueError, match=None) as info:
        validate_server_event(event, dialect)
    assert needle in str(info.value)
    if agents_rejects:
        with pytest.raises(ValidationError):
            agents_parse(event)


def test_error_message_names_event_type_and_path() -> None:
    """A nested failure is reported as `invalid GA 'type' event: dotted.path: reason`."""
    event = _beta_audio_in_ga_item()
    with pytest.raises(ValueError, match=r"invalid GA 'response.output_item.done' event: item\.content\[0\]"):
        validate_server_event(event, Dialect.GA)


def _sdk_types(union: Any) -> set[str]:
    members = get_args(get_args(union)[0])
    return {get_args(m.model_fields["type"].annotation)[0] for m in members}


def test_server_types_are_known_to_the_sdk() -> None:
    """Every type we may emit is in the dialect's SDK union (beta's `transcription_session.created` excepted)."""
    assert SERVER_EVENT_TYPES[Dialect.GA] <= _sdk_types(GaSdkServerEvent)
    assert SERVER_EVENT_TYPES[Dialect.BETA] - _sdk_types(BetaSdkServerEvent) == {"transcription_session.created"}


def test_dialects_differ_only_where_the_reference_says() -> None:
    """GA-only and beta-only names are exactly the renames of §2.3 (plus GA added/done and timeout)."""
    ga, beta = SERVER_EVENT_TYPES[Dialect.GA], SERVER_EVENT_TYPES[Dialect.BETA]
    assert ga - beta == {
        "conversation.item.added",
        "conversation.item.done",
        "input_audio_buffer.timeout_triggered",
        "response.output_text.delta",
        "response.output_text.done",
        "response.output_audio.delta",
        "response.output_audio.done",
        "response.output_audio_transcript.delta",
        "response.output_audio_transcript.done",
    }
    assert beta - ga == {
        "transcription_session.created",
        "transcription_session.updated",
        "response.text.delta",
        "response.text.done",
        "response.audio.delta",
        "response.audio.done",
        "response.audio_transcript.delta",
        "response.audio_transcript.done",
    }


@pytest.mark.parametrize("dialect", list(Dialect))
def test_server_models_are_frozen_and_closed(dialect: Dialect) -> None:
    """Every server model is immutable, forbids unknown fields and requires `type` and a string `event_id`."""
    for kind, model in SERVER_MODELS[dialect].items():
        assert model.model_config.get("frozen") is True, kind
        assert model.model_config.get("extra") == "forbid", kind
        assert model.model_fields["event_id"].is_required(), kind
        assert model.model_fields["event_id"].annotation is str, kind
        assert issubclass(model, BaseModel)
