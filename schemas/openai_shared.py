"""OpenAI Realtime session-config pieces shared by client and server events: audio, tools, unions.

Import them from `schemas.openai`; section numbers refer to OPENAI_REALTIME.md.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag
from pydantic_core import PydanticCustomError


class Dialect(enum.Enum):
    """Which OpenAI Realtime protocol a connection speaks, fixed at the handshake (§1.4)."""

    GA = "ga"
    BETA = "beta"


# Every model: immutable, unknown keys rejected (`unknown_parameter`, §4.2) and no type coercion ("1" is not
# an integer), so a shape error is reported like the real server reports it instead of silently fixed.
STRICT = ConfigDict(frozen=True, extra="forbid", strict=True)

# The custom pydantic error a by-JSON-kind union raises when the value has none of the accepted kinds; its
# message is the "expected …" phrase, turned into `invalid_type` by `schemas.openai`.
KIND_ERROR = "livegate_invalid_type"


def json_kind(value: Any) -> str | None:
    """The tag of a non-discriminated union branch: the JSON kind of the value (`<str>`, `<int>`, `<obj>`).

    Angle brackets mark these tags so error paths can drop them (`schemas.openai._param_path`).
    """
    if isinstance(value, str):
        return "<str>"
    if isinstance(value, bool):
        return None  # JSON true/false is never an integer here
    if isinstance(value, int):
        return "<int>"
    if isinstance(value, dict | BaseModel):
        return "<obj>"
    if isinstance(value, list):
        return "<list>"
    return None


def _kind_union(expected: str, *tags: str) -> Discriminator:
    """A union told apart by JSON kind; any other kind fails as `invalid_type` "expected <expected>"."""
    accepted = frozenset(tags)

    def tag_of(value: Any) -> str | None:
        kind = json_kind(value)
        return kind if kind in accepted else None

    return Discriminator(tag_of, custom_error_type=KIND_ERROR, custom_error_message=expected)


def _refuse_null(expected: str) -> AfterValidator:
    """An optional field that may be left out, but whose `null` means nothing: `invalid_type` "expected
    <expected>", like any other wrong kind. (Defaults are not validated, so only an explicit null fails.)

    Only `turn_detection`, transcription, noise reduction and tracing give `null` a meaning (§5.1); elsewhere
    a null would reach the translators as a None where a list or an object belongs (issue #16 item 5).
    """

    def check(value: Any) -> Any:
        if value is None:
            raise PydanticCustomError(KIND_ERROR, expected)
        return value

    return AfterValidator(check)


NOT_NULL_ARRAY = _refuse_null("an array")
NOT_NULL_OBJECT = _refuse_null("an object")
NOT_NULL_STRING = _refuse_null("a string")


# --- small config pieces (§5.1) -------------------------------------------------------------------------

Modality = Literal["text", "audio"]
BetaAudioFormat = Literal["pcm16", "g711_ulaw", "g711_alaw"]  # 24 kHz PCM or 8 kHz G.711 (§5.2)

# 1 to 4096, or "inf" (§5.1 max output)
MaxTokens = Annotated[
    Annotated[int, Field(ge=1, le=4096), Tag("<int>")] | Annotated[Literal["inf"], Tag("<str>")],
    _kind_union("an integer or 'inf'", "<int>", "<str>"),
]
Speed = Annotated[float, Field(ge=0.25, le=1.5)]  # §5.1 speed
Threshold = Annotated[float, Field(ge=0.0, le=1.0)]  # §5.3
Milliseconds = Annotated[int, Field(ge=0)]
Index = Annotated[int, Field(ge=0)]  # content_index / output_index


class VoiceId(BaseModel):
    """A custom GA voice, `{"id": "voice_…"}` (§5.1)."""

    model_config = STRICT
    id: str


GaVoice = Annotated[
    Annotated[str, Tag("<str>")] | Annotated[VoiceId, Tag("<obj>")],
    _kind_union("a string or an object", "<str>", "<obj>"),
]


class TracingConfig(BaseModel):
    model_config = STRICT
    workflow_name: str | None = None
    group_id: str | None = None
    metadata: dict[str, Any] | None = None


# "auto" | {workflow_name, group_id, metadata}; `null` (tracing off) is allowed where the field is used (§5.1)
Tracing = Annotated[
    Annotated[Literal["auto"], Tag("<str>")] | Annotated[TracingConfig, Tag("<obj>")],
    _kind_union("a string or an object", "<str>", "<obj>"),
]


class ToolChoiceFunction(BaseModel):
    model_config = STRICT
    type: Literal["function"]
    name: str


class ToolChoiceMcp(BaseModel):
    model_config = STRICT
    type: Literal["mcp"]
    server_label: str
    name: str | None = None


ToolChoice = Annotated[
    Annotated[Literal["auto", "none", "required"], Tag("<str>")]
    | Annotated[ToolChoiceFunction | ToolChoiceMcp, Field(discriminator="type"), Tag("<obj>")],
    _kind_union("a string or an object", "<str>", "<obj>"),
]
# Beta typed tool_choice as a free string ("auto"/"none"/"required"/a function name) or a function object.
BetaToolChoice = Annotated[
    Annotated[str, Tag("<str>")] | Annotated[ToolChoiceFunction, Tag("<obj>")],
    _kind_union("a string or an object", "<str>", "<obj>"),
]


class TokenLimits(BaseModel):
    model_config = STRICT
    post_instructions: int | None = None


class RetentionRatio(BaseModel):
    model_config = STRICT
    type: Literal["retention_ratio"]
    retention_ratio: Annotated[float, Field(ge=0.0, le=1.0)]
    token_limits: TokenLimits | None = None


Truncation = Annotated[
    Annotated[Literal["auto", "disabled"], Tag("<str>")] | Annotated[RetentionRatio, Tag("<obj>")],
    _kind_union("a string or an object", "<str>", "<obj>"),
]


class Prompt(BaseModel):
    """A stored prompt reference (GA only)."""

    model_config = STRICT
    id: str
    version: str | None = None
    variables: dict[str, Any] | None = None


class Reasoning(BaseModel):
    model_config = STRICT
    effort: Literal["minimal", "low", "medium", "high", "xhigh"] | None = None


# --- audio input/output config, GA (§5.1, §5.2) ---------------------------------------------------------


class AudioPcm(BaseModel):
    model_config = STRICT
    type: Literal["audio/pcm"]
    # only 24 kHz: the live server answers a lower rate with integer_below_min_value (§5.2)
    rate: Annotated[int, Field(ge=24000, le=24000)] | None = None


class AudioPcmu(BaseModel):
    model_config = STRICT
    type: Literal["audio/pcmu"]


class AudioPcma(BaseModel):
    model_config = STRICT
    type: Literal["audio/pcma"]


AudioFormat = Annotated[AudioPcm | AudioPcmu | AudioPcma, Field(discriminator="type")]


class Transcription(BaseModel):
    model_config = STRICT
    model: str | None = None
    language: str | None = None
    prompt: str | None = None
    languages: list[str] | None = None
    keywords: list[str] | None = None
    delay: Literal["minimal", "low", "medium", "high", "xhigh"] | None = None


class NoiseReduction(BaseModel):
    model_config = STRICT
    type: Literal["near_field", "far_field"] | None = None
    strength: float | None = None


class ServerVad(BaseModel):
    model_config = STRICT
    type: Literal["server_vad"]
    threshold: Threshold | None = None
    prefix_padding_ms: Milliseconds | None = None
    silence_duration_ms: Milliseconds | None = None
    idle_timeout_ms: Milliseconds | None = None  # GA only (§5.3)
    create_response: bool | None = None
    interrupt_response: bool | None = None


class SemanticVad(BaseModel):
    model_config = STRICT
    type: Literal["semantic_vad"]
    eagerness: Literal["low", "medium", "high", "auto"] | None = None
    create_response: bool | None = None
    interrupt_response: bool | None = None


TurnDetection = Annotated[ServerVad | SemanticVad, Field(discriminator="type")]


class AudioInput(BaseModel):
    """`session.audio.input`; `null` for transcription/noise_reduction/turn_detection disables it (§5.1)."""

    model_config = STRICT
    format: Annotated[AudioFormat | None, NOT_NULL_OBJECT] = None
    transcription: Transcription | None = None
    noise_reduction: NoiseReduction | None = None
    turn_detection: TurnDetection | None = None


class AudioOutput(BaseModel):
    model_config = STRICT
    format: Annotated[AudioFormat | None, NOT_NULL_OBJECT] = None
    voice: GaVoice | None = None
    speed: Speed | None = None


class Audio(BaseModel):
    model_config = STRICT
    input: AudioInput | None = None
    output: AudioOutput | None = None


class ResponseAudioOutput(BaseModel):
    model_config = STRICT
    format: Annotated[AudioFormat | None, NOT_NULL_OBJECT] = None
    voice: GaVoice | None = None


class ResponseAudio(BaseModel):
    """`response.audio` (GA): per-response output format and voice, in `response.create` and the response."""

    model_config = STRICT
    output: ResponseAudioOutput | None = None


# --- audio config, beta (flat, §5.1) --------------------------------------------------------------------


class BetaTranscription(BaseModel):
    model_config = STRICT
    model: str | None = None
    language: str | None = None
    prompt: str | None = None


class BetaNoiseReduction(BaseModel):
    model_config = STRICT
    type: Literal["near_field", "far_field"] | None = None


class BetaTurnDetection(BaseModel):
    """Beta's one flat turn-detection object for both VAD kinds (§5.3)."""

    model_config = STRICT
    type: Literal["server_vad", "semantic_vad"] | None = None
    threshold: Threshold | None = None
    prefix_padding_ms: Milliseconds | None = None
    silence_duration_ms: Milliseconds | None = None
    eagerness: Literal["low", "medium", "high", "auto"] | None = None
    create_response: bool | None = None
    interrupt_response: bool | None = None


# --- tools (§5.1) ---------------------------------------------------------------------------------------


class FunctionTool(BaseModel):
    model_config = STRICT
    type: Literal["function"]
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None  # a JSON schema, free-form


class McpToolFilter(BaseModel):
    model_config = STRICT
    read_only: bool | None = None
    tool_names: list[str] | None = None


class McpApprovalFilter(BaseModel):
    model_config = STRICT
    always: McpToolFilter | None = None
    never: McpToolFilter | None = None


McpAllowedTools = Annotated[
    Annotated[list[str], Tag("<list>")] | Annotated[McpToolFilter, Tag("<obj>")],
    _kind_union("an array or an object", "<list>", "<obj>"),
]
McpRequireApproval = Annotated[
    Annotated[Literal["always", "never"], Tag("<str>")] | Annotated[McpApprovalFilter, Tag("<obj>")],
    _kind_union("a string or an object", "<str>", "<obj>"),
]


class McpTool(BaseModel):
    """A remote MCP server tool (GA only); accepted so GA clients can declare it, never run by Gemini."""

    model_config = STRICT
    type: Literal["mcp"]
    server_label: str
    server_url: str | None = None
    connector_id: str | None = None
    server_description: str | None = None
    authorization: str | None = None
    headers: dict[str, str] | None = None
    allowed_tools: McpAllowedTools | None = None
    require_approval: McpRequireApproval | None = None
    allowed_callers: list[Literal["direct", "programmatic"]] | None = None
    defer_loading: bool | None = None
    tunnel_id: str | None = None


Tool = Annotated[FunctionTool | McpTool, Field(discriminator="type")]


class BetaFunctionTool(BaseModel):
    model_config = STRICT
    type: Literal["function"] | None = None
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
