"""What a `setup` must satisfy before `setupComplete`, per model profile (GEMINI_LIVE.md §1.3, §3.1, §6, §8).

Pure functions: each check raises `GeminiProtocolError` with the close code and reason Gemini uses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import best_match

from schemas.gemini import (
    PREBUILT_VOICES,
    ContextWindowCompressionConfig,
    FunctionDeclaration,
    GeminiProtocolError,
    GenerationConfig,
    Setup,
    ThinkingConfig,
    Tool,
)
from schemas.profiles import PROFILES, Backend, ModelProfile, ProactiveAudio, Thinking

from .routes import Route

INVALID_ARGUMENT = "Request contains an invalid argument."  # Google's generic 1007 reason (§5.1)
_VOICES = {name.lower() for name in PREBUILT_VOICES}
_DEVELOPER_MODEL = re.compile(r"^models/([^/]+)$")
_VERTEX_MODEL = re.compile(r"^(?:projects/[^/]+/locations/[^/]+/)?publishers/google/models/([^/]+)$")
# Google's rule for function names, quoted in its 400 "Invalid function name" errors.
_FUNCTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")
_MAX_THINKING_BUDGET = 24576  # 2.5 Flash
_MAX_DECLARATIONS = 128  # function declarations per request (Vertex function-calling reference)
_MODALITIES_REFUSED = "The requested combination of response modalities ({}) is not supported by the model"


def invalid_argument(detail: str) -> str:
    """Google's generic 1007 sentence with the emulator's detail, so test failures say what was wrong."""
    return f"{INVALID_ARGUMENT[:-1]}: {detail}"


@dataclass(frozen=True)
class SessionConfig:
    """The facts of an accepted setup that the rest of the session needs."""

    model_id: str  # bare id, a key of PROFILES
    profile: ModelProfile
    modality: str  # "AUDIO" or "TEXT": exactly one per session (§3.1)
    input_transcription: bool
    output_transcription: bool
    manual_activity: bool  # automaticActivityDetection.disabled: activityStart/End allowed (§3.3)
    resumable: bool  # sessionResumption present: send sessionResumptionUpdate (§3.1, §4)
    resume_handle: str | None
    initial_history: bool  # history-only model with historyConfig.initialHistoryInClientContent (§3.2)
    interrupts: bool = True  # activityHandling is not NO_INTERRUPTION: user activity stops the reply
    start_sensitivity: str | None = None  # automaticActivityDetection fields, as sent (§3.1)
    end_sensitivity: str | None = None
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None
    compression: tuple[int, int] | None = None  # (trigger, target) tokens of a sliding window (§3.1)
    transparent: bool = False  # Vertex sessionResumption.transparent: report lastConsumedClientMessageIndex


def check_setup(setup: Setup, route: Route) -> SessionConfig:
    """Validate `setup` for the route's backend and the model's profile; return the session facts."""
    model_id, profile = _resolve_model(setup.model, route)
    generation = setup.generation_config or GenerationConfig()
    modality = _check_modalities(generation.response_modalities or ["AUDIO"], profile)
    _check_thinking(generation.thinking_config, profile.thinking)
    _check_voice(generation)
    check_tools(setup.tools or [], profile)
    _check_features(setup, generation, profile, route.backend)
    _check_backend_fields(setup, route.backend)
    realtime = setup.realtime_input_config
    detection = realtime.automatic_activity_detection if realtime else None
    history = setup.history_config and setup.history_config.initial_history_in_client_content
    return SessionConfig(
        model_id=model_id,
        profile=profile,
        modality=modality,
        input_transcription=setup.input_audio_transcription is not None,
        output_transcription=setup.output_audio_transcription is not None,
        manual_activity=bool(detection and detection.disabled),
        resumable=setup.session_resumption is not None,
        resume_handle=setup.session_resumption.handle if setup.session_resumption else None,
        initial_history=bool(history) and profile.history_at_start_only,
        interrupts=not (realtime and realtime.activity_handling == "NO_INTERRUPTION"),
        start_sensitivity=detection.start_of_speech_sensitivity if detection else None,
        end_sensitivity=detection.end_of_speech_sensitivity if detection else None,
        prefix_padding_ms=detection.prefix_padding_ms if detection else None,
        silence_duration_ms=detection.silence_duration_ms if detection else None,
        compression=_compression(setup.context_window_compression, profile),
        transparent=bool(setup.session_resumption and setup.session_resumption.transparent),
    )


def _compression(config: ContextWindowCompressionConfig | None, profile: ModelProfile) -> tuple[int, int] | None:
    """§3.1 / [PROTO]: trigger defaults to 80% of the context window, the sliding window's target to half that.

    Without `slidingWindow` no compression mechanism is selected, so nothing is ever dropped.
    """
    if config is None or config.sliding_window is None:
        return None
    trigger = config.trigger_tokens if config.trigger_tokens is not None else profile.context_window * 4 // 5
    target = config.sliding_window.target_tokens
    return trigger, target if target is not None else trigger // 2


def not_found_reason(model: str, route: Route) -> str:
    """Google's 1008 text for an unknown, retired or wrong-backend model (§5.1); truncated later."""
    if route.backend is Backend.VERTEX:
        return f"Publisher Model `{model}` was not found or your project does not have access to it."
    return (
        f"{model} is not found for API version {route.version}, or is not supported for "
        "bidiGenerateContent. Call ListModels to see the list of available models and their supported "
        "methods."
    )


def _resolve_model(model: str, route: Route) -> tuple[str, ModelProfile]:
    # §1.3: `models/<id>` on the Developer API,
    # `[projects/p/locations/l/]publishers/google/models/<id>` on Vertex.
    pattern = _DEVELOPER_MODEL if route.backend is Backend.GEMINI else _VERTEX_MODEL
    match = pattern.match(model)
    profile = PROFILES.get(match.group(1)) if match else None
    if match is None or profile is None or profile.retired or route.backend not in profile.backends:
        raise GeminiProtocolError(code=1008, reason=not_found_reason(model, route))
    return match.group(1), profile


def _check_modalities(modalities: Sequence[str], profile: ModelProfile) -> str:
    # §3.1: exactly one modality; TEXT only on the half-cascade models (profile.text_output); transcription
    # models answer in text only (live-transcribe page: response_modalities=["TEXT"]).
    allowed = {"AUDIO"} | ({"TEXT"} if profile.text_output else set())
    if profile.transcription_only:
        allowed = {"TEXT"}
    if len(modalities) != 1 or modalities[0] not in allowed:
        raise GeminiProtocolError(reason=_MODALITIES_REFUSED.format(", ".join(modalities)))
    return modalities[0]


def _check_thinking(config: ThinkingConfig | None, thinking: Thinking) -> None:
    # §3.1 thinkingConfig, §5.1: 2.5 takes a budget, 3.x a level, 3.8 neither; extended thinking needs one.
    level = config.thinking_level if config else None
    level = None if level == "THINKING_LEVEL_UNSPECIFIED" else level
    budget = config.thinking_budget if config else None
    if level is not None and thinking in (Thinking.NONE, Thinking.BUDGET):
        raise GeminiProtocolError(reason="Thinking level is not supported for this model")
    if budget is not None and thinking is not Thinking.BUDGET:
        raise GeminiProtocolError(reason="Thinking budget is not supported for this model")
    if thinking is Thinking.NONE and config is not None and config.include_thoughts:
        raise GeminiProtocolError(reason="Thinking is not supported for this model")
    if budget is not None and not -1 <= budget <= _MAX_THINKING_BUDGET:
        raise GeminiProtocolError(
            reason=f"The thinking budget {budget} is invalid. Use -1 (dynamic) or 0..{_MAX_THINKING_BUDGET}."
        )
    if thinking is Thinking.LEVEL_REQUIRED and level is None:
        raise GeminiProtocolError(reason="Thinking level must be specified for this model")
    if thinking is Thinking.LEVEL_REQUIRED and level == "MINIMAL":
        raise GeminiProtocolError(reason="Thinking level MINIMAL is not supported for this model")


def _check_voice(generation: GenerationConfig) -> None:
    # §6: an unknown prebuilt voice closes the socket during setup.
    speech = generation.speech_config
    voice = speech.voice_config if speech else None
    prebuilt = voice.prebuilt_voice_config if voice else None
    name = prebuilt.voice_name if prebuilt else None
    if name is not None and name.lower() not in _VOICES:
        raise GeminiProtocolError(reason=invalid_argument(f'unknown voice name "{name}".'))


def check_tools(tools: list[Tool], profile: ModelProfile) -> None:
    """§3.1 tools, §5.1: code execution and URL context refused on audio models; declarations checked."""
    names: set[str] = set()
    if tools and profile.transcription_only:  # live-transcribe: speech-to-text only, no function calling
        raise GeminiProtocolError(reason=invalid_argument("tools are not supported for this model."))
    for tool in tools:
        if tool.code_execution is not None and not profile.text_output:
            raise GeminiProtocolError(reason="Code Execution tool is not supported for this model")
        if tool.url_context is not None and not profile.text_output:
            raise GeminiProtocolError(reason="URL Context tool is not supported for this model")
        for declaration in tool.function_declarations or []:
            _check_declaration(declaration, names, profile)
            names.add(declaration.name)
    if len(names) > _MAX_DECLARATIONS:
        raise GeminiProtocolError(reason=invalid_argument(f"at most {_MAX_DECLARATIONS} function declarations."))


def _check_declaration(declaration: FunctionDeclaration, seen: set[str], profile: ModelProfile) -> None:
    if not _FUNCTION_NAME.match(declaration.name):
        raise GeminiProtocolError(
            reason=f"Invalid function name {declaration.name!r}. Must start with a letter or an "
            "underscore and contain only a-z, A-Z, 0-9, _ . : -, at most 64 characters."
        )
    if declaration.name in seen:
        raise GeminiProtocolError(reason=f"Duplicate function declaration found: {declaration.name}")
    if declaration.parameters is not None and declaration.parameters_json_schema is not None:
        detail = f"{declaration.name} sets both parameters and parametersJsonSchema."
        raise GeminiProtocolError(reason=invalid_argument(detail))
    if declaration.parameters_json_schema is not None:
        _check_json_schema(declaration.name, declaration.parameters_json_schema)
    # §4.1 tool call: extended thinking requires NON_BLOCKING on every function.
    if profile.thinking is Thinking.LEVEL_REQUIRED and declaration.behavior != "NON_BLOCKING":
        raise GeminiProtocolError(reason="BLOCKING function calls are not supported for this model")


def _check_json_schema(name: str, schema: object) -> None:
    """parametersJsonSchema must be a valid JSON Schema describing an object (google-genai FunctionDeclaration)."""
    if not isinstance(schema, dict):
        raise GeminiProtocolError(reason=invalid_argument(f"{name}: parameters_json_schema must be an object."))
    cls = validators.validator_for(schema, default=Draft202012Validator)
    try:
        error = best_match(cls(cls.META_SCHEMA).iter_errors(schema))
    except RecursionError:
        raise GeminiProtocolError(reason=invalid_argument(f"{name}: parameters_json_schema is too deep.")) from None
    if error is not None:
        raise GeminiProtocolError(reason=invalid_argument(f"{name}: invalid parameters_json_schema: {error.message}."))
    if schema.get("type", "object") != "object":
        raise GeminiProtocolError(reason=invalid_argument(f"{name}: parameters_json_schema must describe an object."))


def _check_features(setup: Setup, generation: GenerationConfig, profile: ModelProfile, backend: Backend) -> None:
    # §3.1 / §6: affective dialog and proactive audio exist only on the native-audio 2.5 models; 3.8 has
    # proactive audio on for good and its Developer API refuses turning it off (its model page).
    if generation.enable_affective_dialog and not profile.affective_dialog:
        raise GeminiProtocolError(reason="Affective dialog is not supported for this model")
    asked = setup.proactivity.proactive_audio if setup.proactivity else None
    if asked and profile.proactive_audio is ProactiveAudio.UNSUPPORTED:
        raise GeminiProtocolError(reason="Proactive audio is not supported for this model")
    if asked is False and profile.proactive_audio is ProactiveAudio.ALWAYS_ON and backend is Backend.GEMINI:
        raise GeminiProtocolError(reason="Proactive audio cannot be disabled for this model")


def _unknown_name(name: str, where: str) -> GeminiProtocolError:
    return GeminiProtocolError(
        reason=f"Invalid JSON payload received. Unknown name \"{name}\" at '{where}': Cannot find field."
    )


def _check_backend_fields(setup: Setup, backend: Backend) -> None:
    # §3.1 / §8: explicitVadSignal and sessionResumption.transparent are Vertex-only, labels Developer-only;
    # the other backend's proto has no such field.
    if backend is Backend.GEMINI and setup.explicit_vad_signal is not None:
        raise _unknown_name("explicitVadSignal", "setup")
    if backend is Backend.GEMINI and setup.session_resumption and setup.session_resumption.transparent is not None:
        raise _unknown_name("transparent", "setup.session_resumption")
    if backend is Backend.VERTEX and setup.labels is not None:
        raise _unknown_name("labels", "setup")
