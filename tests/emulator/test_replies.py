"""gateway/emulator/replies.py: the deterministic model's text, chunks, audio and usage."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from gateway.emulator.replies import (
    HELLO,
    OUTPUT_RATE,
    count_tokens,
    reply_frames,
    reply_text,
    tone,
    usage,
    word_chunks,
)
from schemas.gemini import ServerMessage, UsageMetadata
from schemas.profiles import Backend


def test_reply_text() -> None:
    """`You said: T`, or the greeting when there is no user text."""
    assert reply_text("hi") == "You said: hi"
    assert reply_text("") == reply_text("  \n") == HELLO


@given(st.text())
def test_word_chunks_concatenate_back(text: str) -> None:
    """The chunks are the text, split before each word."""
    chunks = word_chunks(text)
    assert "".join(chunks) == text
    assert len(chunks) == max(1, len(text.split())) or text == ""


def test_tone_is_deterministic_pcm() -> None:
    """100 ms of 24 kHz PCM16 per word, identical on every call, different per word."""
    assert len(tone(0, 100)) == OUTPUT_RATE // 10 * 2
    assert tone(1, 100) == tone(1, 100) != tone(2, 100)


def test_usage_names_per_backend() -> None:
    """Developer `response*`, Vertex `candidates*` + trafficType (§8); zero prompt modalities are left out."""
    dev = usage(Backend.GEMINI, {"TEXT": 5, "AUDIO": 0}, 3, "AUDIO").to_wire()
    assert dev == {
        "promptTokenCount": 5,
        "responseTokenCount": 3,
        "totalTokenCount": 8,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 5}],
        "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": 3}],
    }
    vertex = usage(Backend.VERTEX, {"TEXT": 5, "AUDIO": 7}, 3, "TEXT").to_wire()
    assert vertex["candidatesTokenCount"] == 3 and vertex["trafficType"] == "ON_DEMAND"
    assert vertex["candidatesTokensDetails"] == [{"modality": "TEXT", "tokenCount": 3}]
    assert vertex["promptTokenCount"] == 12 and "responseTokenCount" not in vertex


def test_text_turn_frames() -> None:
    """TEXT: one text chunk per word, then generationComplete, then turnComplete with usage."""
    frames = reply_frames(
        "a b c", modality="TEXT", transcribe=True, usage_metadata=UsageMetadata(), audio_ms=100
    )
    for frame in frames:
        ServerMessage.model_validate(frame)
    assert [f["serverContent"]["modelTurn"]["parts"][0]["text"] for f in frames[:3]] == ["a ", "b ", "c"]
    assert frames[3] == {"serverContent": {"generationComplete": True}}
    assert frames[4] == {"serverContent": {"turnComplete": True}, "usageMetadata": {}}


def test_audio_turn_frames() -> None:
    """AUDIO: standard-base64 PCM chunks interleaved with transcript fragments when transcription is on."""
    frames = reply_frames(
        "a b", modality="AUDIO", transcribe=True, usage_metadata=UsageMetadata(), audio_ms=50
    )
    blob = frames[0]["serverContent"]["modelTurn"]["parts"][0]["inlineData"]
    assert blob["mimeType"] == "audio/pcm;rate=24000"
    assert base64.b64decode(blob["data"], validate=True) == tone(0, 50)
    assert frames[1] == {"serverContent": {"outputTranscription": {"text": "a "}}}
    assert len(frames) == 6
    silent = reply_frames(
        "a b", modality="AUDIO", transcribe=False, usage_metadata=UsageMetadata(), audio_ms=50
    )
    assert len(silent) == 4


def test_count_tokens() -> None:
    """One token per word."""
    assert count_tokens("You said: hi  there\n") == 4
    assert count_tokens("") == 0
