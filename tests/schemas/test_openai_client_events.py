"""`parse_client_event`: real SDK payloads of both dialects pass; every failure is OpenAI's code, param and id."""

from __future__ import annotations

import base64
import json
from typing import Any, Union

import orjson
import pytest
from agents.realtime.model_events import RealtimeModelToolCallEvent
from agents.realtime.model_inputs import RealtimeModelSendAudio, RealtimeModelSendToolOutput, RealtimeModelSendUserInput
from agents.realtime.openai_realtime import (
    DEFAULT_MODEL_SETTINGS,
    OpenAIRealtimeWebSocketModel,
    _ConversionHelper,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai._utils import maybe_transform
from openai.types.beta.realtime import realtime_client_event_param as beta_params
from openai.types.realtime import realtime_client_event_param as ga_params
from openai.types.realtime import response_create_event_with_references_param as ga_refs
from openai.types.realtime.realtime_session_create_request import RealtimeSessionCreateRequest
from openai.types.realtime.session_update_event import SessionUpdateEvent as SdkSessionUpdateEvent
from pydantic import ValidationError

from schemas.errors import ClientProtocolError
from schemas.frame_checks import too_deep
from schemas.openai import (
    CLIENT_EVENT_TYPES,
    CLIENT_MODELS,
    Dialect,
    InputAudioBufferAppendEvent,
    binary_frame_error,
    parse_client_event,
)

AUDIO = base64.b64encode(b"\0\0" * 480).decode()


def raw(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event)


def reject(event: dict[str, Any] | bytes | str, dialect: Dialect = Dialect.GA) -> ClientProtocolError:
    """Parse something that must fail; return the error."""
    with pytest.raises(ClientProtocolError) as info:
        parse_client_event(event if isinstance(event, bytes | str) else raw(event), dialect)
    return info.value


def accept(event: dict[str, Any] | bytes | str, dialect: Dialect = Dialect.GA) -> dict[str, Any]:
    data = event if isinstance(event, bytes | str) else raw(event)
    return parse_client_event(data, dialect)


# --- the error codes of §4.2 ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", [b"not json", b'{"type": "session.update",}', b"", b"\xff\xfe", "{'a': 1}"])
def test_invalid_json(text: bytes | str) -> None:
    """A frame that is not JSON is `invalid_json` with OpenAI's message and no param or event_id."""
    err = reject(text)
    assert (err.code, err.param, err.event_id) == ("invalid_json", None, None)
    assert err.message.startswith("Invalid event: failed to parse JSON value.")
    assert err.error_type == "invalid_request_error"


@pytest.mark.parametrize(("text", "kind"), [(b"[1, 2]", "an array"), (b'"hi"', "a string"), (b"3", "an integer")])
def test_json_that_is_not_an_object(text: bytes, kind: str) -> None:
    """Valid JSON that is not an object is also `invalid_json`, saying what it got."""
    err = reject(text)
    assert (err.code, err.param) == ("invalid_json", None)
    assert err.message == f"Invalid event: failed to parse JSON value. Expected an object, but got {kind} instead."


def test_missing_type_is_invalid_event() -> None:
    """No `type` → `invalid_event` "The 'type' field is missing.", echoing the client's event_id."""
    err = reject({"event_id": "evt_1", "audio": AUDIO})
    assert (err.code, err.message, err.param, err.event_id) == (
        "invalid_event",
        "The 'type' field is missing.",
        None,
        "evt_1",
    )


def test_binary_frame_error() -> None:
    """The binary-frame answer is the live server's `invalid_event` text."""
    err = binary_frame_error()
    assert (err.code, err.param, err.event_id) == ("invalid_event", None, None)
    assert err.message == "Expected a text WebSocket message; binary frames are not supported."


def test_unknown_type_lists_the_dialect_types() -> None:
    """An unknown type is `invalid_value` on `type`, listing the accepted types in OpenAI's style."""
    err = reject({"type": "nope", "event_id": "evt_2"})
    assert (err.code, err.param, err.event_id) == ("invalid_value", "type", "evt_2")
    assert err.message.startswith(
        "Invalid value: 'nope'. Supported values are: 'session.update', 'session.close', "
        "'input_audio_buffer.append', 'input_audio_buffer.commit', "
    )
    assert err.message.endswith(", 'response.cancel', and 'output_audio_buffer.clear'.")
    assert all(f"'{t}'" in err.message for t in CLIENT_EVENT_TYPES[Dialect.GA])
    assert "transcription_session.update" not in err.message


def test_transcription_session_update_is_beta_only() -> None:
    """`transcription_session.update` is `invalid_value` in GA (as live) and accepted in beta."""
    event = {"type": "transcription_session.update", "session": {"input_audio_format": "pcm16"}}
    assert reject(event).code == "invalid_value"
    assert accept(event, Dialect.BETA) == event
    beta_err = reject({"type": "nope"}, Dialect.BETA)
    assert "'session.update', 'transcription_session.update', 'session.close'" in beta_err.message


def test_non_string_type_is_invalid_type() -> None:
    """`type` that is not a string is `invalid_type` on `type`."""
    err = reject({"type": 5, "event_id": "e"})
    assert (err.code, err.param, err.event_id) == ("invalid_type", "type", "e")
    assert err.message == "Invalid type for 'type': expected a string, but got an integer instead."


def test_unknown_parameter() -> None:
    """An unknown session field is `unknown_parameter` with the dotted param, as captured live (§4.1)."""
    err = reject({"type": "session.update", "event_id": "evt_3", "session": {"type": "realtime", "bogus_field": 1}})
    assert (err.code, err.param, err.event_id) == ("unknown_parameter", "session.bogus_field", "evt_3")
    assert err.message == "Unknown parameter: 'session.bogus_field'."


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("modalities", ["text"]),
        ("voice", "alloy"),
        ("input_audio_format", "pcm16"),
        ("output_audio_format", "pcm16"),
        ("input_audio_transcription", {"model": "whisper-1"}),
        ("turn_detection", {"type": "server_vad"}),
        ("temperature", 0.8),
        ("max_response_output_tokens", "inf"),
    ],
)
def test_beta_fields_in_ga_session_update(field: str, value: Any) -> None:
    """Beta's flat field names in a GA `session.update` are `unknown_parameter` (§8.10, §8.11)."""
    err = reject({"type": "session.update", "session": {"type": "realtime", field: value}})
    assert (err.code, err.param) == ("unknown_parameter", f"session.{field}")


@pytest.mark.parametrize("field", ["type", "audio", "output_modalities", "truncation"])
def test_ga_fields_in_beta_session_update(field: str) -> None:
    """GA-only names in a beta `session.update` are `unknown_parameter` too."""
    err = reject({"type": "session.update", "session": {field: "realtime"}}, Dialect.BETA)
    assert (err.code, err.param) == ("unknown_parameter", f"session.{field}")


@pytest.mark.parametrize(
    ("event", "param"),
    [
        ({"type": "conversation.item.create", "item": {"role": "user", "content": []}}, "item.type"),
        ({"type": "conversation.item.create", "item": {"type": "message", "content": []}}, "item.role"),
        ({"type": "conversation.item.create", "item": {"type": "function_call_output", "output": "x"}}, "item.call_id"),
        ({"type": "conversation.item.create"}, "item"),
        ({"type": "session.update", "session": {"instructions": "x"}}, "session.type"),
        ({"type": "session.update"}, "session"),
        ({"type": "conversation.item.delete"}, "item_id"),
        ({"type": "conversation.item.truncate", "item_id": "i", "content_index": 0}, "audio_end_ms"),
        (
            {"type": "session.update", "session": {"type": "realtime", "tools": [{"type": "function"}]}},
            "session.tools[0].name",
        ),
        (
            {"type": "session.update", "session": {"type": "realtime", "tools": [{"name": "f"}]}},
            "session.tools[0].type",
        ),
        (
            {"type": "session.update", "session": {"type": "realtime", "tool_choice": {"type": "function"}}},
            "session.tool_choice.name",
        ),
        (
            {"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"turn_detection": {}}}}},
            "session.audio.input.turn_detection.type",
        ),
        ({"type": "response.create", "response": {"input": [{"type": "item_reference"}]}}, "response.input[0].id"),
    ],
)
def test_missing_required_parameter(event: dict[str, Any], param: str) -> None:
    """A missing required field (or union discriminator) is `missing_required_parameter` at its path."""
    err = reject({**event, "event_id": "evt_4"})
    assert (err.code, err.param, err.event_id) == ("missing_required_parameter", param, "evt_4")
    assert err.message == f"Missing required parameter: '{param}'."


@pytest.mark.parametrize(
    ("event", "param", "words"),
    [
        (
            {"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": "hi"}},
            "item.content",
            "expected an array, but got a string instead",
        ),
        ({"type": "conversation.item.create", "item": "hi"}, "item", "expected an object, but got a string"),
        ({"type": "conversation.item.create", "item": {"type": 3}}, "item.type", "expected a string, but got an"),
        (
            {"type": "conversation.item.truncate", "item_id": "i", "content_index": 0, "audio_end_ms": 1.5},
            "audio_end_ms",
            "expected an integer, but got a decimal instead",
        ),
        (
            {"type": "conversation.item.truncate", "item_id": "i", "content_index": True, "audio_end_ms": 1},
            "content_index",
            "expected an integer, but got a boolean instead",
        ),
        ({"type": "response.cancel", "response_id": None, "event_id": 7}, "event_id", "but got an integer"),
        (
            {"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"voice": 3}}}},
            "session.audio.output.voice",
            "expected a string or an object, but got an integer instead",
        ),
        (
            {"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"voice": {"id": 3}}}}},
            "session.audio.output.voice.id",
            "expected a string, but got an integer instead",
        ),
        (
            {"type": "session.update", "session": {"type": "realtime", "max_output_tokens": 1.5}},
            "session.max_output_tokens",
            "expected an integer or 'inf', but got a decimal instead",
        ),
        (
            {"type": "session.update", "session": {"type": "realtime", "instructions": ["a"]}},
            "session.instructions",
            "expected a string, but got an array instead",
        ),
        (
            {"type": "session.update", "session": {"type": "realtime", "output_modalities": [None]}},
            "session.output_modalities[0]",
            "expected a string, but got null instead",
        ),
        ({"type": "response.create", "response": {"metadata": "x"}}, "response.metadata", "expected an object"),
    ],
)
def test_invalid_type(event: dict[str, Any], param: str, words: str) -> None:
    """A value of the wrong JSON kind is `invalid_type` "Invalid type for 'p': expected X, but got Y instead."."""
    err = reject(event)
    assert (err.code, err.param) == ("invalid_type", param)
    assert err.message.startswith(f"Invalid type for '{param}': ")
    assert words in err.message


def test_item_id_longer_than_32() -> None:
    """A client item id over 32 characters is `string_above_max_length`; 32 is fine (§2.1)."""
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
    accept({"type": "conversation.item.create", "item": {**item, "id": "x" * 32}})
    err = reject({"type": "conversation.item.create", "event_id": "evt_5", "item": {**item, "id": "x" * 33}})
    assert (err.code, err.param, err.event_id) == ("string_above_max_length", "item.id", "evt_5")
    assert err.message == (
        "Invalid 'item.id': string too long. Expected a string with maximum length 32, "
        "but got a string with length 33 instead."
    )


@pytest.mark.parametrize("where", ["input", "output"])
def test_rate_below_24000(where: str) -> None:
    """GA `format.rate` under 24000 is `integer_below_min_value` at the full path (§5.2, §3.8)."""
    audio = {where: {"format": {"type": "audio/pcm", "rate": 16000}}}
    err = reject({"type": "session.update", "event_id": "evt_6", "session": {"type": "realtime", "audio": audio}})
    assert (err.code, err.param, err.event_id) == (
        "integer_below_min_value",
        f"session.audio.{where}.format.rate",
        "evt_6",
    )
    assert err.message == (
        f"Invalid 'session.audio.{where}.format.rate': integer below minimum value. "
        "Expected a value >= 24000, but got 16000 instead."
    )
    transcription = {"type": "transcription", "audio": {"input": {"format": {"type": "audio/pcm", "rate": 8000}}}}
    assert reject({"type": "session.update", "session": transcription}).code == "integer_below_min_value"


@pytest.mark.parametrize(
    ("session", "code", "param"),
    [
        (
            {"type": "realtime", "audio": {"output": {"speed": 2}}},
            "decimal_above_max_value",
            "session.audio.output.speed",
        ),
        ({"type": "realtime", "max_output_tokens": 5000}, "integer_above_max_value", "session.max_output_tokens"),
        ({"type": "realtime", "max_output_tokens": 0}, "integer_below_min_value", "session.max_output_tokens"),
        (
            {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": -0.1}}}},
            "decimal_below_min_value",
            "session.audio.input.turn_detection.threshold",
        ),
    ],
)
def test_documented_ranges(session: dict[str, Any], code: str, param: str) -> None:
    """The documented ranges (speed, max tokens, VAD threshold) use OpenAI's range codes."""
    err = reject({"type": "session.update", "session": session})
    assert (err.code, err.param) == (code, param)


def test_beta_temperature_range() -> None:
    """Beta `temperature` outside 0.6–1.2 is `decimal_below_min_value`; inside it passes (§5.1)."""
    accept({"type": "session.update", "session": {"temperature": 0.8}}, Dialect.BETA)
    err = reject({"type": "session.update", "session": {"temperature": 0.2}}, Dialect.BETA)
    assert (err.code, err.param) == ("decimal_below_min_value", "session.temperature")


@pytest.mark.parametrize(
    ("event", "param", "value", "supported"),
    [
        (
            {"type": "session.update", "session": {"type": "realtime", "output_modalities": ["video"]}},
            "session.output_modalities[0]",
            "video",
            "'text' and 'audio'",
        ),
        (
            {"type": "session.update", "session": {"type": "conversation"}},
            "session.type",
            "conversation",
            "'realtime' and 'transcription'",
        ),
        ({"type": "conversation.item.create", "item": {"type": "nope"}}, "item.type", "nope", "'message', "),
        (
            {"type": "conversation.item.create", "item": {"type": "message", "role": "bot", "content": []}},
            "item.role",
            "bot",
            "'system', 'user', and 'assistant'",
        ),
        (
            {
                "type": "conversation.item.create",
                "item": {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "x"}]},
            },
            "item.content[0].type",
            "text",
            "'output_text' and 'output_audio'",
        ),
        (
            {"type": "session.update", "session": {"type": "realtime", "max_output_tokens": "infinite"}},
            "session.max_output_tokens",
            "infinite",
            "'inf'",
        ),
        (
            {"type": "session.update", "session": {"type": "realtime", "tool_choice": "any"}},
            "session.tool_choice",
            "any",
            "'auto', 'none', and 'required'",
        ),
    ],
)
def test_invalid_value(event: dict[str, Any], param: str, value: str, supported: str) -> None:
    """An unsupported enum or discriminator value is `invalid_value` at its path, listing what is supported."""
    err = reject(event)
    assert (err.code, err.param) == ("invalid_value", param)
    assert err.message.startswith(f"Invalid value: '{value}'. Supported values are: {supported}")


def test_beta_content_types_are_the_beta_names() -> None:
    """Beta assistant parts are `text`/`audio`; GA's `output_text` is an `invalid_value` there."""
    part = {"type": "output_text", "text": "x"}
    item: dict[str, Any] = {"type": "message", "role": "assistant", "content": [part]}
    event = {"type": "conversation.item.create", "item": item}
    accept(event)
    err = reject(event, Dialect.BETA)
    assert (err.code, err.param) == ("invalid_value", "item.content[0].type")
    item["content"] = [{"type": "text", "text": "x"}]
    accept(event, Dialect.BETA)


@pytest.mark.parametrize("event_id", [None, 5, ["a"], {"x": 1}])
def test_event_id_is_echoed_only_when_a_string(event_id: Any) -> None:
    """`error.event_id` carries the client's id only if it sent a string one."""
    event: dict[str, Any] = {"type": "nope"}
    if event_id is not None:
        event["event_id"] = event_id
    assert reject(event).event_id is None


def test_unknown_field_at_event_level() -> None:
    """An unknown top-level key is `unknown_parameter` with the bare key as param."""
    err = reject({"type": "response.cancel", "event_id": "evt_7", "foo": 1})
    assert (err.code, err.param, err.event_id, err.message) == (
        "unknown_parameter",
        "foo",
        "evt_7",
        "Unknown parameter: 'foo'.",
    )


def test_chat_completions_tool_shape_points_at_the_right_field() -> None:
    """`{"type":"function","function":{…}}` (the Chat Completions shape) names `tools[0].name` as missing."""
    tool = {"type": "function", "function": {"name": "f"}}
    err = reject({"type": "session.update", "session": {"type": "realtime", "tools": [tool]}})
    assert (err.code, err.param) == ("missing_required_parameter", "session.tools[0].name")


# --- the append fast path -------------------------------------------------------------------------------


def test_append_returns_the_same_dict_unchanged() -> None:
    """A valid append comes back as the parsed dict, with no defaults added."""
    for event in (
        {"type": "input_audio_buffer.append", "audio": AUDIO},
        {"audio": AUDIO, "event_id": "a1", "type": "input_audio_buffer.append"},
    ):
        assert accept(event) == event
        assert list(accept(event)) == list(event)


@pytest.mark.parametrize(
    ("event", "code", "param"),
    [
        ({"type": "input_audio_buffer.append", "audio": 5, "event_id": "a2"}, "invalid_type", "audio"),
        ({"type": "input_audio_buffer.append", "audio": None}, "invalid_type", "audio"),
        ({"type": "input_audio_buffer.append"}, "missing_required_parameter", "audio"),
        ({"type": "input_audio_buffer.append", "audio": AUDIO, "format": "pcm16"}, "unknown_parameter", "format"),
        ({"type": "input_audio_buffer.append", "audio": AUDIO, "event_id": 1}, "invalid_type", "event_id"),
    ],
)
def test_append_rejections(event: dict[str, Any], code: str, param: str) -> None:
    """The fast path still answers with OpenAI's codes, and echoes a string event_id."""
    err = reject(event)
    assert (err.code, err.param) == (code, param)
    assert err.event_id == (event["event_id"] if isinstance(event.get("event_id"), str) else None)
    assert err.message == reject(event, Dialect.BETA).message


def test_append_model_is_the_shape() -> None:
    """The pydantic model for append exists and agrees with the fast path on a valid event."""
    event = {"type": "input_audio_buffer.append", "audio": AUDIO, "event_id": "a3"}
    assert InputAudioBufferAppendEvent.model_validate(event).audio == AUDIO
    assert CLIENT_MODELS[Dialect.GA]["input_audio_buffer.append"] is InputAudioBufferAppendEvent
    assert CLIENT_MODELS[Dialect.BETA]["input_audio_buffer.append"] is InputAudioBufferAppendEvent


_JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
_JSON = st.recursive(
    _JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(extra=st.dictionaries(st.sampled_from(["audio", "event_id", "format", "item"]), _JSON, max_size=3))
def test_append_fast_path_agrees_with_the_model(extra: dict[str, Any]) -> None:
    """For any append-typed object, the fast path accepts exactly what `InputAudioBufferAppendEvent` accepts."""
    event = {"type": "input_audio_buffer.append", **extra}
    try:
        InputAudioBufferAppendEvent.model_validate(event)
        model_ok = True
    except ValidationError:
        model_ok = False
    try:
        accept(event)
        fast_ok = True
    except ClientProtocolError:
        fast_ok = False
    assert fast_ok == model_ok


@settings(max_examples=300, deadline=None)
@given(
    dialect=st.sampled_from(list(Dialect)),
    kind=st.sampled_from(sorted(CLIENT_MODELS[Dialect.GA])),
    extra=st.dictionaries(st.sampled_from(["event_id", "response", "item_id"]), _JSON, max_size=2),
)
def test_bare_events_skip_pydantic_only_where_their_model_agrees(
    dialect: Dialect, kind: str, extra: dict[str, Any]
) -> None:
    """`response.create` and the like, sent bare (a type and perhaps an event_id), are accepted without pydantic
    (schemas/openai.py `_BARE`, issue #15): for any type and any such fields, the parser accepts exactly what the
    type's model accepts."""
    event = {"type": kind, **extra}
    model = CLIENT_MODELS[dialect].get(kind)
    if model is None or kind == "input_audio_buffer.append":  # the append has its own fast path, tested above
        return
    try:
        model.model_validate(event)
        model_ok = not too_deep(event)
    except ValidationError:
        model_ok = False
    try:
        accept(event, dialect)
        parsed_ok = True
    except ClientProtocolError:
        parsed_ok = False
    assert parsed_ok == model_ok


def test_a_bare_response_create_is_returned_as_sent() -> None:
    for event in ({"type": "response.create"}, {"event_id": "e1", "type": "response.create"}):
        assert accept(event) == event and list(accept(event)) == list(event)
    assert reject({"type": "response.create", "event_id": 5}).param == "event_id"


# --- valid events, as real clients build them -----------------------------------------------------------

_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather by city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
_USER_TEXT = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Say hi"}]}

GA_PARAMS: list[dict[str, Any]] = [
    {
        "type": "session.update",
        "event_id": "c1",
        "session": {
            "type": "realtime",
            "model": "gpt-realtime",
            "instructions": "Be brief.",
            "output_modalities": ["audio"],
            "audio": {
                "input": {
                    "format": {"type": "audio/pcm", "rate": 24000},
                    "transcription": {
                        "model": "gpt-4o-mini-transcribe",
                        "language": "en",
                        "prompt": "names",
                        "languages": ["en", "fr"],
                        "keywords": ["livegate"],
                        "delay": "low",
                    },
                    "noise_reduction": {"type": "near_field", "strength": 0.5},
                    "turn_detection": {
                        "type": "server_vad",
                        "threshold": 0.5,
                        "prefix_padding_ms": 300,
                        "silence_duration_ms": 500,
                        "idle_timeout_ms": 6000,
                        "create_response": True,
                        "interrupt_response": True,
                    },
                },
                "output": {"format": {"type": "audio/pcmu"}, "voice": {"id": "voice_1234"}, "speed": 1.1},
            },
            "tools": [
                _TOOL,
                {
                    "type": "mcp",
                    "server_label": "deepwiki",
                    "server_url": "https://mcp.example/sse",
                    "require_approval": "never",
                    "allowed_tools": ["ask"],
                },
            ],
            "tool_choice": {"type": "function", "name": "get_weather"},
            "max_output_tokens": 4096,
            "tracing": {"workflow_name": "w", "group_id": "g", "metadata": {"k": "v"}},
            "truncation": {"type": "retention_ratio", "retention_ratio": 0.8, "token_limits": {"post_instructions": 1}},
            "prompt": {"id": "pmpt_1", "version": "2", "variables": {"city": "Paris"}},
            "include": ["item.input_audio_transcription.logprobs"],
            "parallel_tool_calls": False,
            "reasoning": {"effort": "low"},
        },
    },
    {
        "type": "session.update",
        "session": {
            "type": "transcription",
            "audio": {
                "input": {
                    "format": {"type": "audio/pcm", "rate": 24000},
                    "transcription": {"model": "gpt-4o-mini-transcribe"},
                    "turn_detection": {"type": "semantic_vad", "eagerness": "high"},
                    "noise_reduction": None,
                }
            },
        },
    },
    {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "output_modalities": ["text"],
            "truncation": "disabled",
            "tool_choice": "required",
            "tracing": "auto",
            "max_output_tokens": "inf",
        },
    },
    {"type": "input_audio_buffer.append", "audio": AUDIO},
    {"type": "input_audio_buffer.commit", "event_id": "c2"},
    {"type": "input_audio_buffer.clear"},
    {
        "type": "conversation.item.create",
        "previous_item_id": "root",
        "item": {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "Stay calm."}]},
    },
    {
        "type": "conversation.item.create",
        "item": {
            "type": "message",
            "role": "user",
            "id": "msg_001",
            "content": [
                {"type": "input_text", "text": "What is this?"},
                {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "low"},
                {"type": "input_audio", "audio": AUDIO, "transcript": "hello"},
            ],
        },
    },
    {
        "type": "conversation.item.create",
        "item": {
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "Hi"}],
        },
    },
    {
        "type": "conversation.item.create",
        "item": {"type": "function_call", "name": "get_weather", "arguments": "{}", "call_id": "call_1"},
    },
    {
        "type": "conversation.item.create",
        "item": {"type": "function_call_output", "call_id": "call_1", "output": '{"temp_c": 21}'},
    },
    {
        "type": "conversation.item.create",
        "item": {"type": "mcp_approval_response", "id": "mcpr_1", "approval_request_id": "mcpa_1", "approve": True},
    },
    {"type": "conversation.item.truncate", "item_id": "item_1", "content_index": 0, "audio_end_ms": 1500},
    {"type": "conversation.item.delete", "item_id": "item_1"},
    {"type": "conversation.item.retrieve", "item_id": "item_1"},
    {"type": "response.create"},
    {
        "type": "response.create",
        "event_id": "c3",
        "response": {
            "conversation": "none",
            "metadata": {"topic": "classification"},
            "output_modalities": ["text"],
            "instructions": "Classify.",
            "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin"}},
            "tools": [_TOOL],
            "tool_choice": "none",
            "max_output_tokens": 200,
            "parallel_tool_calls": True,
            "prompt": {"id": "pmpt_1"},
            "reasoning": {"effort": "minimal"},
            "input": [{"type": "item_reference", "id": "item_1"}, _USER_TEXT],
        },
    },
    {"type": "response.cancel"},
    {"type": "response.cancel", "response_id": "resp_1"},
    {"type": "output_audio_buffer.clear"},
]
BETA_PARAMS: list[dict[str, Any]] = [
    {
        "type": "session.update",
        "event_id": "b1",
        "session": {
            "model": "gpt-4o-realtime-preview",
            "instructions": "Be brief.",
            "modalities": ["audio", "text"],
            "voice": "alloy",
            "input_audio_format": "g711_ulaw",
            "output_audio_format": "pcm16",
            "input_audio_transcription": {"model": "whisper-1", "language": "en", "prompt": "p"},
            "input_audio_noise_reduction": {"type": "far_field"},
            "turn_detection": {
                "type": "server_vad",
                "threshold": 0.5,
                "prefix_padding_ms": 300,
                "silence_duration_ms": 500,
                "create_response": True,
                "interrupt_response": True,
            },
            "tools": [_TOOL],
            "tool_choice": "auto",
            "temperature": 0.8,
            "max_response_output_tokens": "inf",
            "speed": 1.0,
            "tracing": "auto",
            "client_secret": {"expires_after": {"anchor": "created_at", "seconds": 600}},
        },
    },
    {"type": "session.update", "session": {"turn_detection": {"type": "semantic_vad", "eagerness": "auto"}}},
    {
        "type": "transcription_session.update",
        "session": {
            "input_audio_format": "pcm16",
            "input_audio_transcription": {"model": "gpt-4o-transcribe"},
            "turn_detection": {"type": "server_vad"},
            "input_audio_noise_reduction": {"type": "near_field"},
            "include": ["item.input_audio_transcription.logprobs"],
            "client_secret": {"expires_at": {"anchor": "created_at", "seconds": 60}},
        },
    },
    {"type": "input_audio_buffer.append", "audio": AUDIO},
    {"type": "input_audio_buffer.commit"},
    {
        "type": "conversation.item.create",
        "previous_item_id": "",
        "item": {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "hi"}, {"type": "input_audio", "audio": AUDIO}],
        },
    },
    {
        "type": "conversation.item.create",
        "item": {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "Hello"}]},
    },
    {"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": "call_1", "output": "ok"}},
    {"type": "conversation.item.truncate", "item_id": "item_1", "content_index": 0, "audio_end_ms": 0},
    {
        "type": "response.create",
        "response": {
            "modalities": ["text"],
            "instructions": "x",
            "voice": "verse",
            "output_audio_format": "g711_alaw",
            "tools": [_TOOL],
            "tool_choice": "get_weather",
            "temperature": 1.0,
            "max_response_output_tokens": 100,
            "conversation": "auto",
            "metadata": {"k": "v"},
            "input": [{"type": "item_reference", "id": "item_1"}, _USER_TEXT],
        },
    },
    {"type": "response.cancel"},
]


def ga_sdk_wire(event: dict[str, Any]) -> str:
    """What openai-python 3.x `client.realtime` puts on the wire for a params dict (`RealtimeConnection.send`)."""
    union = Union[ga_params.RealtimeClientEventParam, ga_refs.ResponseCreateEventWithReferencesParam]  # noqa: UP007
    return json.dumps(maybe_transform(event, union))


def beta_sdk_wire(event: dict[str, Any]) -> str:
    """What `client.beta.realtime` puts on the wire (`AsyncRealtimeConnection.send`)."""
    return json.dumps(maybe_transform(event, beta_params.RealtimeClientEventParam))


@pytest.mark.parametrize("event", GA_PARAMS, ids=[f"{i}-{e['type']}" for i, e in enumerate(GA_PARAMS)])
def test_ga_sdk_events_pass(event: dict[str, Any]) -> None:
    """Every GA client event type, with every field, as openai-python serialises it, parses unchanged."""
    wire = ga_sdk_wire(event)
    assert parse_client_event(wire, Dialect.GA) == json.loads(wire) == event
    assert parse_client_event(wire.encode(), Dialect.GA) == event


@pytest.mark.parametrize("event", BETA_PARAMS, ids=[f"{i}-{e['type']}" for i, e in enumerate(BETA_PARAMS)])
def test_beta_sdk_events_pass(event: dict[str, Any]) -> None:
    """Beta client events as openai-python's beta client serialises them parse unchanged."""
    wire = beta_sdk_wire(event)
    assert parse_client_event(wire, Dialect.BETA) == event


def test_every_client_type_is_covered() -> None:
    """The valid-event lists above exercise every client event type of both dialects except `session.close`."""
    assert {e["type"] for e in GA_PARAMS} == CLIENT_EVENT_TYPES[Dialect.GA] - {"session.close"}
    assert {e["type"] for e in BETA_PARAMS} | {
        "input_audio_buffer.clear",
        "conversation.item.delete",
        "conversation.item.retrieve",
        "output_audio_buffer.clear",
        "session.close",
    } == CLIENT_EVENT_TYPES[Dialect.BETA]
    for dialect in Dialect:
        assert accept({"type": "session.close"}, dialect) == {"type": "session.close"}


def _agents_payloads() -> list[str]:
    """The client frames openai-agents (Python) sends, built with its own code paths (exclude_unset JSON)."""
    model = OpenAIRealtimeWebSocketModel()
    settings_variants: list[Any] = [
        dict(DEFAULT_MODEL_SETTINGS),
        {
            "instructions": "hi",
            "tools": [],
            "input_audio_noise_reduction": None,
            "speed": 1.1,
            "turn_detection": None,
            "output_modalities": ["text"],
            "max_output_tokens": 100,
            "tool_choice": "auto",
        },
    ]
    frames = [
        SdkSessionUpdateEvent(session=model._get_session_config(s), type="session.update").model_dump_json(
            exclude_unset=True
        )
        for s in settings_variants
    ]
    tracings: list[Any] = ["auto", {"workflow_name": "wf", "group_id": None, "metadata": {"a": 1}}]
    for tracing in tracings:
        session = RealtimeSessionCreateRequest(
            model=model.model, type="realtime", tracing=_ConversionHelper.convert_tracing_config(tracing)
        )
        frames.append(SdkSessionUpdateEvent(session=session, type="session.update").model_dump_json(exclude_unset=True))
    call = RealtimeModelToolCallEvent(name="f", call_id="call_1", arguments="{}")
    events = [
        _ConversionHelper.convert_user_input_to_item_create(RealtimeModelSendUserInput(user_input="Hello")),
        _ConversionHelper.convert_user_input_to_item_create(
            RealtimeModelSendUserInput(
                user_input={
                    "type": "message",
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "look"},
                        {"type": "input_image", "image_url": "data:image/png;base64,AA", "detail": "high"},
                    ],
                }
            )
        ),
        _ConversionHelper.convert_audio_to_input_audio_buffer_append(RealtimeModelSendAudio(audio=b"\0\0")),
        _ConversionHelper.convert_tool_output(RealtimeModelSendToolOutput(call, "42", start_response=True)),
        _ConversionHelper.convert_interrupt("item_1", 0, 1234),
    ]
    frames += [e.model_dump_json(exclude_unset=True) for e in events]
    frames += [
        '{"type":"response.create","event_id":"agents_py_response_create_1"}',
        '{"item_id":"item_1","type":"conversation.item.retrieve"}',
        '{"type":"response.cancel"}',
        '{"type":"input_audio_buffer.commit"}',
    ]
    return frames


@pytest.mark.parametrize("frame", _agents_payloads())
def test_agents_sdk_frames_pass(frame: str) -> None:
    """Frames the Agents SDK sends (`type` last, explicit nulls, tracing/model repeats) are all accepted."""
    assert parse_client_event(frame, Dialect.GA) == json.loads(frame)


def test_agents_sdk_session_defaults_are_what_the_reference_says() -> None:
    """The Agents default session carries semantic_vad+interrupt_response, mini-transcribe and PCM 24 kHz (§5.3)."""
    frame = parse_client_event(_agents_payloads()[0], Dialect.GA)
    audio_in = frame["session"]["audio"]["input"]
    assert audio_in["turn_detection"] == {"type": "semantic_vad", "interrupt_response": True}
    assert audio_in["transcription"] == {"model": "gpt-4o-mini-transcribe"}
    assert audio_in["format"] == {"type": "audio/pcm", "rate": 24000}
    tracing_frame = parse_client_event(_agents_payloads()[2], Dialect.GA)
    assert tracing_frame["session"] == {"type": "realtime", "model": "gpt-realtime-2.1", "tracing": "auto"}


def test_agents_js_defaults_pass() -> None:
    """The Agents JS defaults ({type: semantic_vad} with tracing 'auto') parse (§5.3, §8.3)."""
    session = {
        "type": "realtime",
        "tracing": "auto",
        "model": "gpt-realtime",
        "audio": {
            "input": {
                "turn_detection": {"type": "semantic_vad"},
                "transcription": {"model": "gpt-4o-mini-transcribe"},
                "format": {"type": "audio/pcm", "rate": 24000},
            },
            "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "ash"},
        },
    }
    accept({"session": session, "type": "session.update"})


# --- never anything but ClientProtocolError -------------------------------------------------------------

_CODES = {
    "invalid_json",
    "invalid_event",
    "invalid_value",
    "invalid_type",
    "unknown_parameter",
    "missing_required_parameter",
    "string_above_max_length",
    "integer_below_min_value",
    "integer_above_max_value",
    "decimal_below_min_value",
    "decimal_above_max_value",
}


def _check_total(data: bytes | str, dialect: Dialect) -> None:
    try:
        result = parse_client_event(data, dialect)
    except ClientProtocolError as err:
        assert err.code in _CODES
        assert err.message
        assert err.event_id is None or isinstance(err.event_id, str)
    else:
        assert isinstance(result, dict)


@settings(max_examples=400, deadline=None)
@given(data=st.binary(max_size=200) | st.text(max_size=200), dialect=st.sampled_from(list(Dialect)))
def test_arbitrary_bytes_never_crash(data: bytes | str, dialect: Dialect) -> None:
    """Any frame content yields a dict or a `ClientProtocolError`, never another exception."""
    _check_total(data, dialect)


_KEYS = st.sampled_from(
    [
        "type",
        "event_id",
        "session",
        "item",
        "response",
        "audio",
        "item_id",
        "content",
        "role",
        "tools",
        "voice",
        "output",
        "input",
        "format",
        "rate",
        "id",
        "name",
        "call_id",
        "turn_detection",
        "modalities",
        "x",
    ]
)
_TREE = st.recursive(
    _JSON_SCALARS | st.sampled_from(["message", "function", "realtime", "user", "audio/pcm", "inf", "auto"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(sorted(CLIENT_EVENT_TYPES[Dialect.BETA] | CLIENT_EVENT_TYPES[Dialect.GA])) | st.text(),
    body=st.dictionaries(_KEYS, _TREE, max_size=4),
    dialect=st.sampled_from(list(Dialect)),
)
def test_arbitrary_objects_never_crash(kind: str, body: dict[str, Any], dialect: Dialect) -> None:
    """Arbitrary JSON objects with real and fake event types yield only `ClientProtocolError` on failure."""
    _check_total(orjson.dumps({"type": kind, **body}), dialect)
    _check_total(orjson.dumps(body), dialect)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in children:
        found += _paths(child, (*prefix, key))
    return found


@settings(max_examples=600, deadline=None)
@given(data=st.data(), dialect=st.sampled_from(list(Dialect)))
def test_mutated_real_events_never_crash(data: st.DataObject, dialect: Dialect) -> None:
    """Valid events with one field dropped, retyped or added deep inside still yield only `ClientProtocolError`."""
    event = json.loads(json.dumps(data.draw(st.sampled_from(GA_PARAMS if dialect is Dialect.GA else BETA_PARAMS))))
    for _ in range(data.draw(st.integers(1, 3))):
        paths = _paths(event)
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        parent = event
        for key in path[:-1]:
            parent = parent[key]
        value = data.draw(_TREE)
        if isinstance(parent, dict) and data.draw(st.booleans()):
            del parent[path[-1]]
        elif isinstance(parent, dict) and data.draw(st.booleans()):
            parent[data.draw(_KEYS)] = value
        else:
            parent[path[-1]] = value
    _check_total(orjson.dumps(event), dialect)
