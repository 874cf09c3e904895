"""OpenAI Realtime server → client events the gateway may emit, GA (§2.2) and beta (§2.3).

Strict on purpose: they check our own output, so an unknown field is a bug. Re-exported from `schemas.openai`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, Field

from schemas.openai_client import (
    BetaSessionConfig,
    RealtimeSessionConfig,
    TranscriptionSessionConfig,
)
from schemas.openai_items import (
    BetaItem,
    BetaUsage,
    GaServerItem,
    TranscriptionUsage,
    Usage,
)
from schemas.openai_shared import (
    STRICT,
    BetaAudioFormat,
    BetaNoiseReduction,
    BetaTranscription,
    BetaTurnDetection,
    Dialect,
    Index,
    MaxTokens,
    Milliseconds,
    Modality,
    ResponseAudio,
)

# --- sessions (§3.1, §3.8) ------------------------------------------------------------------------------


class RealtimeSession(RealtimeSessionConfig):
    """GA `session.created/updated.session` of a conversation: the full effective config plus identity."""

    object: Literal["realtime.session"]
    id: str
    expires_at: int | None = None


class TranscriptionSession(TranscriptionSessionConfig):
    object: Literal["realtime.transcription_session"]
    id: str
    expires_at: int | None = None


GaSession = Annotated[RealtimeSession | TranscriptionSession, Field(discriminator="type")]


class BetaSession(BetaSessionConfig):
    """Beta `session.created/updated.session`: flat config plus identity (§3.1)."""

    object: Literal["realtime.session"]
    id: str
    expires_at: int | None = None


class BetaTranscriptionClientSecret(BaseModel):
    model_config = STRICT
    value: str
    expires_at: int


class BetaTranscriptionSession(BaseModel):
    """Beta `transcription_session.created/updated.session`; the SDK type requires `client_secret`."""

    model_config = STRICT
    client_secret: BetaTranscriptionClientSecret
    id: str | None = None
    object: str | None = None
    expires_at: int | None = None
    modalities: list[Modality] | None = None
    input_audio_format: BetaAudioFormat | None = None
    input_audio_transcription: BetaTranscription | None = None
    input_audio_noise_reduction: BetaNoiseReduction | None = None
    turn_detection: BetaTurnDetection | None = None
    include: list[str] | None = None


# --- responses (§3.2, §3.3, §3.5) -----------------------------------------------------------------------

ResponseStatus = Literal["completed", "cancelled", "failed", "incomplete", "in_progress"]


class StatusError(BaseModel):
    model_config = STRICT
    type: str | None = None
    code: str | None = None
    message: str | None = None


class StatusDetails(BaseModel):
    model_config = STRICT
    type: Literal["completed", "cancelled", "incomplete", "failed"] | None = None
    reason: Literal["turn_detected", "client_cancelled", "max_output_tokens", "content_filter"] | None = None
    error: StatusError | None = None


class Response(BaseModel):
    """GA response object. The SDK makes every field optional; we require the three clients key on."""

    model_config = STRICT
    object: Literal["realtime.response"]
    id: str
    status: ResponseStatus
    status_details: StatusDetails | None = None
    output: list[GaServerItem] | None = None
    conversation_id: str | None = None
    output_modalities: list[Modality] | None = None
    max_output_tokens: MaxTokens | None = None
    audio: ResponseAudio | None = None
    usage: Usage | None = None  # null on response.created (§6)
    metadata: dict[str, Any] | None = None


class BetaResponse(BaseModel):
    """Beta response object: `modalities`, `voice`, `output_audio_format`, `temperature` (§3.3)."""

    model_config = STRICT
    object: Literal["realtime.response"]
    id: str
    status: ResponseStatus
    status_details: StatusDetails | None = None
    output: list[BetaItem] | None = None
    conversation_id: str | None = None
    modalities: list[Modality] | None = None
    voice: str | None = None
    output_audio_format: BetaAudioFormat | None = None
    temperature: float | None = None
    max_output_tokens: MaxTokens | None = None  # this name even in beta (§3.3)
    usage: BetaUsage | None = None
    metadata: dict[str, Any] | None = None


# --- events: every one has `type` and a string `event_id` (§2, §8.1) ------------------------------------


class _ServerEvent(BaseModel):
    model_config = STRICT
    event_id: str


class ErrorDetail(BaseModel):
    model_config = STRICT
    type: str
    message: str
    code: str | None = None
    param: str | None = None
    event_id: str | None = None  # the client's event_id, echoed (§4.3)


class ErrorEvent(_ServerEvent):
    type: Literal["error"]
    error: ErrorDetail


class SessionCreatedEvent(_ServerEvent):
    type: Literal["session.created"]
    session: GaSession


class SessionUpdatedEvent(_ServerEvent):
    type: Literal["session.updated"]
    session: GaSession


class BetaSessionCreatedEvent(_ServerEvent):
    type: Literal["session.created"]
    session: BetaSession


class BetaSessionUpdatedEvent(_ServerEvent):
    type: Literal["session.updated"]
    session: BetaSession


class BetaTranscriptionSessionCreatedEvent(_ServerEvent):
    type: Literal["transcription_session.created"]
    session: BetaTranscriptionSession


class BetaTranscriptionSessionUpdatedEvent(_ServerEvent):
    type: Literal["transcription_session.updated"]
    session: BetaTranscriptionSession


class ConversationItemAddedEvent(_ServerEvent):
    type: Literal["conversation.item.added"]
    item: GaServerItem
    previous_item_id: str | None = None


class ConversationItemDoneEvent(_ServerEvent):
    type: Literal["conversation.item.done"]
    item: GaServerItem
    previous_item_id: str | None = None


class ConversationItemCreatedEvent(_ServerEvent):
    """GA legacy name, still in the GA SDK union; the live GA server sends added/done instead (§2.2)."""

    type: Literal["conversation.item.created"]
    item: GaServerItem
    previous_item_id: str | None = None


class BetaConversationItemCreatedEvent(_ServerEvent):
    type: Literal["conversation.item.created"]
    item: BetaItem
    previous_item_id: str | None = None


class ConversationItemRetrievedEvent(_ServerEvent):
    type: Literal["conversation.item.retrieved"]
    item: GaServerItem


class BetaConversationItemRetrievedEvent(_ServerEvent):
    type: Literal["conversation.item.retrieved"]
    item: BetaItem


class ConversationItemDeletedEvent(_ServerEvent):
    type: Literal["conversation.item.deleted"]
    item_id: str


class ConversationItemTruncatedEvent(_ServerEvent):
    type: Literal["conversation.item.truncated"]
    item_id: str
    content_index: Index
    audio_end_ms: Milliseconds


class Logprob(BaseModel):
    model_config = STRICT
    token: str
    bytes: list[int]
    logprob: float


class TranscriptionLanguage(BaseModel):
    model_config = STRICT
    code: str


class InputAudioTranscriptionDeltaEvent(_ServerEvent):
    type: Literal["conversation.item.input_audio_transcription.delta"]
    item_id: str
    content_index: Index | None = None
    delta: str | None = None
    logprobs: list[Logprob] | None = None


class InputAudioTranscriptionCompletedEvent(_ServerEvent):
    """`usage` is required (§2.2, §8.1)."""

    type: Literal["conversation.item.input_audio_transcription.completed"]
    item_id: str
    content_index: Index
    transcript: str
    usage: TranscriptionUsage
    logprobs: list[Logprob] | None = None
    languages: list[TranscriptionLanguage] | None = None


class TranscriptionError(BaseModel):
    model_config = STRICT
    type: str | None = None
    code: str | None = None
    message: str | None = None
    param: str | None = None


class InputAudioTranscriptionFailedEvent(_ServerEvent):
    type: Literal["conversation.item.input_audio_transcription.failed"]
    item_id: str
    content_index: Index
    error: TranscriptionError


class InputAudioBufferCommittedEvent(_ServerEvent):
    type: Literal["input_audio_buffer.committed"]
    item_id: str
    previous_item_id: str | None = None


class InputAudioBufferClearedEvent(_ServerEvent):
    type: Literal["input_audio_buffer.cleared"]


class InputAudioBufferSpeechStartedEvent(_ServerEvent):
    type: Literal["input_audio_buffer.speech_started"]
    audio_start_ms: Milliseconds
    item_id: str  # the id the user item will get (§3.4)


class InputAudioBufferSpeechStoppedEvent(_ServerEvent):
    type: Literal["input_audio_buffer.speech_stopped"]
    audio_end_ms: Milliseconds
    item_id: str


class InputAudioBufferTimeoutTriggeredEvent(_ServerEvent):
    type: Literal["input_audio_buffer.timeout_triggered"]
    audio_start_ms: Milliseconds
    audio_end_ms: Milliseconds
    item_id: str


class ResponseCreatedEvent(_ServerEvent):
    type: Literal["response.created"]
    response: Response


class ResponseDoneEvent(_ServerEvent):
    type: Literal["response.done"]
    response: Response


class BetaResponseCreatedEvent(_ServerEvent):
    type: Literal["response.created"]
    response: BetaResponse


class BetaResponseDoneEvent(_ServerEvent):
    type: Literal["response.done"]
    response: BetaResponse


class _OutputItemEvent(BaseModel):
    model_config = STRICT
    event_id: str
    response_id: str
    output_index: Index


class ResponseOutputItemAddedEvent(_OutputItemEvent):
    type: Literal["response.output_item.added"]
    item: GaServerItem


class ResponseOutputItemDoneEvent(_OutputItemEvent):
    type: Literal["response.output_item.done"]
    item: GaServerItem


class BetaResponseOutputItemAddedEvent(_OutputItemEvent):
    type: Literal["response.output_item.added"]
    item: BetaItem


class BetaResponseOutputItemDoneEvent(_OutputItemEvent):
    type: Literal["response.output_item.done"]
    item: BetaItem


class ContentPart(BaseModel):
    """`part` of content_part events: `text`/`audio` in BOTH dialects, never `output_*` (§2.3, §8.2)."""

    model_config = STRICT
    type: Literal["text", "audio"]
    text: str | None = None
    audio: str | None = None
    transcript: str | None = None


class _PartEvent(BaseModel):
    """The coordinates every content-part event carries (§2.2)."""

    model_config = STRICT
    event_id: str
    response_id: str
    item_id: str
    output_index: Index
    content_index: Index


class ResponseContentPartAddedEvent(_PartEvent):
    type: Literal["response.content_part.added"]
    part: ContentPart


class ResponseContentPartDoneEvent(_PartEvent):
    type: Literal["response.content_part.done"]
    part: ContentPart


class ResponseOutputTextDeltaEvent(_PartEvent):
    type: Literal["response.output_text.delta"]
    delta: str


class ResponseOutputTextDoneEvent(_PartEvent):
    type: Literal["response.output_text.done"]
    text: str


class ResponseOutputAudioDeltaEvent(_PartEvent):
    type: Literal["response.output_audio.delta"]
    delta: str  # base64 audio in the session's output format


class ResponseOutputAudioDoneEvent(_PartEvent):
    type: Literal["response.output_audio.done"]


class ResponseOutputAudioTranscriptDeltaEvent(_PartEvent):
    type: Literal["response.output_audio_transcript.delta"]
    delta: str


class ResponseOutputAudioTranscriptDoneEvent(_PartEvent):
    type: Literal["response.output_audio_transcript.done"]
    transcript: str


class BetaResponseTextDeltaEvent(_PartEvent):
    type: Literal["response.text.delta"]
    delta: str


class BetaResponseTextDoneEvent(_PartEvent):
    type: Literal["response.text.done"]
    text: str


class BetaResponseAudioDeltaEvent(_PartEvent):
    type: Literal["response.audio.delta"]
    delta: str


class BetaResponseAudioDoneEvent(_PartEvent):
    type: Literal["response.audio.done"]


class BetaResponseAudioTranscriptDeltaEvent(_PartEvent):
    type: Literal["response.audio_transcript.delta"]
    delta: str


class BetaResponseAudioTranscriptDoneEvent(_PartEvent):
    type: Literal["response.audio_transcript.done"]
    transcript: str


class _CallEvent(BaseModel):
    model_config = STRICT
    event_id: str
    response_id: str
    item_id: str
    output_index: Index
    call_id: str


class ResponseFunctionCallArgumentsDeltaEvent(_CallEvent):
    type: Literal["response.function_call_arguments.delta"]
    delta: str


class ResponseFunctionCallArgumentsDoneEvent(_CallEvent):
    """GA requires `name` (§2.2, §8.1)."""

    type: Literal["response.function_call_arguments.done"]
    name: str
    arguments: str


class BetaResponseFunctionCallArgumentsDoneEvent(_CallEvent):
    """Beta had no `name`; sending it anyway is harmless and helps clients (§2.3)."""

    type: Literal["response.function_call_arguments.done"]
    arguments: str
    name: str | None = None


class RateLimit(BaseModel):
    model_config = STRICT
    name: Literal["requests", "tokens"] | None = None
    limit: int | None = None
    remaining: int | None = None
    reset_seconds: float | None = None


class RateLimitsUpdatedEvent(_ServerEvent):
    type: Literal["rate_limits.updated"]
    rate_limits: list[RateLimit]


class _OutputAudioBufferEvent(_ServerEvent):
    """WebRTC/SIP only (OPENAI_REALTIME.md §2.2): the server-side playback buffer of the call's audio track."""

    response_id: str


class OutputAudioBufferStartedEvent(_OutputAudioBufferEvent):
    type: Literal["output_audio_buffer.started"]


class OutputAudioBufferStoppedEvent(_OutputAudioBufferEvent):
    type: Literal["output_audio_buffer.stopped"]


class OutputAudioBufferClearedEvent(_OutputAudioBufferEvent):
    type: Literal["output_audio_buffer.cleared"]


# --- tables ---------------------------------------------------------------------------------------------

_SHARED: tuple[type[BaseModel], ...] = (
    ErrorEvent,
    ConversationItemDeletedEvent,
    ConversationItemTruncatedEvent,
    InputAudioTranscriptionDeltaEvent,
    InputAudioTranscriptionCompletedEvent,
    InputAudioTranscriptionFailedEvent,
    InputAudioBufferCommittedEvent,
    InputAudioBufferClearedEvent,
    InputAudioBufferSpeechStartedEvent,
    InputAudioBufferSpeechStoppedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    RateLimitsUpdatedEvent,
    OutputAudioBufferStartedEvent,
    OutputAudioBufferStoppedEvent,
    OutputAudioBufferClearedEvent,
)
_GA_ONLY: tuple[type[BaseModel], ...] = (
    SessionCreatedEvent,
    SessionUpdatedEvent,
    ConversationItemAddedEvent,
    ConversationItemDoneEvent,
    ConversationItemCreatedEvent,
    ConversationItemRetrievedEvent,
    InputAudioBufferTimeoutTriggeredEvent,
    ResponseCreatedEvent,
    ResponseDoneEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputTextDeltaEvent,
    ResponseOutputTextDoneEvent,
    ResponseOutputAudioDeltaEvent,
    ResponseOutputAudioDoneEvent,
    ResponseOutputAudioTranscriptDeltaEvent,
    ResponseOutputAudioTranscriptDoneEvent,
    ResponseFunctionCallArgumentsDoneEvent,
)
_BETA_ONLY: tuple[type[BaseModel], ...] = (
    BetaSessionCreatedEvent,
    BetaSessionUpdatedEvent,
    BetaTranscriptionSessionCreatedEvent,
    BetaTranscriptionSessionUpdatedEvent,
    BetaConversationItemCreatedEvent,
    BetaConversationItemRetrievedEvent,
    BetaResponseCreatedEvent,
    BetaResponseDoneEvent,
    BetaResponseOutputItemAddedEvent,
    BetaResponseOutputItemDoneEvent,
    BetaResponseTextDeltaEvent,
    BetaResponseTextDoneEvent,
    BetaResponseAudioDeltaEvent,
    BetaResponseAudioDoneEvent,
    BetaResponseAudioTranscriptDeltaEvent,
    BetaResponseAudioTranscriptDoneEvent,
    BetaResponseFunctionCallArgumentsDoneEvent,
)


def _by_type(models: tuple[type[BaseModel], ...]) -> dict[str, type[BaseModel]]:
    """Key each model by its `type` literal (the wire name is spelled once, in the model)."""
    table: dict[str, type[BaseModel]] = {}
    for model in models:
        (name,) = get_args(model.model_fields["type"].annotation)
        table[name] = model
    return table


SERVER_MODELS: dict[Dialect, dict[str, type[BaseModel]]] = {
    Dialect.GA: _by_type(_SHARED + _GA_ONLY),
    Dialect.BETA: _by_type(_SHARED + _BETA_ONLY),
}
SERVER_EVENT_TYPES: dict[Dialect, frozenset[str]] = {d: frozenset(m) for d, m in SERVER_MODELS.items()}
