"""The OpenAI Realtime edge: `parse_client_event` validates what clients send, `validate_server_event`
checks what we emit, in either dialect (OPENAI_REALTIME.md §2, §4); re-exports the models of `openai_*.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from schemas.errors import ClientProtocolError
from schemas.frame_checks import MAX_NESTING, event_id_of, is_base64, too_deep
from schemas.openai_client import (
    CLIENT_EVENT_TYPES,
    CLIENT_MODELS,
    BetaClientEvent,
    BetaClientSecretConfig,
    BetaConversationItemCreateEvent,
    BetaExpiresAfter,
    BetaExpiresAt,
    BetaResponseCreateEvent,
    BetaResponseParams,
    BetaSessionConfig,
    BetaSessionUpdateEvent,
    BetaTranscriptionClientSecretConfig,
    BetaTranscriptionSessionConfig,
    BetaTranscriptionSessionUpdateEvent,
    ConversationItemCreateEvent,
    ConversationItemDeleteEvent,
    ConversationItemRetrieveEvent,
    ConversationItemTruncateEvent,
    GaClientEvent,
    GaSessionConfig,
    InputAudioBufferAppendEvent,
    InputAudioBufferClearEvent,
    InputAudioBufferCommitEvent,
    OutputAudioBufferClearEvent,
    RealtimeSessionConfig,
    ResponseCancelEvent,
    ResponseCreateEvent,
    ResponseParams,
    SessionCloseEvent,
    SessionUpdateEvent,
    TranscriptionAudio,
    TranscriptionSessionConfig,
)
from schemas.openai_items import (
    AssistantMessage,
    AssistantPart,
    BetaAssistantMessage,
    BetaAssistantPart,
    BetaAudioPart,
    BetaCachedTokensDetails,
    BetaFunctionCallItem,
    BetaInputItem,
    BetaInputTokenDetails,
    BetaItem,
    BetaMessage,
    BetaTextPart,
    BetaUsage,
    BetaUserMessage,
    BetaUserPart,
    CachedTokensDetails,
    FunctionCallItem,
    FunctionCallOutputItem,
    GaClientItem,
    GaInputItem,
    GaMessage,
    GaServerItem,
    InputAudioPart,
    InputImagePart,
    InputTextPart,
    InputTokenDetails,
    ItemReference,
    McpApprovalRequestItem,
    McpApprovalResponseItem,
    McpCallItem,
    McpListedTool,
    McpListToolsItem,
    OutputAudioPart,
    OutputTextPart,
    OutputTokenDetails,
    SystemMessage,
    TranscriptionDurationUsage,
    TranscriptionTokenDetails,
    TranscriptionTokenUsage,
    TranscriptionUsage,
    Usage,
    UserMessage,
    UserPart,
)

if TYPE_CHECKING:  # at run time these load on first use (module __getattr__ below): the gateway never
    # touches the server-event models, ~2.5 MB of RSS it need not hold (issue #15)
    from schemas.openai_server import (
        SERVER_EVENT_TYPES,
        SERVER_MODELS,
        BetaConversationItemCreatedEvent,
        BetaConversationItemRetrievedEvent,
        BetaResponse,
        BetaResponseAudioDeltaEvent,
        BetaResponseAudioDoneEvent,
        BetaResponseAudioTranscriptDeltaEvent,
        BetaResponseAudioTranscriptDoneEvent,
        BetaResponseCreatedEvent,
        BetaResponseDoneEvent,
        BetaResponseFunctionCallArgumentsDoneEvent,
        BetaResponseOutputItemAddedEvent,
        BetaResponseOutputItemDoneEvent,
        BetaResponseTextDeltaEvent,
        BetaResponseTextDoneEvent,
        BetaSession,
        BetaSessionCreatedEvent,
        BetaSessionUpdatedEvent,
        BetaTranscriptionClientSecret,
        BetaTranscriptionSession,
        BetaTranscriptionSessionCreatedEvent,
        BetaTranscriptionSessionUpdatedEvent,
        ContentPart,
        ConversationItemAddedEvent,
        ConversationItemCreatedEvent,
        ConversationItemDeletedEvent,
        ConversationItemDoneEvent,
        ConversationItemRetrievedEvent,
        ConversationItemTruncatedEvent,
        ErrorDetail,
        ErrorEvent,
        GaSession,
        InputAudioBufferClearedEvent,
        InputAudioBufferCommittedEvent,
        InputAudioBufferSpeechStartedEvent,
        InputAudioBufferSpeechStoppedEvent,
        InputAudioBufferTimeoutTriggeredEvent,
        InputAudioTranscriptionCompletedEvent,
        InputAudioTranscriptionDeltaEvent,
        InputAudioTranscriptionFailedEvent,
        Logprob,
        RateLimit,
        RateLimitsUpdatedEvent,
        RealtimeSession,
        Response,
        ResponseContentPartAddedEvent,
        ResponseContentPartDoneEvent,
        ResponseCreatedEvent,
        ResponseDoneEvent,
        ResponseFunctionCallArgumentsDeltaEvent,
        ResponseFunctionCallArgumentsDoneEvent,
        ResponseOutputAudioDeltaEvent,
        ResponseOutputAudioDoneEvent,
        ResponseOutputAudioTranscriptDeltaEvent,
        ResponseOutputAudioTranscriptDoneEvent,
        ResponseOutputItemAddedEvent,
        ResponseOutputItemDoneEvent,
        ResponseOutputTextDeltaEvent,
        ResponseOutputTextDoneEvent,
        ResponseStatus,
        SessionCreatedEvent,
        SessionUpdatedEvent,
        StatusDetails,
        StatusError,
        TranscriptionError,
        TranscriptionLanguage,
        TranscriptionSession,
    )
from schemas.openai_shared import (
    KIND_ERROR,
    Audio,
    AudioFormat,
    AudioInput,
    AudioOutput,
    AudioPcm,
    AudioPcma,
    AudioPcmu,
    BetaAudioFormat,
    BetaFunctionTool,
    BetaNoiseReduction,
    BetaToolChoice,
    BetaTranscription,
    BetaTurnDetection,
    Dialect,
    FunctionTool,
    GaVoice,
    MaxTokens,
    McpAllowedTools,
    McpApprovalFilter,
    McpRequireApproval,
    McpTool,
    McpToolFilter,
    Modality,
    NoiseReduction,
    Prompt,
    Reasoning,
    ResponseAudio,
    ResponseAudioOutput,
    RetentionRatio,
    SemanticVad,
    ServerVad,
    TokenLimits,
    Tool,
    ToolChoice,
    ToolChoiceFunction,
    ToolChoiceMcp,
    Tracing,
    TracingConfig,
    Transcription,
    Truncation,
    TurnDetection,
    VoiceId,
)

__all__ = [
    "CLIENT_EVENT_TYPES",
    "CLIENT_MODELS",
    "SERVER_EVENT_TYPES",
    "SERVER_MODELS",
    "AssistantMessage",
    "AssistantPart",
    "Audio",
    "AudioFormat",
    "AudioInput",
    "AudioOutput",
    "AudioPcm",
    "AudioPcma",
    "AudioPcmu",
    "BetaAssistantMessage",
    "BetaAssistantPart",
    "BetaAudioFormat",
    "BetaAudioPart",
    "BetaCachedTokensDetails",
    "BetaClientEvent",
    "BetaClientSecretConfig",
    "BetaConversationItemCreateEvent",
    "BetaConversationItemCreatedEvent",
    "BetaConversationItemRetrievedEvent",
    "BetaExpiresAfter",
    "BetaExpiresAt",
    "BetaFunctionCallItem",
    "BetaFunctionTool",
    "BetaInputItem",
    "BetaInputTokenDetails",
    "BetaItem",
    "BetaMessage",
    "BetaNoiseReduction",
    "BetaResponse",
    "BetaResponseAudioDeltaEvent",
    "BetaResponseAudioDoneEvent",
    "BetaResponseAudioTranscriptDeltaEvent",
    "BetaResponseAudioTranscriptDoneEvent",
    "BetaResponseCreateEvent",
    "BetaResponseCreatedEvent",
    "BetaResponseDoneEvent",
    "BetaResponseFunctionCallArgumentsDoneEvent",
    "BetaResponseOutputItemAddedEvent",
    "BetaResponseOutputItemDoneEvent",
    "BetaResponseParams",
    "BetaResponseTextDeltaEvent",
    "BetaResponseTextDoneEvent",
    "BetaSession",
    "BetaSessionConfig",
    "BetaSessionCreatedEvent",
    "BetaSessionUpdateEvent",
    "BetaSessionUpdatedEvent",
    "BetaTextPart",
    "BetaToolChoice",
    "BetaTranscription",
    "BetaTranscriptionClientSecret",
    "BetaTranscriptionClientSecretConfig",
    "BetaTranscriptionSession",
    "BetaTranscriptionSessionConfig",
    "BetaTranscriptionSessionCreatedEvent",
    "BetaTranscriptionSessionUpdateEvent",
    "BetaTranscriptionSessionUpdatedEvent",
    "BetaTurnDetection",
    "BetaUsage",
    "BetaUserMessage",
    "BetaUserPart",
    "CachedTokensDetails",
    "ContentPart",
    "ConversationItemAddedEvent",
    "ConversationItemCreateEvent",
    "ConversationItemCreatedEvent",
    "ConversationItemDeleteEvent",
    "ConversationItemDeletedEvent",
    "ConversationItemDoneEvent",
    "ConversationItemRetrieveEvent",
    "ConversationItemRetrievedEvent",
    "ConversationItemTruncateEvent",
    "ConversationItemTruncatedEvent",
    "Dialect",
    "ErrorDetail",
    "ErrorEvent",
    "FunctionCallItem",
    "FunctionCallOutputItem",
    "FunctionTool",
    "GaClientEvent",
    "GaClientItem",
    "GaInputItem",
    "GaMessage",
    "GaServerItem",
    "GaSession",
    "GaSessionConfig",
    "GaVoice",
    "InputAudioBufferAppendEvent",
    "InputAudioBufferClearEvent",
    "InputAudioBufferClearedEvent",
    "InputAudioBufferCommitEvent",
    "InputAudioBufferCommittedEvent",
    "InputAudioBufferSpeechStartedEvent",
    "InputAudioBufferSpeechStoppedEvent",
    "InputAudioBufferTimeoutTriggeredEvent",
    "InputAudioPart",
    "InputAudioTranscriptionCompletedEvent",
    "InputAudioTranscriptionDeltaEvent",
    "InputAudioTranscriptionFailedEvent",
    "InputImagePart",
    "InputTextPart",
    "InputTokenDetails",
    "ItemReference",
    "Logprob",
    "MaxTokens",
    "McpAllowedTools",
    "McpApprovalFilter",
    "McpApprovalRequestItem",
    "McpApprovalResponseItem",
    "McpCallItem",
    "McpListToolsItem",
    "McpListedTool",
    "McpRequireApproval",
    "McpTool",
    "McpToolFilter",
    "Modality",
    "NoiseReduction",
    "OutputAudioBufferClearEvent",
    "OutputAudioPart",
    "OutputTextPart",
    "OutputTokenDetails",
    "Prompt",
    "RateLimit",
    "RateLimitsUpdatedEvent",
    "RealtimeSession",
    "RealtimeSessionConfig",
    "Reasoning",
    "Response",
    "ResponseAudio",
    "ResponseAudioOutput",
    "ResponseCancelEvent",
    "ResponseContentPartAddedEvent",
    "ResponseContentPartDoneEvent",
    "ResponseCreateEvent",
    "ResponseCreatedEvent",
    "ResponseDoneEvent",
    "ResponseFunctionCallArgumentsDeltaEvent",
    "ResponseFunctionCallArgumentsDoneEvent",
    "ResponseOutputAudioDeltaEvent",
    "ResponseOutputAudioDoneEvent",
    "ResponseOutputAudioTranscriptDeltaEvent",
    "ResponseOutputAudioTranscriptDoneEvent",
    "ResponseOutputItemAddedEvent",
    "ResponseOutputItemDoneEvent",
    "ResponseOutputTextDeltaEvent",
    "ResponseOutputTextDoneEvent",
    "ResponseParams",
    "ResponseStatus",
    "RetentionRatio",
    "SemanticVad",
    "ServerVad",
    "SessionCloseEvent",
    "SessionCreatedEvent",
    "SessionUpdateEvent",
    "SessionUpdatedEvent",
    "StatusDetails",
    "StatusError",
    "SystemMessage",
    "TokenLimits",
    "Tool",
    "ToolChoice",
    "ToolChoiceFunction",
    "ToolChoiceMcp",
    "Tracing",
    "TracingConfig",
    "Transcription",
    "TranscriptionAudio",
    "TranscriptionDurationUsage",
    "TranscriptionError",
    "TranscriptionLanguage",
    "TranscriptionSession",
    "TranscriptionSessionConfig",
    "TranscriptionTokenDetails",
    "TranscriptionTokenUsage",
    "TranscriptionUsage",
    "Truncation",
    "TurnDetection",
    "Usage",
    "UserMessage",
    "UserPart",
    "VoiceId",
    "binary_frame_error",
    "parse_client_event",
    "parse_client_event_tolerant",
    "validate_server_event",
]

# §4.1/§4.2 texts. The live invalid_json message is elided in the capture after its first sentence; the tail
# is the wording OpenAI uses for the same failure on its HTTP endpoints.
_INVALID_JSON = "Invalid event: failed to parse JSON value."
_INVALID_JSON_TAIL = (
    " Please check the value to ensure it is valid JSON. (Common errors include trailing commas, missing"
    " closing brackets, missing quotation marks, etc.)"
)
_NOT_BASE64 = "Invalid 'audio': expected base64-encoded audio bytes."
_TOO_DEEP = f"Invalid event: objects and arrays may be nested at most {MAX_NESTING} levels deep."
_APPEND = "input_audio_buffer.append"
_APPEND_KEYS = frozenset({"type", "event_id", "audio"})
_TYPE_AND_ID = frozenset({"type", "event_id"})


def _bare_ok(model: type[BaseModel], kind: str) -> bool:
    try:
        model.model_validate({"type": kind, "event_id": "e"})
        model.model_validate({"type": kind})
    except ValidationError:
        return False
    return True


# Per dialect, the event types whose bare form (`type`, perhaps a string `event_id`) their model accepts, as found
# by validating it once here: `response.create`, `input_audio_buffer.commit` and the like, once a turn or more,
# skip pydantic when they come bare (issue #15).
_BARE: dict[Dialect, frozenset[str]] = {
    dialect: frozenset(kind for kind, model in models.items() if _bare_ok(model, kind))
    for dialect, models in CLIENT_MODELS.items()
}

# pydantic error type → the JSON kind it expected, for `invalid_type` ("expected an array, …").
_EXPECTED_KIND = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a decimal",
    "bool_type": "a boolean",
    "list_type": "an array",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
}


def binary_frame_error() -> ClientProtocolError:
    """The live server's non-fatal answer to a binary WebSocket frame (§1.1); the gateway sees the frame."""
    return ClientProtocolError("invalid_event", "Expected a text WebSocket message; binary frames are not supported.")


def parse_client_event(raw: bytes | str, dialect: Dialect) -> dict[str, Any]:
    """Parse and validate one client text frame; return the event dict exactly as the client sent it.

    Raises `ClientProtocolError` with OpenAI's code, message and param (§4.2), echoing a string `event_id`.
    """
    try:
        event = orjson.loads(raw)
    except orjson.JSONDecodeError:
        message = _INVALID_JSON + _INVALID_JSON_TAIL
        raise ClientProtocolError("invalid_json", message, event_id=event_id_of(raw)) from None
    if not isinstance(event, dict):
        got = _kind(event)
        raise ClientProtocolError("invalid_json", f"{_INVALID_JSON} Expected an object, but got {got} instead.")
    event_id = event.get("event_id")
    event_id = event_id if isinstance(event_id, str) else None
    kind = event.get("type")
    if kind == _APPEND:
        # Hot path, dozens per second: a few direct checks instead of pydantic (STYLE.md §3); the shape is
        # `InputAudioBufferAppendEvent`, which the tests hold this branch to.
        bad_id = event_id is None and event.get("event_id") is not None
        audio = event.get("audio")
        if bad_id or not isinstance(audio, str) or not event.keys() <= _APPEND_KEYS:
            raise _append_error(event, event_id)
        if not is_base64(audio):  # Gemini would close the whole session with 1007 (issue #16 item 11)
            raise ClientProtocolError("invalid_value", _NOT_BASE64, param="audio", event_id=event_id)
        return event
    if kind is None:
        raise ClientProtocolError("invalid_event", "The 'type' field is missing.", event_id=event_id)
    if not isinstance(kind, str):
        raise _invalid_type("type", "a string", kind, event_id)
    if kind in _BARE[dialect] and event.keys() <= _TYPE_AND_ID and (event_id is not None or "event_id" not in event):
        return event  # what its model accepts, found at import
    model = CLIENT_MODELS[dialect].get(kind)
    if model is None:
        supported = _one_of(CLIENT_MODELS[dialect])
        message = f"Invalid value: '{kind}'. Supported values are: {supported}."
        raise ClientProtocolError("invalid_value", message, param="type", event_id=event_id)
    if too_deep(event):
        raise ClientProtocolError("invalid_event", _TOO_DEEP, event_id=event_id)
    try:
        model.model_validate(event)
    except ValidationError as exc:
        raise _client_error(exc.errors(include_url=False)[0], event, event_id) from None
    return event


def parse_client_event_tolerant(raw: bytes | str, dialect: Dialect) -> tuple[dict[str, Any], Dialect]:
    """Like `parse_client_event`, but a GA client's beta-shaped event is accepted as beta (§1.4 item 3).

    Old scripts (LiteLLM's own demo among them) send beta payloads with no beta marker. `session.created`
    has already gone out in GA shape, so the session is not switched: the one event is read as beta and
    answered in GA shape. Returns the event and the dialect of its payload shape.
    """
    try:
        return parse_client_event(raw, dialect), dialect
    except ClientProtocolError as exc:
        if dialect is not Dialect.GA or exc.code not in ("unknown_parameter", "missing_required_parameter"):
            raise
        try:
            return parse_client_event(raw, Dialect.BETA), Dialect.BETA
        except ClientProtocolError:
            raise exc from None


def validate_server_event(event: dict[str, Any], dialect: Dialect) -> None:
    """Check one event we are about to send against `dialect`'s model; `ValueError` names type and field."""
    kind = event.get("type") if isinstance(event, dict) else None
    if not isinstance(kind, str):
        raise ValueError(f"server event without a string 'type': {str(event)[:200]}")
    from schemas.openai_server import SERVER_EVENT_TYPES, SERVER_MODELS

    model = SERVER_MODELS[dialect].get(kind)
    if model is None:
        other = Dialect.BETA if dialect is Dialect.GA else Dialect.GA
        hint = f" (it is a {other.name} event)" if kind in SERVER_EVENT_TYPES[other] else ""
        raise ValueError(f"{kind!r} is not a {dialect.name} server event{hint}")
    try:
        model.model_validate(event)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_param_path(err['loc'], event) or '(event)'}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise ValueError(f"invalid {dialect.name} {kind!r} event: {problems}") from None


def _append_error(event: dict[str, Any], event_id: str | None) -> ClientProtocolError:
    """The slow half of the append fast path: what is wrong, in the order the model would report it."""
    raw_id = event.get("event_id")
    if raw_id is not None and not isinstance(raw_id, str):
        return _invalid_type("event_id", "a string", raw_id, None)
    if "audio" not in event:
        message = "Missing required parameter: 'audio'."
        return ClientProtocolError("missing_required_parameter", message, param="audio", event_id=event_id)
    if not isinstance(event["audio"], str):
        return _invalid_type("audio", "a string", event["audio"], event_id)
    extra = next(key for key in event if key not in _APPEND_KEYS)  # the fast path saw one
    return _unknown(str(extra), event_id)


def _client_error(err: ErrorDetails, event: dict[str, Any], event_id: str | None) -> ClientProtocolError:
    """Turn pydantic's first complaint into the error the real server sends for it (§4.2)."""
    kind, value, ctx = err["type"], err["input"], err.get("ctx") or {}
    loc: tuple[int | str, ...] = tuple(err["loc"])
    if kind in ("union_tag_not_found", "union_tag_invalid"):
        return _tag_error(kind, loc, value, str(ctx.get("discriminator", "")).strip("'"), ctx, event, event_id)
    param = _param_path(loc, event)
    if kind == "missing":
        return ClientProtocolError(
            "missing_required_parameter",
            f"Missing required parameter: '{param}'.",
            param=param,
            event_id=event_id,
        )
    if kind == "extra_forbidden":
        return _unknown(param, event_id)
    if kind == KIND_ERROR:
        return _invalid_type(param, err["msg"], value, event_id)
    if kind in _EXPECTED_KIND:
        return _invalid_type(param, _EXPECTED_KIND[kind], value, event_id)
    if kind == "literal_error":
        if not isinstance(value, str):
            return _invalid_type(param, "a string", value, event_id)
        expected = str(ctx.get("expected", "")).replace(" or ", ", ").split(", ")
        return _invalid_value(param, value, (e.strip("'") for e in expected), event_id)
    if kind == "string_too_long":
        limit = ctx.get("max_length")
        message = (
            f"Invalid '{param}': string too long. Expected a string with maximum length {limit},"
            f" but got a string with length {len(value)} instead."
        )
        return ClientProtocolError("string_above_max_length", message, param=param, event_id=event_id)
    if kind in ("greater_than_equal", "less_than_equal"):
        return _range_error(kind, param, value, ctx, event_id)
    return ClientProtocolError("invalid_value", f"Invalid value for '{param}'.", param=param, event_id=event_id)


def _tag_error(
    kind: str,
    loc: tuple[int | str, ...],
    value: Any,
    field: str,
    ctx: dict[str, Any],
    event: dict[str, Any],
    event_id: str | None,
) -> ClientProtocolError:
    """A discriminator (`type`, `role`) that is missing, not a string, or not one of the variants."""
    param = _param_path((*loc, field), event)
    tag = value.get(field) if isinstance(value, dict) else None
    if tag is None and kind == "union_tag_not_found":
        return ClientProtocolError(
            "missing_required_parameter",
            f"Missing required parameter: '{param}'.",
            param=param,
            event_id=event_id,
        )
    if not isinstance(tag, str):
        return _invalid_type(param, "a string", tag, event_id)
    expected = str(ctx.get("expected_tags", "")).split(", ")
    return _invalid_value(param, tag, (e.strip("'") for e in expected), event_id)


def _range_error(kind: str, param: str, value: Any, ctx: dict[str, Any], event_id: str | None) -> ClientProtocolError:
    bound_value = ctx.get("ge") if kind == "greater_than_equal" else ctx.get("le")
    number = "integer" if isinstance(value, int) and isinstance(bound_value, int) else "decimal"
    if kind == "greater_than_equal":
        code, words, bound = f"{number}_below_min_value", "below minimum value", f">= {ctx.get('ge')}"
    else:
        code, words, bound = f"{number}_above_max_value", "above maximum value", f"<= {ctx.get('le')}"
    message = f"Invalid '{param}': {number} {words}. Expected a value {bound}, but got {value} instead."
    return ClientProtocolError(code, message, param=param, event_id=event_id)


def _param_path(loc: Sequence[int | str], data: Any) -> str:
    """OpenAI's dotted param (`session.tools[0].name`) from a pydantic `loc`, minus union tags.

    pydantic puts the branch tag in `loc` after a union: our by-kind tags (`<str>`, `<obj>`), or the value of
    the discriminator (`message`, `user`). Both are recognised by walking `data` alongside: a by-kind tag is
    anything in angle brackets that is not a key there; a discriminator tag is a non-final segment equal to
    the current object's `type`/`role` value below the top level, consumed at most once per key. (No model
    has a field named like its own tag, so a match is a tag; `{"type": "function", "function": …}` still
    reports `tools[0].function` as the unknown parameter.)
    """
    out = ""
    node = data
    used: set[str] = set()
    last = len(loc) - 1
    for i, seg in enumerate(loc):
        if isinstance(seg, int):
            out += f"[{seg}]"
            node = node[seg] if isinstance(node, list) and -len(node) <= seg < len(node) else None
            used = set()
            continue
        if seg.startswith("<") and seg.endswith(">") and not (isinstance(node, dict) and seg in node):
            continue
        if 0 < i < last and isinstance(node, dict):  # an event itself is never a union branch
            tag_key = next((k for k in ("type", "role") if k not in used and node.get(k) == seg), None)
            if tag_key is not None:
                used.add(tag_key)
                continue
        out += f".{seg}" if out else seg
        node = node.get(seg) if isinstance(node, dict) else None
        used = set()
    return out


def _kind(value: Any) -> str:
    """A JSON value's kind as OpenAI words it: "a string", "an array", "null"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _one_of(values: Iterable[str]) -> str:
    """`'a'`, `'a' and 'b'`, `'a', 'b', and 'c'`: OpenAI's list style (§4.2 `invalid_value`)."""
    quoted = [f"'{v}'" for v in values]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + ", and " + quoted[-1]


def _invalid_type(param: str, expected: str, value: Any, event_id: str | None) -> ClientProtocolError:
    message = f"Invalid type for '{param}': expected {expected}, but got {_kind(value)} instead."
    return ClientProtocolError("invalid_type", message, param=param, event_id=event_id)


def _invalid_value(param: str, value: str, supported: Iterable[str], event_id: str | None) -> ClientProtocolError:
    message = f"Invalid value: '{value}'. Supported values are: {_one_of(supported)}."
    return ClientProtocolError("invalid_value", message, param=param, event_id=event_id)


def _unknown(param: str, event_id: str | None) -> ClientProtocolError:
    return ClientProtocolError("unknown_parameter", f"Unknown parameter: '{param}'.", param=param, event_id=event_id)


_SERVER_NAMES = frozenset(
    {
        "SERVER_EVENT_TYPES",
        "SERVER_MODELS",
        "BetaConversationItemCreatedEvent",
        "BetaConversationItemRetrievedEvent",
        "BetaResponse",
        "BetaResponseAudioDeltaEvent",
        "BetaResponseAudioDoneEvent",
        "BetaResponseAudioTranscriptDeltaEvent",
        "BetaResponseAudioTranscriptDoneEvent",
        "BetaResponseCreatedEvent",
        "BetaResponseDoneEvent",
        "BetaResponseFunctionCallArgumentsDoneEvent",
        "BetaResponseOutputItemAddedEvent",
        "BetaResponseOutputItemDoneEvent",
        "BetaResponseTextDeltaEvent",
        "BetaResponseTextDoneEvent",
        "BetaSession",
        "BetaSessionCreatedEvent",
        "BetaSessionUpdatedEvent",
        "BetaTranscriptionClientSecret",
        "BetaTranscriptionSession",
        "BetaTranscriptionSessionCreatedEvent",
        "BetaTranscriptionSessionUpdatedEvent",
        "ContentPart",
        "ConversationItemAddedEvent",
        "ConversationItemCreatedEvent",
        "ConversationItemDeletedEvent",
        "ConversationItemDoneEvent",
        "ConversationItemRetrievedEvent",
        "ConversationItemTruncatedEvent",
        "ErrorDetail",
        "ErrorEvent",
        "GaSession",
        "InputAudioBufferClearedEvent",
        "InputAudioBufferCommittedEvent",
        "InputAudioBufferSpeechStartedEvent",
        "InputAudioBufferSpeechStoppedEvent",
        "InputAudioBufferTimeoutTriggeredEvent",
        "InputAudioTranscriptionCompletedEvent",
        "InputAudioTranscriptionDeltaEvent",
        "InputAudioTranscriptionFailedEvent",
        "Logprob",
        "RateLimit",
        "RateLimitsUpdatedEvent",
        "RealtimeSession",
        "Response",
        "ResponseContentPartAddedEvent",
        "ResponseContentPartDoneEvent",
        "ResponseCreatedEvent",
        "ResponseDoneEvent",
        "ResponseFunctionCallArgumentsDeltaEvent",
        "ResponseFunctionCallArgumentsDoneEvent",
        "ResponseOutputAudioDeltaEvent",
        "ResponseOutputAudioDoneEvent",
        "ResponseOutputAudioTranscriptDeltaEvent",
        "ResponseOutputAudioTranscriptDoneEvent",
        "ResponseOutputItemAddedEvent",
        "ResponseOutputItemDoneEvent",
        "ResponseOutputTextDeltaEvent",
        "ResponseOutputTextDoneEvent",
        "ResponseStatus",
        "SessionCreatedEvent",
        "SessionUpdatedEvent",
        "StatusDetails",
        "StatusError",
        "TranscriptionError",
        "TranscriptionLanguage",
        "TranscriptionSession",
    }
)


def __getattr__(name: str) -> Any:
    """The server-event models of `schemas.openai_server`, imported when first asked for (tests, tools)."""
    if name in _SERVER_NAMES:
        from schemas import openai_server

        return getattr(openai_server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
