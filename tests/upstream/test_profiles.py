"""schemas/profiles.py covers the current Live models of GEMINI_LIVE.md §6; unknown ids get the safe default."""

from __future__ import annotations

import pytest

from schemas.profiles import DEFAULT_PROFILE, Backend, UserText, is_known, profile_for

CURRENT = {  # §6, mid-2026: model id → the backends it is served on
    "gemini-3.1-flash-live-preview": Backend.GEMINI,
    "gemini-3.8-live": Backend.GEMINI,
    "gemini-3.8-live-extended-thinking": Backend.GEMINI,
    "gemini-2.5-flash-native-audio-preview-12-2025": Backend.GEMINI,
    "gemini-2.5-flash-native-audio-preview-09-2025": Backend.GEMINI,
    "gemini-2.5-flash-native-audio-latest": Backend.GEMINI,
    "gemini-live-2.5-flash-native-audio": Backend.VERTEX,
    "gemini-live-2.5-flash": Backend.VERTEX,
    "gemini-live-2.5-flash-preview-native-audio-09-2025": Backend.VERTEX,
    "gemini-3.5-live-translate-preview": Backend.GEMINI,
    "gemini-3.5-transcribe-live": Backend.VERTEX,
    "gemini-3.5-transcribe-live-preview": Backend.GEMINI,
}


@pytest.mark.parametrize(("model", "backend"), sorted(CURRENT.items()))
def test_current_models_are_known(model: str, backend: Backend) -> None:
    """Every current Live model has a profile, served on its backend, not retired."""
    profile = profile_for(f"models/{model}")
    assert is_known(model) and backend in profile.backends and not profile.retired


@pytest.mark.parametrize("model", ["gemini-2.0-flash-live-001", "gemini-live-2.5-flash-preview"])
def test_shut_down_models_are_retired(model: str) -> None:
    """Models shut down on 2025-12-09 answer 1008 'not found' (§6)."""
    assert profile_for(model).retired


def test_unknown_model_gets_the_safe_default() -> None:
    """An unknown id: AUDIO + transcription, user text as realtimeInput.text (works on every current model)."""
    profile = profile_for("projects/p/locations/l/publishers/google/models/gemini-9-live")
    assert profile is DEFAULT_PROFILE and not profile.text_output and profile.user_text is UserText.REALTIME_TEXT
