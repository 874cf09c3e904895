"""gateway/emulator/setup_rules.py: model, modality, thinking, voice, tool and backend rules of `setup`."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.emulator.routes import Route
from gateway.emulator.setup_rules import SessionConfig, check_setup
from schemas.gemini import GeminiProtocolError, Setup
from schemas.profiles import PROFILES, Backend

from .helpers import AUDIO_MODEL, LIVE_31, TEXT_MODEL, VERTEX_PREFIX

DEV = Route(Backend.GEMINI, "v1beta", "BidiGenerateContent")
VERTEX = Route(Backend.VERTEX, "v1beta1", "BidiGenerateContent")


def check(model: str, route: Route = DEV, **fields: Any) -> SessionConfig:
    return check_setup(Setup.model_validate({"model": model, **fields}), route)


def refused(model: str, route: Route = DEV, **fields: Any) -> GeminiProtocolError:
    with pytest.raises(GeminiProtocolError) as caught:
        check(model, route, **fields)
    assert len(caught.value.reason.encode()) <= 123
    return caught.value


def thinking(**config: Any) -> dict[str, Any]:
    return {"generationConfig": {"thinkingConfig": config}}


def test_defaults() -> None:
    """No responseModalities means AUDIO; flags follow the presence of their setup fields."""
    config = check(f"models/{AUDIO_MODEL}")
    assert (config.model_id, config.modality, config.resumable, config.output_transcription) == (
        AUDIO_MODEL,
        "AUDIO",
        False,
        False,
    )
    assert config.profile is PROFILES[AUDIO_MODEL]


@pytest.mark.parametrize(
    ("model", "route"),
    [
        (f"models/{AUDIO_MODEL}", DEV),
        (VERTEX_PREFIX + TEXT_MODEL, VERTEX),
        (f"publishers/google/models/{TEXT_MODEL}", VERTEX),
    ],
)
def test_model_names_accepted(model: str, route: Route) -> None:
    """§1.3: `models/x` (Developer API), `[projects/p/locations/l/]publishers/google/models/x` (Vertex)."""
    check(model, route)


@pytest.mark.parametrize(
    ("model", "route"),
    [
        (AUDIO_MODEL, DEV),  # bare id
        (f"publishers/google/models/{AUDIO_MODEL}", DEV),  # Vertex form on the Developer API
        (f"models/{TEXT_MODEL}", VERTEX),  # Developer form on Vertex
        ("models/gemini-9-unknown", DEV),
        ("models/gemini-2.0-flash-live-001", DEV),  # retired
        ("models/gemini-live-2.5-flash-preview", DEV),  # retired
        (f"models/{TEXT_MODEL}", DEV),  # Vertex-only model
        (VERTEX_PREFIX + AUDIO_MODEL, VERTEX),  # Developer-only model
    ],
)
def test_models_not_found(model: str, route: Route) -> None:
    """Unknown, retired, malformed or wrong-backend models close with 1008 "not found"."""
    error = refused(model, route)
    assert error.code == 1008
    assert error.reason.startswith(model if route is DEV else f"Publisher Model `{model[:40]}")


def test_not_found_reason_is_truncated_like_google() -> None:
    """The Developer reason is cut at 123 bytes, ending in "…Call ListMod" for ids of this length (§5.1)."""
    error = refused("models/gemini-2.0-flash-live-001")
    assert error.reason.startswith(
        "models/gemini-2.0-flash-live-001 is not found for API version v1beta, or is not"
    )
    assert len(error.reason.encode()) == 123


@pytest.mark.parametrize(
    ("model", "route", "modalities"),
    [
        (f"models/{AUDIO_MODEL}", DEV, ["TEXT"]),
        (f"models/{LIVE_31}", DEV, ["TEXT"]),
        (f"models/{AUDIO_MODEL}", DEV, ["AUDIO", "TEXT"]),
        (VERTEX_PREFIX + TEXT_MODEL, VERTEX, ["TEXT", "AUDIO"]),
        (f"models/{AUDIO_MODEL}", DEV, ["IMAGE"]),
    ],
)
def test_modalities_refused(model: str, route: Route, modalities: list[str]) -> None:
    """§3.1: exactly one modality; TEXT only where the profile allows it."""
    error = refused(model, route, generationConfig={"responseModalities": modalities})
    combination = ", ".join(modalities)
    assert (error.code, error.reason) == (
        1007,
        f"The requested combination of response modalities ({combination}) is not supported by the model",
    )


def test_text_modality_on_text_model() -> None:
    """The half-cascade Vertex model answers in TEXT."""
    assert (
        check(VERTEX_PREFIX + TEXT_MODEL, VERTEX, generationConfig={"responseModalities": ["TEXT"]}).modality
        == "TEXT"
    )


@pytest.mark.parametrize(
    ("model", "config", "reason"),
    [
        ("gemini-3.8-live", {"thinkingLevel": "LOW"}, "Thinking level is not supported for this model"),
        ("gemini-3.8-live", {"thinkingBudget": 0}, "Thinking budget is not supported for this model"),
        ("gemini-3.8-live", {"includeThoughts": True}, "Thinking is not supported for this model"),
        (AUDIO_MODEL, {"thinkingLevel": "high"}, "Thinking level is not supported for this model"),
        (AUDIO_MODEL, {"thinkingBudget": -2}, "The thinking budget -2 is invalid"),
        (LIVE_31, {"thinkingBudget": 1024}, "Thinking budget is not supported for this model"),
        ("gemini-3.8-live-extended-thinking", {}, "Thinking level must be specified for this model"),
        (
            "gemini-3.8-live-extended-thinking",
            {"thinkingLevel": "minimal"},
            "Thinking level MINIMAL is not supported",
        ),
        ("gemini-3.8-live-extended-thinking", {"thinkingBudget": 5}, "Thinking budget is not supported"),
    ],
)
def test_thinking_refused(model: str, config: dict[str, Any], reason: str) -> None:
    """§3.1 thinkingConfig per profile.thinking, all 1007."""
    error = refused(f"models/{model}", **thinking(**config))
    assert error.code == 1007 and error.reason.startswith(reason)


@pytest.mark.parametrize(
    ("model", "config"),
    [
        ("gemini-3.8-live", {}),
        (AUDIO_MODEL, {"thinkingBudget": -1, "includeThoughts": True}),
        (AUDIO_MODEL, {"thinkingBudget": 0}),
        (LIVE_31, {"thinkingLevel": "minimal"}),
        ("gemini-3.8-live-extended-thinking", {"thinkingLevel": "HIGH"}),
    ],
)
def test_thinking_accepted(model: str, config: dict[str, Any]) -> None:
    """The knob each profile takes is accepted."""
    check(f"models/{model}", **thinking(**config))


def test_extended_thinking_without_config_at_all() -> None:
    """A model that requires a thinking level refuses a setup without thinkingConfig."""
    assert refused("models/gemini-3.8-live-extended-thinking").reason.startswith(
        "Thinking level must be specified"
    )


def voice(name: str) -> dict[str, Any]:
    return {
        "generationConfig": {"speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": name}}}}
    }


def test_voices() -> None:
    """§6: the 30 prebuilt voices (any case) pass; anything else is 1007."""
    check(f"models/{AUDIO_MODEL}", **voice("Kore"))
    check(f"models/{AUDIO_MODEL}", **voice("zubenelgenubi"))
    error = refused(f"models/{AUDIO_MODEL}", **voice("alloy"))
    assert error.code == 1007 and '"alloy"' in error.reason


def declaration(name: str = "f", **fields: Any) -> dict[str, Any]:
    return {"tools": [{"functionDeclarations": [{"name": name, **fields}]}]}


@pytest.mark.parametrize(
    ("model", "fields", "reason"),
    [
        (
            AUDIO_MODEL,
            {"tools": [{"codeExecution": {}}]},
            "Code Execution tool is not supported for this model",
        ),
        (LIVE_31, {"tools": [{"urlContext": {}}]}, "URL Context tool is not supported for this model"),
        (AUDIO_MODEL, declaration("1st"), "Invalid function name '1st'"),
        (AUDIO_MODEL, declaration("a" * 65), "Invalid function name"),
        (
            AUDIO_MODEL,
            {"tools": [{"functionDeclarations": [{"name": "f"}]}, {"functionDeclarations": [{"name": "f"}]}]},
            "Duplicate function declaration found: f",
        ),
        (
            AUDIO_MODEL,
            declaration(parameters={}, parametersJsonSchema={}),
            "Request contains an invalid argument: f",
        ),
        (
            AUDIO_MODEL,
            declaration(parametersJsonSchema={"type": "object", "properties": {"a": {"type": "strng"}}}),
            "f: invalid parameters_json_schema: 'strng' is not valid",
        ),
        (AUDIO_MODEL, declaration(parametersJsonSchema={"type": "string"}), "must describe an object"),
        (AUDIO_MODEL, declaration(parametersJsonSchema=[1]), "parameters_json_schema must be an object"),
        (
            AUDIO_MODEL,
            {"tools": [{"functionDeclarations": [{"name": f"f{n}"} for n in range(129)]}]},
            "at most 128 function declarations",
        ),
        ("gemini-3.8-live-extended-thinking", declaration(), "BLOCKING function calls are not supported"),
        (LIVE_31, {"generationConfig": {"enableAffectiveDialog": True}}, "Affective dialog is not supported"),
        (LIVE_31, {"proactivity": {"proactiveAudio": True}}, "Proactive audio is not supported"),
        ("gemini-3.8-live", {"proactivity": {"proactiveAudio": False}}, "Proactive audio cannot be disabled"),
        (AUDIO_MODEL, {"explicitVadSignal": True}, "Unknown name \"explicitVadSignal\" at 'setup'"),
        (AUDIO_MODEL, {"sessionResumption": {"transparent": True}}, 'Unknown name "transparent"'),
    ],
)
def test_feature_rules(model: str, fields: dict[str, Any], reason: str) -> None:
    """Tools, affective dialog, proactivity and backend-only fields (§3.1, §5.1, §8) close with 1007."""
    if model == "gemini-3.8-live-extended-thinking":
        fields = {**fields, **thinking(thinkingLevel="HIGH")}
    error = refused(f"models/{model}", **fields)
    assert error.code == 1007 and reason in error.reason


def test_feature_rules_that_pass() -> None:
    """The same features where the profile or backend allows them."""
    check(
        f"models/{AUDIO_MODEL}",
        generationConfig={"enableAffectiveDialog": True},
        proactivity={"proactiveAudio": True},
    )
    check(f"models/{AUDIO_MODEL}", **declaration("get_weather.v2:x-y", behavior="NON_BLOCKING"))
    check(VERTEX_PREFIX + TEXT_MODEL, VERTEX, tools=[{"codeExecution": {}}], explicitVadSignal=True)
    check(f"models/{AUDIO_MODEL}", labels={"team": "a"})
    error = refused(VERTEX_PREFIX + TEXT_MODEL, VERTEX, labels={"team": "a"})
    assert 'Unknown name "labels"' in error.reason
    check("models/gemini-3.8-live", proactivity={"proactiveAudio": True})  # on for good: saying so is fine
    thinking_tools = {**declaration(behavior="NON_BLOCKING"), **thinking(thinkingLevel="LOW")}
    check("models/gemini-3.8-live-extended-thinking", **thinking_tools)


def test_session_flags() -> None:
    """Manual VAD, resumption, transcription and initial history are read from setup."""
    config = check(
        f"models/{LIVE_31}",
        realtimeInputConfig={"automaticActivityDetection": {"disabled": True}},
        sessionResumption={"handle": "h"},
        inputAudioTranscription={},
        historyConfig={"initialHistoryInClientContent": True},
    )
    assert (
        config.manual_activity and config.resumable and config.input_transcription and config.initial_history
    )
    assert config.resume_handle == "h"
    on_25 = check(f"models/{AUDIO_MODEL}", historyConfig={"initialHistoryInClientContent": True})
    assert not on_25.initial_history, "only history-only models get a history phase"
