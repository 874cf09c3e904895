"""The OpenAI session config: one normalized form, updates from both dialects, rendering, Gemini setup.

OPENAI_REALTIME.md §5.1 (field map), §3.1 (defaults a real server shows); GEMINI_LIVE.md §3.1 (setup).
Updates are computed on a copy, so a rejected `session.update` changes nothing (§5.1, [LIVE]).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from schemas.openai import Dialect
from schemas.profiles import ModelProfile, Thinking, ToolBehavior
from schemas.voices import gemini_voice
from translators.errors import ClientProtocolError
from translators.tools import check_tools, declarations

PCM24K: dict[str, Any] = {"type": "audio/pcm", "rate": 24000}

# Beta format strings ↔ GA format objects (§5.1, §5.2).
BETA_TO_GA_FORMAT: dict[str, dict[str, Any]] = {
    "pcm16": PCM24K,
    "g711_ulaw": {"type": "audio/pcmu"},
    "g711_alaw": {"type": "audio/pcma"},
}
GA_TO_BETA_FORMAT: dict[str, str] = {fmt["type"]: name for name, fmt in BETA_TO_GA_FORMAT.items()}

# Defaults a real server fills in for each turn-detection type (§3.1, §5.3).
TURN_DETECTION_DEFAULTS: dict[str, dict[str, Any]] = {
    "server_vad": {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 200,
        "idle_timeout_ms": None,
        "create_response": True,
        "interrupt_response": True,
    },
    "semantic_vad": {
        "type": "semantic_vad",
        "eagerness": "auto",
        "create_response": True,
        "interrupt_response": True,
    },
}

# semantic_vad eagerness → how soon Gemini may decide the user has finished (GEMINI_LIVE.md §3.1).
EAGERNESS_TO_END_SENSITIVITY: dict[str, str] = {
    "low": "END_SENSITIVITY_LOW",
    "medium": "END_SENSITIVITY_HIGH",
    "auto": "END_SENSITIVITY_HIGH",
    "high": "END_SENSITIVITY_HIGH",
}

# Extended-thinking models refuse a setup without a thinking level and refuse MINIMAL (GEMINI_LIVE.md §3.1).
REQUIRED_THINKING_LEVEL = "LOW"

# The `behavior` each function declaration gets, by profile (schemas/profiles.py ToolBehavior).
FUNCTION_BEHAVIOR: dict[ToolBehavior, str | None] = {
    ToolBehavior.DEFAULT: None,
    ToolBehavior.BLOCKING: "BLOCKING",
    ToolBehavior.NON_BLOCKING: "NON_BLOCKING",
}

# Beta flat field → GA attribute on SessionConfig, for the fields that are a plain rename.
_BETA_RENAMES: dict[str, str] = {
    "instructions": "instructions",
    "voice": "voice",
    "speed": "speed",
    "input_audio_transcription": "transcription",
    "input_audio_noise_reduction": "noise_reduction",
    "tools": "tools",
    "tool_choice": "tool_choice",
    "temperature": "temperature",
    "max_response_output_tokens": "max_output_tokens",
    "tracing": "tracing",
    "model": "model",
    "include": "include",
}
_GA_PLAIN = (
    "instructions",
    "tools",
    "tool_choice",
    "max_output_tokens",
    "tracing",
    "truncation",
    "prompt",
    "include",
    "model",
)


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """The effective session, GA-shaped; both dialects render from it."""

    model: str
    instructions: str = ""
    output_modalities: tuple[str, ...] = ("audio",)
    voice: str | dict[str, Any] = "alloy"
    speed: float = 1.0
    input_format: dict[str, Any] = field(default_factory=lambda: dict(PCM24K))
    output_format: dict[str, Any] = field(default_factory=lambda: dict(PCM24K))
    transcription: dict[str, Any] | None = None
    noise_reduction: dict[str, Any] | None = None
    turn_detection: dict[str, Any] | None = field(default_factory=lambda: dict(TURN_DETECTION_DEFAULTS["server_vad"]))
    turn_detection_set: bool = False  # the client chose VAD settings; else Gemini's own defaults apply
    tools: tuple[dict[str, Any], ...] = ()
    tool_choice: str | dict[str, Any] = "auto"
    max_output_tokens: int | str = "inf"
    temperature: float | None = None  # beta only; None = Gemini's default
    tracing: Any = None
    truncation: Any = "auto"
    prompt: Any = None
    include: Any = None

    @property
    def manual_turns(self) -> bool:
        """The client commits and asks for responses itself (§3.4 manual-turn variant)."""
        td = self.turn_detection
        return td is None or not td.get("create_response", True)

    def apply(self, session: dict[str, Any], dialect: Dialect) -> SessionConfig:
        """A new config with a `session.update`'s fields applied; raises ClientProtocolError."""
        changes = _ga_changes(session) if dialect is Dialect.GA else _beta_changes(session)
        updated = replace(self, **changes)
        _check(updated, dialect)
        return updated

    def render(self, dialect: Dialect, session_id: str, expires_at: int) -> dict[str, Any]:
        """The full `session` object of `session.created` / `session.updated`."""
        if dialect is Dialect.GA:
            return self._render_ga(session_id, expires_at)
        return self._render_beta(session_id, expires_at)

    def _render_ga(self, session_id: str, expires_at: int) -> dict[str, Any]:
        return {
            "type": "realtime",
            "object": "realtime.session",
            "id": session_id,
            "model": self.model,
            "output_modalities": list(self.output_modalities),
            "instructions": self.instructions,
            "tools": list(self.tools),
            "tool_choice": self.tool_choice,
            "max_output_tokens": self.max_output_tokens,
            "tracing": self.tracing,
            "truncation": self.truncation,
            "prompt": self.prompt,
            "expires_at": expires_at,
            "audio": {
                "input": {
                    "format": self.input_format,
                    "transcription": self.transcription,
                    "noise_reduction": self.noise_reduction,
                    "turn_detection": self.turn_detection,
                },
                "output": {"format": self.output_format, "voice": self.voice, "speed": self.speed},
            },
            "include": self.include,
        }

    def _render_beta(self, session_id: str, expires_at: int) -> dict[str, Any]:
        turn_detection = self.turn_detection
        if turn_detection is not None:
            turn_detection = {k: v for k, v in turn_detection.items() if k != "idle_timeout_ms"}
        return {
            "id": session_id,
            "object": "realtime.session",
            "model": self.model,
            "expires_at": expires_at,
            "modalities": ["audio", "text"] if "audio" in self.output_modalities else ["text"],
            "instructions": self.instructions,
            "voice": self.voice,
            "input_audio_format": GA_TO_BETA_FORMAT[self.input_format["type"]],
            "output_audio_format": GA_TO_BETA_FORMAT[self.output_format["type"]],
            "input_audio_transcription": self.transcription,
            "input_audio_noise_reduction": self.noise_reduction,
            "turn_detection": turn_detection,
            "tools": list(self.tools),
            "tool_choice": self.tool_choice,
            "temperature": 0.8 if self.temperature is None else self.temperature,
            "max_response_output_tokens": self.max_output_tokens,
            "speed": self.speed,
            "tracing": self.tracing,
        }


def _turn_detection(value: dict[str, Any] | None) -> dict[str, Any]:
    if value is None:
        return {"turn_detection": None, "turn_detection_set": True}
    kind = value.get("type") or "server_vad"
    filled = {**TURN_DETECTION_DEFAULTS[kind], **{k: v for k, v in value.items() if v is not None}}
    return {"turn_detection": filled, "turn_detection_set": True}


def _ga_changes(session: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {k: session[k] for k in _GA_PLAIN if k in session}
    if "tools" in changes:
        changes["tools"] = tuple(changes["tools"])
    if "output_modalities" in session:
        changes["output_modalities"] = tuple(session["output_modalities"])
    audio = session.get("audio") or {}
    audio_in, audio_out = audio.get("input") or {}, audio.get("output") or {}
    for key, attr in (("format", "input_format"), ("transcription", "transcription")):
        if key in audio_in:
            changes[attr] = audio_in[key]
    if "noise_reduction" in audio_in:
        changes["noise_reduction"] = audio_in["noise_reduction"]
    if "turn_detection" in audio_in:
        changes.update(_turn_detection(audio_in["turn_detection"]))
    for key, attr in (("format", "output_format"), ("voice", "voice"), ("speed", "speed")):
        if key in audio_out:
            changes[attr] = audio_out[key]
    return changes


def _beta_changes(session: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {attr: session[k] for k, attr in _BETA_RENAMES.items() if k in session}
    if "tools" in changes:
        changes["tools"] = tuple(changes["tools"])
    if "modalities" in session:
        changes["output_modalities"] = ("audio",) if "audio" in session["modalities"] else ("text",)
    for key, attr in (("input_audio_format", "input_format"), ("output_audio_format", "output_format")):
        if key in session:
            changes[attr] = dict(BETA_TO_GA_FORMAT[session[key]])
    if "turn_detection" in session:
        changes.update(_turn_detection(session["turn_detection"]))
    return changes


def _check(cfg: SessionConfig, dialect: Dialect) -> None:
    """Semantic checks the shape validator cannot make."""
    if len(cfg.output_modalities) != 1 or cfg.output_modalities[0] not in ("audio", "text"):
        param = "session.output_modalities" if dialect is Dialect.GA else "session.modalities"
        raise ClientProtocolError(
            "invalid_value",
            "Invalid modalities: choose either ['text'] or ['audio'] (audio responses carry a transcript).",
            param=param,
        )
    if isinstance(cfg.voice, str) and gemini_voice(cfg.voice) is None:
        param = "session.audio.output.voice" if dialect is Dialect.GA else "session.voice"
        raise ClientProtocolError(
            "invalid_value",
            f"Invalid value: '{cfg.voice}'. Use an OpenAI voice (alloy, ash, ballad, coral, echo, sage, "
            "shimmer, verse, marin, cedar) or a Gemini prebuilt voice name (e.g. Puck, Kore, Zephyr).",
            param=param,
        )
    check_tools(cfg.tools, cfg.tool_choice, "session")
    if isinstance(cfg.voice, dict):
        param = "session.audio.output.voice" if dialect is Dialect.GA else "session.voice"
        raise ClientProtocolError(
            "invalid_value", "Custom voice ids are not available on Gemini; use a voice name.", param=param
        )


def upstream_is_text(cfg: SessionConfig, profile: ModelProfile) -> bool:
    """TEXT upstream only for text sessions on models that can emit TEXT (GEMINI_LIVE.md §9.1)."""
    return cfg.output_modalities == ("text",) and profile.text_output


def build_setup(
    cfg: SessionConfig, profile: ModelProfile, model_resource: str, *, initial_history: bool = False
) -> dict[str, Any]:
    """The Gemini `setup` message for this session (GEMINI_LIVE.md §3.1)."""
    text = upstream_is_text(cfg, profile)
    generation: dict[str, Any] = {"responseModalities": ["TEXT" if text else "AUDIO"]}
    if cfg.temperature is not None:
        generation["temperature"] = cfg.temperature
    if isinstance(cfg.max_output_tokens, int):
        generation["maxOutputTokens"] = cfg.max_output_tokens
    if not text and isinstance(cfg.voice, str):
        voice = gemini_voice(cfg.voice)
        generation["speechConfig"] = {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": voice}}}
    if profile.thinking is Thinking.LEVEL_REQUIRED:
        generation["thinkingConfig"] = {"thinkingLevel": REQUIRED_THINKING_LEVEL}
    setup: dict[str, Any] = {"model": model_resource, "generationConfig": generation}
    instruction, tools = context_of(cfg, profile)
    if instruction is not None:
        setup["systemInstruction"] = instruction
    if tools:
        setup["tools"] = tools
    if not text:
        setup["outputAudioTranscription"] = {}  # the transcript is our text (§9.1) and audio transcript
    if cfg.transcription is not None:
        setup["inputAudioTranscription"] = {}
    realtime = realtime_input_config(cfg)
    if realtime:
        setup["realtimeInputConfig"] = realtime
    if not text and profile.context_compression:
        setup["contextWindowCompression"] = _compression(profile)
    if initial_history:
        setup["historyConfig"] = {"initialHistoryInClientContent": True}  # 3.x history rule (§3.2)
    setup["sessionResumption"] = {}  # always resumable, so a dropped connection can be resumed
    return {"setup": setup}


def context_of(cfg: SessionConfig, profile: ModelProfile) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The setup's `systemInstruction` (None: none) and `tools`: what a `contextUpdate` can change in place."""
    functions, tool_instruction = declarations(cfg.tools, cfg.tool_choice)
    behavior = FUNCTION_BEHAVIOR[profile.tool_behavior]
    if behavior is not None:
        functions = [{**function, "behavior": behavior} for function in functions]
    text = "\n\n".join(part for part in (cfg.instructions, tool_instruction) if part)
    instruction = {"parts": [{"text": text}], "role": "user"} if text else None
    return instruction, [{"functionDeclarations": functions}] if functions else []


def _compression(profile: ModelProfile) -> dict[str, Any]:
    window: dict[str, Any] = {}
    if profile.compression_target_tokens is not None:
        window["targetTokens"] = profile.compression_target_tokens
    config: dict[str, Any] = {"slidingWindow": window}
    if profile.compression_trigger_tokens is not None:
        config["triggerTokens"] = profile.compression_trigger_tokens
    return config


def realtime_input_config(cfg: SessionConfig) -> dict[str, Any]:
    """turn_detection → realtimeInputConfig (GEMINI_LIVE.md §3.1, §9.5); empty when Gemini's defaults do.

    threshold ≥ 0.5 asks for less eager speech starts (START_SENSITIVITY_LOW); silence and padding map
    one to one; `interrupt_response: false` turns barge-in off; `null` or `create_response: false` is
    manual activity mode (the client's commit and response.create end the turn).
    """
    td = cfg.turn_detection
    if td is None or cfg.manual_turns:
        return {"automaticActivityDetection": {"disabled": True}}
    if not cfg.turn_detection_set:
        return {}
    detection: dict[str, Any] = {"disabled": False}
    if td["type"] == "server_vad":
        detection["startOfSpeechSensitivity"] = (
            "START_SENSITIVITY_LOW" if td["threshold"] >= 0.5 else "START_SENSITIVITY_HIGH"
        )
        detection["prefixPaddingMs"] = td["prefix_padding_ms"]
        detection["silenceDurationMs"] = td["silence_duration_ms"]
    else:
        detection["endOfSpeechSensitivity"] = EAGERNESS_TO_END_SENSITIVITY[td["eagerness"]]
    config: dict[str, Any] = {"automaticActivityDetection": detection}
    if not td["interrupt_response"]:
        config["activityHandling"] = "NO_INTERRUPTION"
    return config
