"""OpenAI Realtime client → server events (§2.1) and session configs (§5.1), GA and beta.

Re-exported from `schemas.openai`, which owns the edge validator `parse_client_event`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from schemas.frame_checks import is_base64
from schemas.openai_items import (
    BetaInputItem,
    BetaItem,
    GaClientItem,
    GaInputItem,
)
from schemas.openai_shared import (
    NOT_NULL_ARRAY,
    NOT_NULL_STRING,
    STRICT,
    Audio,
    AudioInput,
    BetaAudioFormat,
    BetaFunctionTool,
    BetaNoiseReduction,
    BetaToolChoice,
    BetaTranscription,
    BetaTurnDetection,
    Dialect,
    Index,
    MaxTokens,
    Milliseconds,
    Modality,
    Prompt,
    Reasoning,
    ResponseAudio,
    Speed,
    Tool,
    ToolChoice,
    Tracing,
    Truncation,
)

Temperature = Annotated[float, Field(ge=0.6, le=1.2)]  # beta only; GA has no temperature (§5.1, §8.11)
Include = list[Literal["item.input_audio_transcription.logprobs"]]

# --- session configs ------------------------------------------------------------------------------------


class RealtimeSessionConfig(BaseModel):
    """GA `session.update.session` for a conversation; only the fields present change (§5.1)."""

    model_config = STRICT
    type: Literal["realtime"]
    model: str | None = None  # Agents SDKs always send it, even one unlike the URL's (§8.3)
    instructions: str | None = None
    output_modalities: Annotated[list[Modality] | None, NOT_NULL_ARRAY] = None
    audio: Audio | None = None
    tools: Annotated[list[Tool] | None, NOT_NULL_ARRAY] = None
    tool_choice: ToolChoice | None = None
    max_output_tokens: MaxTokens | None = None
    tracing: Tracing | None = None
    truncation: Truncation | None = None
    prompt: Prompt | None = None
    include: Include | None = None
    parallel_tool_calls: bool | None = None
    reasoning: Reasoning | None = None


class TranscriptionAudio(BaseModel):
    model_config = STRICT
    input: AudioInput | None = None


class TranscriptionSessionConfig(BaseModel):
    """GA `session.update.session` for a transcription-only session (§3.8)."""

    model_config = STRICT
    type: Literal["transcription"]
    audio: TranscriptionAudio | None = None
    include: Include | None = None


GaSessionConfig = Annotated[RealtimeSessionConfig | TranscriptionSessionConfig, Field(discriminator="type")]


class BetaExpiresAfter(BaseModel):
    model_config = STRICT
    anchor: Literal["created_at"]
    seconds: int | None = None


class BetaClientSecretConfig(BaseModel):
    model_config = STRICT
    expires_after: BetaExpiresAfter | None = None


class BetaSessionConfig(BaseModel):
    """Beta `session.update.session`: the flat shape, no `type` (§5.1)."""

    model_config = STRICT
    model: str | None = None
    instructions: str | None = None
    modalities: Annotated[list[Modality] | None, NOT_NULL_ARRAY] = None
    voice: str | None = None
    speed: Speed | None = None
    input_audio_format: Annotated[BetaAudioFormat | None, NOT_NULL_STRING] = None
    output_audio_format: Annotated[BetaAudioFormat | None, NOT_NULL_STRING] = None
    input_audio_transcription: BetaTranscription | None = None
    input_audio_noise_reduction: BetaNoiseReduction | None = None
    turn_detection: BetaTurnDetection | None = None
    tools: Annotated[list[BetaFunctionTool] | None, NOT_NULL_ARRAY] = None
    tool_choice: BetaToolChoice | None = None
    temperature: Temperature | None = None
    max_response_output_tokens: MaxTokens | None = None
    tracing: Tracing | None = None
    include: list[str] | None = None
    client_secret: BetaClientSecretConfig | None = None


class BetaExpiresAt(BaseModel):
    model_config = STRICT
    anchor: Literal["created_at"] | None = None
    seconds: int | None = None


class BetaTranscriptionClientSecretConfig(BaseModel):
    model_config = STRICT
    expires_at: BetaExpiresAt | None = None


class BetaTranscriptionSessionConfig(BaseModel):
    """Beta `transcription_session.update.session` (§2.1)."""

    model_config = STRICT
    modalities: list[Modality] | None = None
    input_audio_format: BetaAudioFormat | None = None
    input_audio_transcription: BetaTranscription | None = None
    input_audio_noise_reduction: BetaNoiseReduction | None = None
    turn_detection: BetaTurnDetection | None = None
    include: list[str] | None = None
    client_secret: BetaTranscriptionClientSecretConfig | None = None


# --- per-response overrides (§5.1) ----------------------------------------------------------------------


class ResponseParams(BaseModel):
    """GA `response.create.response`: applies to this response only."""

    model_config = STRICT
    output_modalities: list[Modality] | None = None
    instructions: str | None = None
    audio: ResponseAudio | None = None
    tools: Annotated[list[Tool] | None, NOT_NULL_ARRAY] = None
    tool_choice: ToolChoice | None = None
    max_output_tokens: MaxTokens | None = None
    conversation: str | None = None  # "auto" | "none" (out-of-band) | a conversation id
    metadata: dict[str, Any] | None = None
    input: list[GaInputItem] | None = None
    prompt: Prompt | None = None
    parallel_tool_calls: bool | None = None
    reasoning: Reasoning | None = None


class BetaResponseParams(BaseModel):
    """Beta `response.create.response`."""

    model_config = STRICT
    modalities: list[Modality] | None = None
    instructions: str | None = None
    voice: str | None = None
    output_audio_format: Annotated[BetaAudioFormat | None, NOT_NULL_STRING] = None
    tools: Annotated[list[BetaFunctionTool] | None, NOT_NULL_ARRAY] = None
    tool_choice: BetaToolChoice | None = None
    temperature: Temperature | None = None
    max_response_output_tokens: MaxTokens | None = None
    conversation: str | None = None
    metadata: dict[str, Any] | None = None
    input: list[BetaInputItem] | None = None


# --- the events -----------------------------------------------------------------------------------------


class _ClientEvent(BaseModel):
    """Fields every client event shares: an optional client-chosen `event_id` (§2)."""

    model_config = STRICT
    event_id: str | None = None


class SessionUpdateEvent(_ClientEvent):
    type: Literal["session.update"]
    session: GaSessionConfig


class BetaSessionUpdateEvent(_ClientEvent):
    type: Literal["session.update"]
    session: BetaSessionConfig


class BetaTranscriptionSessionUpdateEvent(_ClientEvent):
    type: Literal["transcription_session.update"]
    session: BetaTranscriptionSessionConfig


def _decodable(audio: str) -> str:
    """Gemini closes the whole session on audio it cannot decode (issue #16 item 11)."""
    if not is_base64(audio):
        raise ValueError("audio must be base64")
    return audio


class InputAudioBufferAppendEvent(_ClientEvent):
    """The one shape `parse_client_event`'s fast path checks by hand (STYLE.md §3)."""

    type: Literal["input_audio_buffer.append"]
    audio: Annotated[str, AfterValidator(_decodable)]  # base64 in the session's input format


class InputAudioBufferCommitEvent(_ClientEvent):
    type: Literal["input_audio_buffer.commit"]


class InputAudioBufferClearEvent(_ClientEvent):
    type: Literal["input_audio_buffer.clear"]


class ConversationItemCreateEvent(_ClientEvent):
    type: Literal["conversation.item.create"]
    item: GaClientItem
    previous_item_id: str | None = None  # absent/null/"" append, "root" prepends (§2.1, §8.9)


class BetaConversationItemCreateEvent(_ClientEvent):
    type: Literal["conversation.item.create"]
    item: BetaItem
    previous_item_id: str | None = None


class ConversationItemTruncateEvent(_ClientEvent):
    type: Literal["conversation.item.truncate"]
    item_id: str
    content_index: Index
    audio_end_ms: Milliseconds


class ConversationItemDeleteEvent(_ClientEvent):
    type: Literal["conversation.item.delete"]
    item_id: str


class ConversationItemRetrieveEvent(_ClientEvent):
    type: Literal["conversation.item.retrieve"]
    item_id: str


class ResponseCreateEvent(_ClientEvent):
    type: Literal["response.create"]
    response: ResponseParams | None = None


class BetaResponseCreateEvent(_ClientEvent):
    type: Literal["response.create"]
    response: BetaResponseParams | None = None


class ResponseCancelEvent(_ClientEvent):
    type: Literal["response.cancel"]
    response_id: str | None = None


class OutputAudioBufferClearEvent(_ClientEvent):
    """WebRTC/SIP only; accepted here so the translator can answer it with an `error` (§8.13)."""

    type: Literal["output_audio_buffer.clear"]


class SessionCloseEvent(_ClientEvent):
    """Graceful close; in the live GA server's accepted list though not in the SDK unions (§2.1)."""

    type: Literal["session.close"]


# Accepted types in the order the live GA server lists them in its `invalid_value` message (§2.1), then ours.
_SHARED: dict[str, type[BaseModel]] = {
    "session.close": SessionCloseEvent,
    "input_audio_buffer.append": InputAudioBufferAppendEvent,
    "input_audio_buffer.commit": InputAudioBufferCommitEvent,
    "input_audio_buffer.clear": InputAudioBufferClearEvent,
}
_SHARED_TAIL: dict[str, type[BaseModel]] = {
    "conversation.item.truncate": ConversationItemTruncateEvent,
    "conversation.item.delete": ConversationItemDeleteEvent,
    "conversation.item.retrieve": ConversationItemRetrieveEvent,
}
CLIENT_MODELS: dict[Dialect, dict[str, type[BaseModel]]] = {
    Dialect.GA: {
        "session.update": SessionUpdateEvent,
        **_SHARED,
        "conversation.item.create": ConversationItemCreateEvent,
        **_SHARED_TAIL,
        "response.create": ResponseCreateEvent,
        "response.cancel": ResponseCancelEvent,
        "output_audio_buffer.clear": OutputAudioBufferClearEvent,
    },
    Dialect.BETA: {
        "session.update": BetaSessionUpdateEvent,
        "transcription_session.update": BetaTranscriptionSessionUpdateEvent,
        **_SHARED,
        "conversation.item.create": BetaConversationItemCreateEvent,
        **_SHARED_TAIL,
        "response.create": BetaResponseCreateEvent,
        "response.cancel": ResponseCancelEvent,
        "output_audio_buffer.clear": OutputAudioBufferClearEvent,
    },
}
CLIENT_EVENT_TYPES: dict[Dialect, frozenset[str]] = {d: frozenset(m) for d, m in CLIENT_MODELS.items()}

GaClientEvent = Annotated[
    SessionUpdateEvent
    | SessionCloseEvent
    | InputAudioBufferAppendEvent
    | InputAudioBufferCommitEvent
    | InputAudioBufferClearEvent
    | ConversationItemCreateEvent
    | ConversationItemTruncateEvent
    | ConversationItemDeleteEvent
    | ConversationItemRetrieveEvent
    | ResponseCreateEvent
    | ResponseCancelEvent
    | OutputAudioBufferClearEvent,
    Field(discriminator="type"),
]
BetaClientEvent = Annotated[
    BetaSessionUpdateEvent
    | BetaTranscriptionSessionUpdateEvent
    | SessionCloseEvent
    | InputAudioBufferAppendEvent
    | InputAudioBufferCommitEvent
    | InputAudioBufferClearEvent
    | BetaConversationItemCreateEvent
    | ConversationItemTruncateEvent
    | ConversationItemDeleteEvent
    | ConversationItemRetrieveEvent
    | BetaResponseCreateEvent
    | ResponseCancelEvent
    | OutputAudioBufferClearEvent,
    Field(discriminator="type"),
]
