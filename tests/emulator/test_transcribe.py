"""The emulated transcription model (gemini-3.5-transcribe-live): TEXT only, interim snapshots, one final
transcript and generationComplete per utterance, no model turns; text input and tools refused."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.emulator.behaviour import SessionState

from .helpers import audio_message, server_content, silence_pcm, tone_pcm
from .pure import DEV, closed_with, feed, feed_audio, sent, started, user

TRANSCRIBE = "gemini-3.5-transcribe-live"
TEXT: dict[str, Any] = {"generationConfig": {"responseModalities": ["TEXT"]}, "inputAudioTranscription": {}}
SPEECH = tone_pcm(16000, 300) + silence_pcm(16000, 600)


def test_an_utterance_is_interim_then_final_then_generation_complete() -> None:
    """Speech start: a snapshot of the first word; speech end: the whole snapshot, the transcript, done."""
    state = started(TRANSCRIBE, **TEXT)
    frames = feed_audio(state, SPEECH)
    assert server_content(frames, "interimInputTranscription") == [{"text": "user"}, {"text": "user speech 1"}]
    assert server_content(frames, "inputTranscription") == [{"text": "user speech 1"}]
    assert server_content(frames, "generationComplete") == [True]
    assert (
        "usageMetadata" in frames[-1] and frames[-1]["usageMetadata"]["promptTokensDetails"][0]["modality"] == "AUDIO"
    )
    assert not server_content(frames, "modelTurn") and not server_content(frames, "turnComplete")


def test_manual_activity_and_audio_stream_end_finalize_too() -> None:
    """activityStart/End bracket one utterance; with automatic VAD, audioStreamEnd ends speech at once."""
    manual = started(TRANSCRIBE, realtimeInputConfig={"automaticActivityDetection": {"disabled": True}}, **TEXT)
    feed(manual, {"realtimeInput": {"activityStart": {}}})
    feed(manual, audio_message(tone_pcm(16000, 200), 16000))
    frames = sent(feed(manual, {"realtimeInput": {"activityEnd": {}}}))
    assert server_content(frames, "inputTranscription") == [{"text": "user speech 1"}]
    auto = started(TRANSCRIBE, **TEXT)
    feed(auto, audio_message(tone_pcm(16000, 200), 16000))
    frames = sent(feed(auto, {"realtimeInput": {"audioStreamEnd": True}}))
    assert server_content(frames, "generationComplete") == [True]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"generationConfig": {"responseModalities": ["AUDIO"]}}, "response modalities (AUDIO)"),
        ({**TEXT, "tools": [{"functionDeclarations": [{"name": "f"}]}]}, "tools are not supported"),
    ],
)
def test_setup_refusals(fields: dict[str, Any], reason: str) -> None:
    """AUDIO output or tools on a transcription model close with 1007."""
    state_fields = {"model": f"models/{TRANSCRIBE}", **fields}
    code, text = closed_with(feed(SessionState(DEV), {"setup": state_fields}))
    assert code == 1007 and reason in text


def test_text_input_is_refused() -> None:
    """A transcription model only listens: realtime text or clientContent close with 1007."""
    assert closed_with(feed(started(TRANSCRIBE, **TEXT), {"realtimeInput": {"text": "hi"}}))[0] == 1007
    assert closed_with(feed(started(TRANSCRIBE, **TEXT), user("hi")))[0] == 1007
