"""What each Gemini Live model accepts: one table, read by the translators and by the emulator.

Sources: GEMINI_LIVE.md §3.1, §3.2, §6 and §9; for 3.8 and the transcription models, Google's model pages
(ai.google.dev models/gemini-3.8-live, live-api/live-transcribe; checked 2026-11). Unknown models get
`DEFAULT_PROFILE`, the choice that works on every current Live model (AUDIO out + transcription, user text
as realtime text).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum


class UserText(Enum):
    """How a user's typed text reaches the model."""

    CLIENT_CONTENT = "client_content"  # clientContent{turns, turnComplete} (2.x models)
    REALTIME_TEXT = "realtime_text"  # realtimeInput.text (3.x: clientContent only as initial history)


class Thinking(Enum):
    """Which thinking knob a model takes (GEMINI_LIVE.md §3.1 generationConfig.thinkingConfig)."""

    NONE = "none"  # rejects any thinking config
    BUDGET = "budget"  # thinkingBudget (2.5 family)
    LEVEL = "level"  # thinkingLevel (3.x)
    LEVEL_REQUIRED = "level_required"  # a level is mandatory and MINIMAL is refused


class ToolBehavior(Enum):
    """What the setup says about each function's `behavior` (GEMINI_LIVE.md §3.1 functionDeclarations)."""

    DEFAULT = "default"  # left out: the model's default, BLOCKING (2.x, 3.1)
    BLOCKING = "blocking"  # BLOCKING said explicitly: the model's own default is NON_BLOCKING (3.8)
    NON_BLOCKING = "non_blocking"  # NON_BLOCKING on every function: the model refuses BLOCKING (3.8 thinking)


class ProactiveAudio(Enum):
    """What a setup's `proactivity.proactiveAudio` may say (GEMINI_LIVE.md §3.1; 3.8's model page)."""

    UNSUPPORTED = "unsupported"  # true is refused
    OPTIONAL = "optional"  # either value (native-audio 2.5)
    ALWAYS_ON = "always_on"  # on for good: false is refused on the Developer API (3.8: "returns an error")


class Backend(Enum):
    GEMINI = "gemini"  # Developer API (generativelanguage.googleapis.com)
    VERTEX = "vertex"  # Vertex AI (aiplatform.googleapis.com)


@dataclass(frozen=True)
class ModelProfile:
    """The capabilities of one Live model id."""

    text_output: bool = False  # accepts responseModalities ["TEXT"]
    user_text: UserText = UserText.REALTIME_TEXT
    history_at_start_only: bool = True  # clientContent only before any realtime input
    affective_dialog: bool = False
    proactive_audio: ProactiveAudio = ProactiveAudio.UNSUPPORTED
    thinking: Thinking = Thinking.NONE
    retired: bool = False  # the real service answers 1008 "not found"
    backends: frozenset[Backend] = frozenset({Backend.GEMINI, Backend.VERTEX})
    context_window: int = 131072
    # Sliding-window compression (GEMINI_LIVE.md §3.1, §5): lifts the ~15 min audio-session cap. On for
    # audio sessions unless an alias turns it off; None leaves Gemini's defaults (80% / half of that).
    context_compression: bool = True
    compression_trigger_tokens: int | None = None
    compression_target_tokens: int | None = None
    # OpenAI's function calls wait for their output; a model whose functions default to NON_BLOCKING is told
    # BLOCKING (3.8: "BLOCKING remains available for backward compatibility", its model page).
    tool_behavior: ToolBehavior = ToolBehavior.DEFAULT
    # Takes a mid-session `contextUpdate` (instructions, tools; google-genai `LiveClientContextUpdate`): a
    # session.update changing only those is applied in place. Per-model support is not in Google's docs;
    # a refusal (1007) makes the session fall back to reconnecting (translators/context_update.py).
    context_update: bool = False
    # A transcription model (live-transcribe page): TEXT modality, `inputAudioTranscription`, no model turns;
    # it serves OpenAI transcription sessions only (translators/transcription.py).
    transcription_only: bool = False
    # Start a fresh Gemini session (the conversation replayed) at the first turn boundary after this many
    # seconds of one Gemini session; None: never. For a model whose sessions end at a fixed age.
    fresh_session_after_s: float | None = None


PROFILE_FIELDS = frozenset(ModelProfile.__dataclass_fields__) - {"backends"}

DEFAULT_PROFILE = ModelProfile()

_NATIVE_AUDIO_25 = ModelProfile(
    user_text=UserText.CLIENT_CONTENT,
    history_at_start_only=False,
    affective_dialog=True,
    proactive_audio=ProactiveAudio.OPTIONAL,
    thinking=Thinking.BUDGET,
)
_LIVE_3 = ModelProfile(thinking=Thinking.LEVEL)
_TRANSCRIBE = ModelProfile(text_output=True, transcription_only=True, context_compression=False)
_DEV = frozenset({Backend.GEMINI})
_VERTEX = frozenset({Backend.VERTEX})

PROFILES: dict[str, ModelProfile] = {
    "gemini-3.1-flash-live-preview": _LIVE_3,
    # 3.8 (model page, "Migrating from Gemini 3.1 Flash Live"): no thinking level; functions NON_BLOCKING by
    # default; clientContent with explicit roles for the whole session; affective dialog removed; proactive
    # audio permanently on ("setting proactive_audio: false returns an error").
    "gemini-3.8-live": ModelProfile(
        proactive_audio=ProactiveAudio.ALWAYS_ON,
        user_text=UserText.CLIENT_CONTENT,
        history_at_start_only=False,
        thinking=Thinking.NONE,
        tool_behavior=ToolBehavior.BLOCKING,
        context_update=True,
    ),
    "gemini-3.8-live-extended-thinking": ModelProfile(
        thinking=Thinking.LEVEL_REQUIRED, tool_behavior=ToolBehavior.NON_BLOCKING, context_update=True
    ),
    "gemini-2.5-flash-native-audio-preview-12-2025": replace(_NATIVE_AUDIO_25, backends=_DEV),
    "gemini-2.5-flash-native-audio-preview-09-2025": replace(_NATIVE_AUDIO_25, backends=_DEV),
    "gemini-2.5-flash-native-audio-latest": replace(_NATIVE_AUDIO_25, backends=_DEV),
    "gemini-live-2.5-flash-native-audio": replace(_NATIVE_AUDIO_25, backends=_VERTEX),
    "gemini-live-2.5-flash": replace(_NATIVE_AUDIO_25, backends=_VERTEX),
    "gemini-live-2.5-flash-preview-native-audio-09-2025": replace(_NATIVE_AUDIO_25, backends=_VERTEX),
    "gemini-3.5-live-translate-preview": replace(_LIVE_3, backends=_DEV),
    # Transcription-only Live models (live-transcribe page): TEXT modality, audio in, interim and final input
    # transcriptions out, no model turns.
    "gemini-3.5-transcribe-live": _TRANSCRIBE,
    "gemini-3.5-transcribe-live-preview": _TRANSCRIBE,
    # Half-cascade models: the last that accepted TEXT output and clientContent turns. Retired on the
    # Developer API on 2025-12-09; kept so `retired` can be served as 1008 and TEXT sessions tested.
    "gemini-2.0-flash-live-preview-04-09": ModelProfile(
        text_output=True,
        user_text=UserText.CLIENT_CONTENT,
        history_at_start_only=False,
        backends=_VERTEX,
        context_window=32768,
    ),
    "gemini-2.0-flash-live-001": ModelProfile(
        text_output=True, user_text=UserText.CLIENT_CONTENT, history_at_start_only=False, retired=True
    ),
    "gemini-live-2.5-flash-preview": ModelProfile(
        text_output=True, user_text=UserText.CLIENT_CONTENT, history_at_start_only=False, retired=True
    ),
}


def profile_for(model_id: str) -> ModelProfile:
    """The profile of a bare model id (`models/` and Vertex resource prefixes are stripped)."""
    bare = model_id.rsplit("/", 1)[-1]
    return PROFILES.get(bare, DEFAULT_PROFILE)


def is_known(model_id: str) -> bool:
    return model_id.rsplit("/", 1)[-1] in PROFILES
