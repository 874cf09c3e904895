"""schemas/gemini.py: message kinds, camelCase/snake_case parsing, strictness and Google-like reasons."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.gemini import (
    ClientContentMessage,
    GeminiProtocolError,
    RealtimeInputMessage,
    ServerContent,
    ServerMessage,
    SetupMessage,
    ToolResponseMessage,
    UsageMetadata,
    decode_frame,
    message_kind,
    parse_client_message,
    truncate_reason,
)


def reason_of(message: Any) -> str:
    with pytest.raises(GeminiProtocolError) as caught:
        parse_client_message(message)
    assert caught.value.code == 1007
    assert len(caught.value.reason.encode()) <= 123
    return caught.value.reason


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ({"setup": {}}, "setup"),
        ({"clientContent": {}}, "clientContent"),
        ({"client_content": {}}, "clientContent"),
        ({"realtimeInput": {}}, "realtimeInput"),
        ({"realtime_input": {}}, "realtimeInput"),
        ({"toolResponse": {}}, "toolResponse"),
        ({"tool_response": {}}, "toolResponse"),
        ({"contextUpdate": {}}, "contextUpdate"),
        ({"context_update": {}}, "contextUpdate"),
        ({"setupComplete": {}}, "setupComplete"),
        ({"serverContent": {"turnComplete": True}, "usageMetadata": {}}, "serverContent"),
        ({"toolCall": {}}, "toolCall"),
        ({"toolCallCancellation": {}}, "toolCallCancellation"),
        ({"goAway": {}}, "goAway"),
        ({"sessionResumptionUpdate": {}}, "sessionResumptionUpdate"),
    ],
)
def test_message_kind(message: dict[str, Any], kind: str) -> None:
    """The kind is the single oneof key, in camelCase; usageMetadata is a sibling."""
    assert message_kind(message) == kind


@pytest.mark.parametrize(
    "message",
    [
        {},
        {"usageMetadata": {}},
        {"setup": {}, "clientContent": {}},
        {"clientContent": {}, "client_content": {}},
    ],
)
def test_message_kind_needs_exactly_one(message: dict[str, Any]) -> None:
    """Zero or two oneof keys raise ValueError."""
    with pytest.raises(ValueError):
        message_kind(message)


def test_camel_and_snake_case_parse_alike() -> None:
    """proto3 JSON: lowerCamel and original field names are both accepted, to the same model."""
    camel = {
        "setup": {
            "model": "models/m",
            "generationConfig": {
                "responseModalities": ["AUDIO"],
                "speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Kore"}}},
            },
            "realtimeInputConfig": {"automaticActivityDetection": {"prefixPaddingMs": 20}},
            "contextWindowCompression": {"triggerTokens": "25600", "slidingWindow": {"targetTokens": 12800}},
        }
    }
    snake = {
        "setup": {
            "model": "models/m",
            "generation_config": {
                "response_modalities": ["AUDIO"],
                "speech_config": {"voice_config": {"prebuilt_voice_config": {"voice_name": "Kore"}}},
            },
            "realtime_input_config": {"automatic_activity_detection": {"prefix_padding_ms": 20}},
            "context_window_compression": {
                "trigger_tokens": 25600,
                "sliding_window": {"target_tokens": "12800"},
            },
        }
    }
    parsed = parse_client_message(camel)
    assert isinstance(parsed, SetupMessage)
    assert parsed == parse_client_message(snake)
    wire = parsed.to_wire()["setup"]
    assert wire["generationConfig"] == camel["setup"]["generationConfig"]
    assert wire["contextWindowCompression"] == {
        "triggerTokens": 25600,
        "slidingWindow": {"targetTokens": 12800},
    }


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({"setup": {"model": "m", "foo": 1}}, "Unknown name \"foo\" at 'setup': Cannot find field."),
        (
            {"setup": {"model": "m", "generation_config": {"bar": 1}}},
            "Unknown name \"bar\" at 'setup.generation_config': Cannot find field.",
        ),
        (
            {"realtimeInput": {"audio": {"mimeType": "audio/pcm", "data": "", "rate": 1}}},
            "Unknown name \"rate\" at 'realtime_input.audio': Cannot find field.",
        ),
        ({"foo": {}}, 'Unknown name "foo": Cannot find field.'),
        ({"config": {"model": "m"}}, 'Unknown name "config": Cannot find field.'),
    ],
)
def test_unknown_fields_are_refused(message: dict[str, Any], expected: str) -> None:
    """Unknown names anywhere close with Google's JSON-parser wording."""
    assert reason_of(message) == f"Invalid JSON payload received. {expected}"


def test_struct_fields_are_kept_verbatim() -> None:
    """args, response, parameters and parametersJsonSchema are free-form: keys never re-cased or checked."""
    free: dict[str, Any] = {"snake_key": {"camelKey": [1, {"Mixed_Case": None}]}, "unknown": True}
    setup = {
        "setup": {
            "model": "m",
            "tools": [
                {
                    "functionDeclarations": [
                        {"name": "f", "parameters": free, "response": free},
                        {"name": "g", "parametersJsonSchema": free, "responseJsonSchema": free},
                    ]
                }
            ],
        }
    }
    assert parse_client_message(setup).to_wire() == setup
    answer = {"toolResponse": {"functionResponses": [{"id": "1", "name": "f", "response": free}]}}
    parsed = parse_client_message(answer)
    assert isinstance(parsed, ToolResponseMessage)
    assert parsed.to_wire() == answer
    turn = {
        "clientContent": {
            "turns": [{"role": "model", "parts": [{"functionCall": {"name": "f", "args": free}}]}]
        }
    }
    assert parse_client_message(turn).to_wire() == turn


def test_two_kinds_in_one_message() -> None:
    """A second oneof member is refused like Google's parser does."""
    reason = reason_of({"setup": {"model": "m"}, "realtime_input": {}})
    assert (
        reason == "Invalid JSON payload received. Oneof field 'message_type' is already set. "
        "Cannot set 'realtime_input'."
    )


def test_part_data_is_a_oneof() -> None:
    """A part carries one of text / inlineData / functionCall / …."""
    message = {"clientContent": {"turns": [{"parts": [{"text": "a", "inlineData": {"data": ""}}]}]}}
    assert "Oneof field 'data' is already set. Cannot set 'inlineData'" in reason_of(message)


@pytest.mark.parametrize("message", [{}, [], "x", 1, None])
def test_not_a_single_message(message: Any) -> None:
    """Non-objects and empty objects are refused with 1007."""
    reason_of(message)


def test_types_are_strict() -> None:
    """Booleans are JSON booleans; enums are their names; bytes are base64."""
    assert "TYPE_BOOL" in reason_of({"clientContent": {"turnComplete": "true"}})
    assert "TYPE_ENUM" in reason_of(
        {"setup": {"model": "m", "generationConfig": {"responseModalities": ["text"]}}}
    )
    assert "Base64 decoding failed" in reason_of(
        {"realtimeInput": {"audio": {"mimeType": "audio/pcm", "data": "@@"}}}
    )
    assert "'setup.model' is required" in reason_of({"setup": {}})


def test_base64_alphabets() -> None:
    """Standard and URL-safe base64, with or without padding, are both bytes (§2)."""
    for data in ("/9g=", "_9g=", "_9g", "AAEAAQ=="):
        parsed = parse_client_message(
            {"realtime_input": {"video": {"mime_type": "image/jpeg", "data": data}}}
        )
        assert isinstance(parsed, RealtimeInputMessage)
        assert parsed.realtime_input.video is not None
    assert parsed.realtime_input.video.raw() == b"\x00\x01\x00\x01"


def test_thinking_level_case_is_normalised() -> None:
    """Docs spell thinking levels in lowercase; they parse to the enum name."""
    parsed = parse_client_message(
        {"setup": {"model": "m", "generationConfig": {"thinkingConfig": {"thinkingLevel": "low"}}}}
    )
    assert isinstance(parsed, SetupMessage)
    assert parsed.setup.generation_config and parsed.setup.generation_config.thinking_config
    assert parsed.setup.generation_config.thinking_config.thinking_level == "LOW"


def test_client_content_text_skips_thoughts() -> None:
    """Content.text() joins text parts and drops thought parts."""
    parsed = parse_client_message(
        {
            "clientContent": {
                "turns": [{"parts": [{"text": "a"}, {"text": "x", "thought": True}, {"text": "b"}]}]
            }
        }
    )
    assert isinstance(parsed, ClientContentMessage)
    assert parsed.client_content.turns and parsed.client_content.turns[0].text() == "ab"


def test_decode_frame() -> None:
    """Text and binary JSON decode; garbage is a 1007."""
    assert decode_frame('{"a": 1}') == decode_frame(b'{"a": 1}') == {"a": 1}
    with pytest.raises(GeminiProtocolError) as caught:
        decode_frame(b"{nope")
    assert caught.value.code == 1007 and caught.value.reason.startswith("Invalid JSON payload received.")


def test_reason_truncation_respects_utf8() -> None:
    """Reasons are cut to 123 bytes without splitting a character."""
    cut = truncate_reason("é" * 100)
    assert len(cut.encode()) <= 123 and cut == "é" * 61
    assert GeminiProtocolError(code=1008, reason="x" * 500).reason == "x" * 123


def test_server_messages_serialise_camel_case() -> None:
    """Server builders emit camelCase, leave out unset fields, and keep usage as a sibling."""
    message = ServerMessage(
        server_content=ServerContent(turn_complete=True),
        usage_metadata=UsageMetadata(candidates_token_count=3, traffic_type="ON_DEMAND"),
    )
    assert message.to_wire() == {
        "serverContent": {"turnComplete": True},
        "usageMetadata": {"candidatesTokenCount": 3, "trafficType": "ON_DEMAND"},
    }
    ServerMessage.model_validate({"setupComplete": {"sessionId": "s"}})
    with pytest.raises(ValueError):
        ServerMessage.model_validate({"usageMetadata": {}})
    with pytest.raises(ValueError):
        ServerMessage.model_validate({"setupComplete": {}, "goAway": {"timeLeft": "1s"}})
