"""Transcription sessions' config: how OpenAI shows it (GA `session`, beta `transcription_session`) and the
Gemini setup that serves it.

OPENAI_REALTIME.md §3.8: a GA transcription session is `{type: "transcription", object:
"realtime.transcription_session", audio.input{format, transcription, noise_reduction, turn_detection},
include}`; beta clients get `transcription_session.created/updated` with the flat fields. The config itself is
the conversation's `SessionConfig` (the same `audio.input` fields, applied by the same code).

Gemini's live transcription (ai.google.dev live-api/live-transcribe, google-genai `AudioTranscriptionConfig`):
a transcription model, `responseModalities: ["TEXT"]`, `inputAudioTranscription` with `languageHints` and
`adaptationPhrases` (OpenAI's `language`/`languages` and `keywords`), the same `realtimeInputConfig` VAD
mapping as conversations. No `sessionResumption`: a transcription has no conversation to restore, so a new
upstream simply starts listening again.
"""

from __future__ import annotations

from typing import Any

from schemas.openai import Dialect
from translators.session_config import GA_TO_BETA_FORMAT, SessionConfig, realtime_input_config

# Turn-detection fields that only mean something when responses exist (create/interrupt a response).
_RESPONSE_ONLY = ("create_response", "interrupt_response")


def render_transcription(cfg: SessionConfig, dialect: Dialect, session_id: str, expires_at: int) -> dict[str, Any]:
    """The `session` of `session.created/updated` (GA) or `transcription_session.created/updated` (beta)."""
    detection = cfg.turn_detection
    if detection is not None:
        detection = {k: v for k, v in detection.items() if k not in _RESPONSE_ONLY}
    if dialect is Dialect.GA:
        audio_in = {
            "format": cfg.input_format,
            "transcription": cfg.transcription,
            "noise_reduction": cfg.noise_reduction,
            "turn_detection": detection,
        }
        return {
            "type": "transcription",
            "object": "realtime.transcription_session",
            "id": session_id,
            "expires_at": expires_at,
            "audio": {"input": audio_in},
            "include": cfg.include,
        }
    if detection is not None:
        detection = {k: v for k, v in detection.items() if k != "idle_timeout_ms"}
    return {
        # The beta type requires a client secret; none is minted for a WebSocket session (an empty value).
        "client_secret": {"value": "", "expires_at": expires_at},
        "id": session_id,
        "object": "realtime.transcription_session",
        "expires_at": expires_at,
        "modalities": ["text"],
        "input_audio_format": GA_TO_BETA_FORMAT[cfg.input_format["type"]],
        "input_audio_transcription": cfg.transcription,
        "input_audio_noise_reduction": cfg.noise_reduction,
        "turn_detection": detection,
        "include": cfg.include,
    }


def transcription_setup(cfg: SessionConfig, model_resource: str) -> dict[str, Any]:
    """The Gemini `setup` of a transcription session."""
    setup: dict[str, Any] = {
        "model": model_resource,
        "generationConfig": {"responseModalities": ["TEXT"]},
        "inputAudioTranscription": transcription_options(cfg.transcription or {}),
    }
    realtime = realtime_input_config(cfg)
    if realtime:
        setup["realtimeInputConfig"] = realtime
    return {"setup": setup}


def transcription_options(transcription: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's transcription settings as Gemini's `AudioTranscriptionConfig`; `model` and `prompt` have no
    counterpart (the alias chooses the model; a free-text prompt is not a phrase list)."""
    languages = list(transcription.get("languages") or ())
    if transcription.get("language") and transcription["language"] not in languages:
        languages.insert(0, transcription["language"])
    options: dict[str, Any] = {}
    if languages:
        options["languageHints"] = {"languageCodes": languages}
    if transcription.get("keywords"):
        options["adaptationPhrases"] = list(transcription["keywords"])
    return options
