"""Every Gemini Live (BidiGenerateContent) message shape, spelled once (GEMINI_LIVE.md §2-§4).

Client messages accept camelCase and snake_case (proto3 JSON) and forbid unknown fields; server messages
are built from the same frozen models and always serialise to camelCase.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, ClassVar, Literal, TypeAlias

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Strict,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel, to_snake
from pydantic_core import ErrorDetails, PydanticCustomError

MAX_REASON_BYTES = 123  # a close reason longer than this breaks Python websockets (§2)
_INVALID_JSON = "Invalid JSON payload received."  # how Google's JSON parser opens its 1007 reasons


class GeminiProtocolError(Exception):
    """A message Gemini would refuse: the server closes with `code` and the (truncated) `reason`."""

    def __init__(self, *, code: int = 1007, reason: str) -> None:
        self.code = code  # WebSocket close code (1007 invalid argument, 1008 not found / policy)
        self.reason = truncate_reason(reason)  # at most 123 UTF-8 bytes, cut like Google does
        super().__init__(f"{code} {self.reason}")


def truncate_reason(text: str) -> str:
    """Cut a close reason to 123 UTF-8 bytes without splitting a character (§2, §5.1)."""
    return text.encode()[:MAX_REASON_BYTES].decode("utf-8", errors="ignore")


# --- scalar types -------------------------------------------------------------------------------


def _check_base64(value: str) -> str:
    # proto3 JSON bytes: standard or URL-safe alphabet, padding optional (§2; the SDK sends URL-safe).
    text = value.replace("-", "+").replace("_", "/")
    try:
        base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise PydanticCustomError("base64", "Base64 decoding failed") from None
    return value


def _upper(value: Any) -> Any:
    # Google's docs spell thinking levels in lowercase ("minimal"); the enum names are uppercase (§3.1).
    return value.upper() if isinstance(value, str) else value


Bool = Annotated[bool, Strict()]  # proto3 JSON booleans are true/false only, never "yes" or 1
Base64Str = Annotated[str, AfterValidator(_check_base64)]
Struct: TypeAlias = dict[str, Any]  # google.protobuf.Struct: free-form JSON, keys never re-cased (§2)

# The 30 prebuilt voices (§6); matched case-insensitively by the emulator.
PREBUILT_VOICES: tuple[str, ...] = (
    "Zephyr", "Puck", "Charon", "Kore", "Fenrir", "Leda", "Orus", "Aoede", "Callirrhoe", "Autonoe",
    "Enceladus", "Iapetus", "Umbriel", "Algieba", "Despina", "Erinome", "Algenib", "Rasalgethi", "Laomedeia",
    "Achernar", "Alnilam", "Schedar", "Gacrux", "Pulcherrima", "Achird", "Zubenelgenubi", "Vindemiatrix",
    "Sadachbia", "Sadaltager", "Sulafat",
)  # fmt: skip
OUTPUT_AUDIO_MIME = "audio/pcm;rate=24000"  # Live output audio: PCM16 LE mono 24 kHz (§5)

Modality = Literal["MODALITY_UNSPECIFIED", "TEXT", "IMAGE", "AUDIO", "VIDEO"]
MediaModality = Literal["MODALITY_UNSPECIFIED", "TEXT", "IMAGE", "VIDEO", "AUDIO", "DOCUMENT"]
ThinkingLevel = Annotated[
    Literal["THINKING_LEVEL_UNSPECIFIED", "MINIMAL", "LOW", "MEDIUM", "HIGH", "XHIGH"],
    BeforeValidator(_upper),
]
MediaResolution = Literal[
    "MEDIA_RESOLUTION_UNSPECIFIED", "MEDIA_RESOLUTION_LOW", "MEDIA_RESOLUTION_MEDIUM", "MEDIA_RESOLUTION_HIGH"
]
StartSensitivity = Literal["START_SENSITIVITY_UNSPECIFIED", "START_SENSITIVITY_HIGH", "START_SENSITIVITY_LOW"]
EndSensitivity = Literal["END_SENSITIVITY_UNSPECIFIED", "END_SENSITIVITY_HIGH", "END_SENSITIVITY_LOW"]
ActivityHandling = Literal["ACTIVITY_HANDLING_UNSPECIFIED", "START_OF_ACTIVITY_INTERRUPTS", "NO_INTERRUPTION"]
TurnCoverage = Literal[
    "TURN_COVERAGE_UNSPECIFIED",
    "TURN_INCLUDES_ONLY_ACTIVITY",
    "TURN_INCLUDES_ALL_INPUT",
    "TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO",
]
Behavior = Literal["UNSPECIFIED", "BLOCKING", "NON_BLOCKING"]
Scheduling = Literal["SCHEDULING_UNSPECIFIED", "SILENT", "WHEN_IDLE", "INTERRUPT"]
TrafficType = Literal[
    "TRAFFIC_TYPE_UNSPECIFIED", "ON_DEMAND", "ON_DEMAND_PRIORITY", "ON_DEMAND_FLEX", "PROVISIONED_THROUGHPUT"
]


class WireModel(BaseModel):
    """Frozen, unknown fields forbidden, camelCase or snake_case in, camelCase out."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """The camelCase JSON object Gemini would send (unset fields left out)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class Empty(WireModel):
    """A message with no fields (`activityStart`, `googleSearch`, `codeExecution`, …)."""


def _one_of(model: BaseModel, group: str, names: tuple[str, ...]) -> None:
    """Refuse a second member of a proto `oneof`, in Google's words."""
    seen = [name for name in names if getattr(model, name) is not None]
    if len(seen) > 1:
        message = "Oneof field '{group}' is already set. Cannot set '{name}'"
        raise PydanticCustomError("oneof", message, {"group": group, "name": to_camel(seen[1])})


# --- content ------------------------------------------------------------------------------------


class Blob(WireModel):
    mime_type: str | None = None
    data: Base64Str = ""
    display_name: str | None = None  # Vertex only

    def raw(self) -> bytes:
        """The decoded payload (either base64 alphabet)."""
        text = self.data.replace("-", "+").replace("_", "/")
        return base64.b64decode(text + "=" * (-len(text) % 4))


class FileData(WireModel):
    mime_type: str | None = None
    file_uri: str
    display_name: str | None = None


class FunctionCall(WireModel):
    id: str | None = None
    name: str
    args: Struct | None = None


class FunctionResponsePart(WireModel):
    inline_data: Blob | None = None
    file_data: FileData | None = None


class FunctionResponse(WireModel):
    id: str | None = None  # required on the Developer API, optional on Vertex (§3.4, §8)
    name: str | None = None
    response: Struct | None = None
    will_continue: Bool | None = None  # Developer only
    scheduling: Scheduling | None = None
    parts: list[FunctionResponsePart] | None = None


class ExecutableCode(WireModel):
    language: Literal["LANGUAGE_UNSPECIFIED", "PYTHON"] | None = None
    code: str | None = None
    id: str | None = None


class CodeExecutionResult(WireModel):
    outcome: (
        Literal["OUTCOME_UNSPECIFIED", "OUTCOME_OK", "OUTCOME_FAILED", "OUTCOME_DEADLINE_EXCEEDED"] | None
    ) = None
    output: str | None = None
    id: str | None = None


class Part(WireModel):
    DATA_FIELDS: ClassVar[tuple[str, ...]] = (
        "text",
        "inline_data",
        "file_data",
        "function_call",
        "function_response",
        "executable_code",
        "code_execution_result",
    )
    text: str | None = None
    inline_data: Blob | None = None
    file_data: FileData | None = None
    function_call: FunctionCall | None = None
    function_response: FunctionResponse | None = None
    executable_code: ExecutableCode | None = None
    code_execution_result: CodeExecutionResult | None = None
    thought: Bool | None = None  # reasoning text, not the answer (§4.1)
    thought_signature: Base64Str | None = None

    @model_validator(mode="after")
    def _data_is_a_oneof(self) -> Part:
        _one_of(self, "data", self.DATA_FIELDS)
        return self


class Content(WireModel):
    role: str | None = None  # "user" | "model", checked by the receiver (systemInstruction: any)
    parts: list[Part] = []

    def text(self) -> str:
        """The concatenated text parts, thoughts excluded."""
        return "".join(part.text or "" for part in self.parts if not part.thought)


# --- setup (§3.1) -------------------------------------------------------------------------------


class PrebuiltVoiceConfig(WireModel):
    voice_name: str | None = None


class VoiceConfig(WireModel):
    prebuilt_voice_config: PrebuiltVoiceConfig | None = None


class SpeechConfig(WireModel):
    # multiSpeakerVoiceConfig is absent on purpose: Live refuses it (§3.1, SDK t_live_speech_config).
    voice_config: VoiceConfig | None = None
    language_code: str | None = None


class ThinkingConfig(WireModel):
    include_thoughts: Bool | None = None
    thinking_budget: int | None = None  # 2.5 family
    thinking_level: ThinkingLevel | None = None  # 3.x


class TranslationConfig(WireModel):
    target_language_code: str | None = None
    echo_target_language: Bool | None = None


class GenerationConfig(WireModel):
    # Only what Live supports; stopSequences, responseMimeType, responseSchema, … are refused (§3.1).
    candidate_count: int | None = None
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    seed: int | None = None
    response_modalities: list[Modality] | None = None
    speech_config: SpeechConfig | None = None
    media_resolution: MediaResolution | None = None
    thinking_config: ThinkingConfig | None = None
    enable_affective_dialog: Bool | None = None
    translation_config: TranslationConfig | None = None


class AutomaticActivityDetection(WireModel):
    disabled: Bool | None = None
    start_of_speech_sensitivity: StartSensitivity | None = None
    end_of_speech_sensitivity: EndSensitivity | None = None
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None


class RealtimeInputConfig(WireModel):
    automatic_activity_detection: AutomaticActivityDetection | None = None
    activity_handling: ActivityHandling | None = None
    turn_coverage: TurnCoverage | None = None
    interim_transcript_timestamp_enabled: Bool | None = None


class SessionResumptionConfig(WireModel):
    handle: str | None = None
    transparent: Bool | None = None  # Vertex only


class SlidingWindow(WireModel):
    target_tokens: int | None = None  # int64: a number or a decimal string


class ContextWindowCompressionConfig(WireModel):
    trigger_tokens: int | None = None
    sliding_window: SlidingWindow | None = None


class ProactivityConfig(WireModel):
    proactive_audio: Bool | None = None
    proactive_video: Bool | None = None


class HistoryConfig(WireModel):
    initial_history_in_client_content: Bool | None = None


class AudioTranscriptionConfig(WireModel):
    language_codes: list[str] | None = None
    language_auto: Struct | None = None
    language_hints: Struct | None = None
    custom_vocabulary: list[str] | None = None
    adaptation_phrases: list[str] | None = None
    word_timestamp: Bool | None = None
    diarization: Bool | None = None
    mode: Literal["MODE_UNSPECIFIED", "VERBATIM", "SMART"] | None = None
    source_text: str | None = None


class FunctionDeclaration(WireModel):
    name: str
    description: str | None = None
    parameters: Struct | None = None  # OpenAPI subset (uppercase types); kept verbatim
    parameters_json_schema: Any = None  # google.protobuf.Value: any JSON, kept verbatim
    response: Struct | None = None
    response_json_schema: Any = None
    behavior: Behavior | None = None


class GoogleSearch(WireModel):
    exclude_domains: list[str] | None = None
    time_range_filter: Struct | None = None


class Tool(WireModel):
    function_declarations: list[FunctionDeclaration] | None = None
    google_search: GoogleSearch | None = None
    code_execution: Empty | None = None
    url_context: Empty | None = None
    google_search_retrieval: Struct | None = None
    google_maps: Struct | None = None
    enterprise_web_search: Struct | None = None


class SafetySetting(WireModel):
    category: str | None = None
    threshold: str | None = None
    method: str | None = None


class Setup(WireModel):
    model: str
    generation_config: GenerationConfig | None = None
    system_instruction: Content | None = None
    tools: list[Tool] | None = None
    realtime_input_config: RealtimeInputConfig | None = None
    session_resumption: SessionResumptionConfig | None = None
    context_window_compression: ContextWindowCompressionConfig | None = None
    input_audio_transcription: AudioTranscriptionConfig | None = None
    output_audio_transcription: AudioTranscriptionConfig | None = None
    proactivity: ProactivityConfig | None = None
    history_config: HistoryConfig | None = None
    explicit_vad_signal: Bool | None = None  # Vertex only
    labels: dict[str, str] | None = None  # Developer only
    safety_settings: list[SafetySetting] | None = None
    avatar_config: Struct | None = None


# --- other client messages (§3.2-§3.5) ----------------------------------------------------------


class ClientContent(WireModel):
    turns: list[Content] | None = None
    turn_complete: Bool | None = None


class RealtimeInput(WireModel):
    # Not a oneof in the proto, although the SDK sends one field per message (§3.3).
    media_chunks: list[Blob] | None = None  # deprecated
    audio: Blob | None = None
    video: Blob | None = None
    text: str | None = None
    activity_start: Empty | None = None
    activity_end: Empty | None = None
    audio_stream_end: Bool | None = None


# realtimeInput's streamed chunks, named as on the wire: each one of a stream that Gemini answers only as a whole.
_MEDIA_CHUNK_FIELDS = frozenset({"audio", "video", "mediaChunks"})


def is_media_chunk(message: dict[str, Any]) -> bool:
    """A `realtimeInput` of audio or video chunks only. Anything else a client sends (a turn, a tool result, text,
    a turn's end) is something Gemini answers."""
    chunk = message.get("realtimeInput")
    return isinstance(chunk, dict) and chunk.keys() <= _MEDIA_CHUNK_FIELDS


class ToolResponse(WireModel):
    function_responses: list[FunctionResponse] | None = None


class ContextUpdateTools(WireModel):
    tools: list[Tool] | None = None


class ContextUpdate(WireModel):
    system_instruction: Content | None = None
    tools: ContextUpdateTools | None = None  # a wrapper: {"tools": []} clears, absent keeps (§3.5)


class SetupMessage(WireModel):
    KIND: ClassVar[str] = "setup"
    setup: Setup


class ClientContentMessage(WireModel):
    KIND: ClassVar[str] = "clientContent"
    client_content: ClientContent


class RealtimeInputMessage(WireModel):
    KIND: ClassVar[str] = "realtimeInput"
    realtime_input: RealtimeInput


class ToolResponseMessage(WireModel):
    KIND: ClassVar[str] = "toolResponse"
    tool_response: ToolResponse


class ContextUpdateMessage(WireModel):
    KIND: ClassVar[str] = "contextUpdate"
    context_update: ContextUpdate


ClientMessage: TypeAlias = (
    SetupMessage | ClientContentMessage | RealtimeInputMessage | ToolResponseMessage | ContextUpdateMessage
)
CLIENT_MODELS: dict[str, type[ClientMessage]] = {
    "setup": SetupMessage,
    "clientContent": ClientContentMessage,
    "realtimeInput": RealtimeInputMessage,
    "toolResponse": ToolResponseMessage,
    "contextUpdate": ContextUpdateMessage,
}


# --- server messages (§4) -----------------------------------------------------------------------


class Transcription(WireModel):
    text: str | None = None
    finished: bool | None = None


class ServerContent(WireModel):
    model_turn: Content | None = None
    generation_complete: bool | None = None
    turn_complete: bool | None = None
    interrupted: bool | None = None
    input_transcription: Transcription | None = None
    output_transcription: Transcription | None = None
    interim_input_transcription: Transcription | None = None
    turn_complete_reason: str | None = None
    waiting_for_input: bool | None = None
    interaction_status: Literal["INTERACTION_STATUS_UNSPECIFIED", "IN_PROGRESS", "IDLE"] | None = None
    grounding_metadata: Struct | None = None
    url_context_metadata: Struct | None = None


class ModalityTokenCount(WireModel):
    modality: MediaModality
    token_count: int


class UsageMetadata(WireModel):
    """Developer names (`response*`) or Vertex names (`candidates*` + `trafficType`), §4 and §8."""

    prompt_token_count: int | None = None
    cached_content_token_count: int | None = None
    response_token_count: int | None = None
    candidates_token_count: int | None = None
    tool_use_prompt_token_count: int | None = None
    thoughts_token_count: int | None = None
    total_token_count: int | None = None
    prompt_tokens_details: list[ModalityTokenCount] | None = None
    cache_tokens_details: list[ModalityTokenCount] | None = None
    response_tokens_details: list[ModalityTokenCount] | None = None
    candidates_tokens_details: list[ModalityTokenCount] | None = None
    tool_use_prompt_tokens_details: list[ModalityTokenCount] | None = None
    traffic_type: TrafficType | None = None


class SetupComplete(WireModel):
    session_id: str | None = None  # Vertex only
    voice_consent_signature: str | None = None


class ToolCall(WireModel):
    function_calls: list[FunctionCall]


class ToolCallCancellation(WireModel):
    ids: list[str]


class GoAway(WireModel):
    time_left: str  # a proto Duration string, e.g. "50s"


class SessionResumptionUpdate(WireModel):
    new_handle: str | None = None
    resumable: bool | None = None
    last_consumed_client_message_index: str | None = None  # int64 as a string (Vertex transparent mode)


class VoiceActivity(WireModel):
    """User speech start/end (SDK 3.x; not normally sent by the Developer API, §4)."""

    type: Literal["TYPE_UNSPECIFIED", "ACTIVITY_START", "ACTIVITY_END"] | None = None
    audio_offset: str | None = None  # a proto Duration string


class VoiceActivityDetectionSignal(WireModel):
    vad_signal_type: (
        Literal["VAD_SIGNAL_TYPE_UNSPECIFIED", "VAD_SIGNAL_TYPE_SOS", "VAD_SIGNAL_TYPE_EOS"] | None
    ) = None


class ServerMessage(WireModel):
    """One server frame: exactly one kind, plus the optional `usageMetadata` sibling."""

    KINDS: ClassVar[tuple[str, ...]] = (
        "setup_complete",
        "server_content",
        "tool_call",
        "tool_call_cancellation",
        "go_away",
        "session_resumption_update",
        "voice_activity",
        "voice_activity_detection_signal",
    )
    setup_complete: SetupComplete | None = None
    server_content: ServerContent | None = None
    tool_call: ToolCall | None = None
    tool_call_cancellation: ToolCallCancellation | None = None
    go_away: GoAway | None = None
    session_resumption_update: SessionResumptionUpdate | None = None
    voice_activity: VoiceActivity | None = None
    voice_activity_detection_signal: VoiceActivityDetectionSignal | None = None
    usage_metadata: UsageMetadata | None = None

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> ServerMessage:
        _one_of(self, "message_type", self.KINDS)
        if all(getattr(self, name) is None for name in self.KINDS):
            raise ValueError("a server message sets one of " + ", ".join(self.KINDS))
        return self


# --- message kinds and the parsing edge -----------------------------------------------------------

CLIENT_KINDS: dict[str, str] = {
    "setup": "setup",
    "clientContent": "clientContent",
    "client_content": "clientContent",
    "realtimeInput": "realtimeInput",
    "realtime_input": "realtimeInput",
    "toolResponse": "toolResponse",
    "tool_response": "toolResponse",
    "contextUpdate": "contextUpdate",
    "context_update": "contextUpdate",
}
SERVER_KINDS: tuple[str, ...] = (
    "setupComplete",
    "serverContent",
    "toolCall",
    "toolCallCancellation",
    "goAway",
    "sessionResumptionUpdate",
    "voiceActivity",
    "voiceActivityDetectionSignal",
)
_ALL_KINDS: dict[str, str] = {**CLIENT_KINDS, **{kind: kind for kind in SERVER_KINDS}}


def _kinds(msg: dict[str, Any]) -> list[str]:
    return [_ALL_KINDS[key] for key in msg if key in _ALL_KINDS]


def message_kind(msg: dict[str, Any]) -> str:
    """The camelCase name of the single oneof key `msg` sets (`usageMetadata` is a sibling, not a kind)."""
    kinds = _kinds(msg)
    if len(kinds) != 1:
        raise ValueError(f"a Gemini Live message sets exactly one kind, got {kinds or 'none'}")
    return kinds[0]


def parse_client_message(msg: Any) -> ClientMessage:
    """Validate one decoded client frame, raising `GeminiProtocolError` with a Google-like reason."""
    if not isinstance(msg, dict):
        raise GeminiProtocolError(reason=f"{_INVALID_JSON} Expected an object at the top level.")
    for key in msg:
        if key not in CLIENT_KINDS:
            raise GeminiProtocolError(reason=f'{_INVALID_JSON} Unknown name "{key}": Cannot find field.')
    kinds = list(msg)
    if not kinds:
        raise GeminiProtocolError(reason="Request contains an invalid argument: the message sets no field.")
    if len(kinds) > 1:
        oneof = f"Oneof field 'message_type' is already set. Cannot set '{kinds[1]}'."
        raise GeminiProtocolError(reason=f"{_INVALID_JSON} {oneof}")
    try:
        return CLIENT_MODELS[CLIENT_KINDS[kinds[0]]].model_validate(msg)
    except ValidationError as exc:
        raise GeminiProtocolError(reason=error_reason(exc.errors()[0])) from None


def decode_frame(raw: str | bytes) -> Any:
    """JSON-decode one WebSocket message (text or binary) or raise a 1007 `GeminiProtocolError`."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise GeminiProtocolError(reason=f"{_INVALID_JSON} Unexpected token.") from None


# --- Google-like reasons from pydantic errors ------------------------------------------------------

_PROTO_TYPES = {
    "string": "TYPE_STRING",
    "bool": "TYPE_BOOL",
    "int": "TYPE_INT64",
    "float": "TYPE_FLOAT",
    "literal": "TYPE_ENUM",
    "base64": "TYPE_BYTES",
    "list": "TYPE_MESSAGE",
    "dict": "TYPE_MESSAGE",
    "model": "TYPE_MESSAGE",
}


def _proto_path(loc: tuple[int | str, ...]) -> str:
    """`('setup', 'generationConfig', 'topK')` → `setup.generation_config.top_k`, as Google quotes paths."""
    path = ""
    for item in loc:
        if isinstance(item, int):
            path += f"[{item}]"
        elif not item.startswith(("function-after", "function-before")):
            path += ("." if path else "") + to_snake(item)
    return path


def _proto_type(error_type: str) -> str:
    for prefix, proto in _PROTO_TYPES.items():
        if error_type.startswith(prefix):
            return proto
    return "TYPE_MESSAGE"


def error_reason(error: ErrorDetails) -> str:
    """One pydantic error as Google's JSON parser would word it (§5.1)."""
    loc, kind = tuple(error["loc"]), error["type"]
    if kind == "extra_forbidden":
        where = _proto_path(loc[:-1])
        at = f" at '{where}'" if where else ""
        return f'{_INVALID_JSON} Unknown name "{loc[-1]}"{at}: Cannot find field.'
    if kind == "oneof":
        return f"{_INVALID_JSON} {error['msg']}."
    if kind == "missing":
        return f"Request contains an invalid argument: '{_proto_path(loc)}' is required."
    shown = orjson.dumps(error.get("input"), default=repr).decode()[:60]
    if kind == "base64":
        return f"Invalid value at '{_proto_path(loc)}' (TYPE_BYTES), Base64 decoding failed for {shown}"
    return f"Invalid value at '{_proto_path(loc)}' ({_proto_type(kind)}), {shown}"
