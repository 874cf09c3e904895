"""Seed 003's simple protocol (ai-proxy-core's `/api/gemini/ws`): every message shape, both directions.

Client: `config` (optional, first), `message` {data: {text}} or `text` {text}, `audio` {data: base64 pcm16
16 kHz}. Server: `system`, `config_success`, `response` {text}, `audio` {data, format, sampleRate}, `error`.
"""

from __future__ import annotations

import binascii
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from schemas.errors import ClientProtocolError

STRICT = ConfigDict(extra="forbid", frozen=True)

INPUT_RATE = 16000  # "Audio input requires PCM 16-bit, 16kHz" (seed 003)
OUTPUT_RATE = 24000  # Gemini's pcm16 output rate, stated in every `audio` message

# Keys ai-proxy-core's later servers read from `config.data` to label a client; accepted and ignored.
CLIENT_CONTEXT_KEYS = ("app", "client_id", "device", "user_id", "session_id", "request_id")


class GenerationConfig(BaseModel):
    """`config.data.generation_config`, Gemini's names (snake_case as the seed writes them)."""

    model_config = STRICT
    temperature: Annotated[float, Field(ge=0.0, le=2.0)] | None = None  # Gemini's range
    max_output_tokens: Annotated[int, Field(ge=1)] | None = None
    response_modalities: list[Literal["TEXT", "AUDIO", "text", "audio"]] | None = None


class ConfigData(BaseModel):
    """`config.data`: the model (an alias, or a Gemini model id), generation settings and a voice."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    model: str | None = None
    generation_config: GenerationConfig | None = None
    voice: str | None = None
    app: Any = None
    client_id: Any = None
    device: Any = None
    user_id: Any = None
    session_id: Any = None
    request_id: Any = None


class ConfigMessage(BaseModel):
    model_config = STRICT
    type: Literal["config"]
    data: ConfigData = ConfigData()


class MessageData(BaseModel):
    model_config = STRICT
    text: str


class TextMessage(BaseModel):
    """`{"type": "message", "data": {"text": …}}` (ai-proxy-core also takes `data` as the text itself)."""

    model_config = STRICT
    type: Literal["message"]
    data: MessageData | str


class TextAlternative(BaseModel):
    """The alternative form `{"type": "text", "text": …}`."""

    model_config = STRICT
    type: Literal["text"]
    text: str


class AudioMessage(BaseModel):
    """`{"type": "audio", "data": <base64 pcm16 16 kHz mono>}`; the gateway checks it field by field (hot path)."""

    model_config = STRICT
    type: Literal["audio"]
    data: str


ClientMessage = Annotated[ConfigMessage | TextMessage | TextAlternative | AudioMessage, Field(discriminator="type")]
CLIENT_TYPES = ("config", "message", "text", "audio")
_CLIENT = TypeAdapter(ClientMessage)
_AUDIO_KEYS = frozenset({"type", "data"})


def parse_simple(raw: str | bytes) -> dict[str, Any]:
    """One client frame, checked; raises `ClientProtocolError` whose message says what was wrong."""
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ClientProtocolError("invalid_json", "Every message must be one JSON object.") from None
    if not isinstance(message, dict):
        raise ClientProtocolError("invalid_json", "Every message must be one JSON object.")
    kind = message.get("type")
    if kind == "audio":  # the hot path: direct checks, `AudioMessage` stays the shape's one definition
        data = message.get("data")
        if not isinstance(data, str) or not message.keys() <= _AUDIO_KEYS:
            raise ClientProtocolError("invalid_value", "An audio message is {type: 'audio', data: <base64 pcm16>}.")
        try:
            binascii.a2b_base64(data, strict_mode=True)
        except binascii.Error:
            raise ClientProtocolError("invalid_value", "audio.data is not valid base64.") from None
        return message
    if kind not in CLIENT_TYPES:
        raise ClientProtocolError(
            "invalid_value", f"Unknown message type {kind!r}; send one of: {', '.join(CLIENT_TYPES)}."
        )
    try:
        _CLIENT.validate_python(message)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"][1:])
        what = "unknown field" if error["type"] == "extra_forbidden" else error["msg"]
        raise ClientProtocolError("invalid_value", f"{kind} message: {where}: {what}.") from None
    return message


# --- server → client ------------------------------------------------------------------------------------


class SystemMessage(BaseModel):
    model_config = STRICT
    type: Literal["system"] = "system"
    data: str


class ConfigSuccess(BaseModel):
    model_config = STRICT
    type: Literal["config_success"] = "config_success"
    message: str = "Configuration acknowledged"
    model: str  # the alias the session runs on (an addition; ai-proxy-core adds its own fields here too)


class ResponseText(BaseModel):
    model_config = STRICT
    type: Literal["response"] = "response"
    text: str


class AudioOut(BaseModel):
    model_config = STRICT
    type: Literal["audio"] = "audio"
    data: str
    format: Literal["pcm16"] = "pcm16"
    sampleRate: Literal[24000] = 24000  # OUTPUT_RATE; the wire name


class ErrorMessage(BaseModel):
    model_config = STRICT
    type: Literal["error"] = "error"
    data: str


ServerMessage = Annotated[
    SystemMessage | ConfigSuccess | ResponseText | AudioOut | ErrorMessage, Field(discriminator="type")
]
