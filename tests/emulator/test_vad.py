"""gateway/emulator/vad.py: energy VAD on synthetic signals, timed in audio samples."""

from __future__ import annotations

import pytest

from gateway.emulator.vad import Vad, VadEvent, VadSettings, pcm_rate

from .helpers import chunked, noise_pcm, silence_pcm, tone_pcm

RATES = [24000, 16000, 8000]


def events(pcm: bytes, rate: int, settings: VadSettings | None = None, chunk_ms: int = 20) -> list[VadEvent]:
    vad = Vad(settings or VadSettings())
    return [event for chunk in chunked(pcm, rate, chunk_ms) for event in vad.feed(chunk, rate)]


@pytest.mark.parametrize("rate", RATES)
def test_tone_is_speech_and_silence_ends_it(rate: int) -> None:
    """0.3-amplitude tone between silences: one start at the tone, one end at the first silent frame."""
    pcm = silence_pcm(rate, 200) + tone_pcm(rate, 400) + silence_pcm(rate, 700)
    assert events(pcm, rate) == [VadEvent("start", 200.0), VadEvent("end", 600.0)]


@pytest.mark.parametrize("rate", RATES)
def test_silence_and_low_noise_are_not_speech(rate: int) -> None:
    """Digital zeros, low noise (RMS 0.005) and a faint tone (0.01 amplitude) never start speech."""
    pcm = silence_pcm(rate, 300) + noise_pcm(rate, 1000) + tone_pcm(rate, 300, amplitude=0.01)
    assert events(pcm, rate) == []


@pytest.mark.parametrize("chunk_ms", [7, 20, 100, 1000])
def test_chunking_does_not_matter(chunk_ms: int) -> None:
    """Audio time, not message count or wall clock: any chunking gives the same events."""
    pcm = tone_pcm(16000, 300) + silence_pcm(16000, 600) + tone_pcm(16000, 100)
    assert events(pcm, 16000, chunk_ms=chunk_ms) == [
        VadEvent("start", 0.0),
        VadEvent("end", 300.0),
        VadEvent("start", 900.0),
    ]


def test_prefix_padding_needs_consecutive_voiced_frames() -> None:
    """A 20 ms click does not start speech with the default 40 ms prefix; prefixPaddingMs=0 lets it."""
    click = silence_pcm(16000, 100) + tone_pcm(16000, 20) + silence_pcm(16000, 100)
    assert events(click, 16000) == []
    assert events(click, 16000, VadSettings(prefix_ms=0))[0] == VadEvent("start", 100.0)
    assert events(click, 16000, VadSettings(prefix_ms=100)) == []


def test_silence_duration() -> None:
    """silenceDurationMs: a 300 ms gap ends speech at 200 ms silence, not at the 500 ms default."""
    pcm = tone_pcm(16000, 200) + silence_pcm(16000, 300) + tone_pcm(16000, 200)
    assert [e.kind for e in events(pcm, 16000)] == ["start"]
    assert [e.kind for e in events(pcm, 16000, VadSettings(silence_ms=200))] == ["start", "end", "start"]


def test_sensitivities_scale_the_thresholds() -> None:
    """LOW start sensitivity doubles the threshold; LOW end sensitivity halves the end threshold (§3.1)."""
    high = VadSettings.from_setup(
        0.02,
        start_sensitivity="START_SENSITIVITY_HIGH",
        end_sensitivity="END_SENSITIVITY_HIGH",
        prefix_padding_ms=None,
        silence_duration_ms=None,
        vertex=False,
    )
    assert (high.start_threshold, high.end_threshold, high.prefix_ms, high.silence_ms) == (0.02, 0.02, 40, 500)
    low = VadSettings.from_setup(
        0.02,
        start_sensitivity="START_SENSITIVITY_LOW",
        end_sensitivity="END_SENSITIVITY_LOW",
        prefix_padding_ms=20,
        silence_duration_ms=800,
        vertex=False,
    )
    assert (low.start_threshold, low.end_threshold, low.prefix_ms, low.silence_ms) == (0.04, 0.02, 20, 800)
    vertex_default = VadSettings.from_setup(
        0.02,
        start_sensitivity=None,
        end_sensitivity=None,
        prefix_padding_ms=None,
        silence_duration_ms=None,
        vertex=True,
    )
    assert vertex_default == VadSettings(start_threshold=0.04, end_threshold=0.02)  # §8: LOW on Vertex
    quiet = tone_pcm(16000, 200, amplitude=0.04)  # RMS ≈ 0.028: between the two start thresholds
    assert events(quiet, 16000, high) and not events(quiet, 16000, low)


def test_flush_ends_speech_now() -> None:
    """audioStreamEnd: speech in progress ends at once; nothing happens when silent."""
    vad = Vad(VadSettings())
    assert vad.flush() == []
    assert vad.feed(tone_pcm(16000, 200), 16000) == [VadEvent("start", 0.0)]
    assert vad.flush() == [VadEvent("end", 200.0)]
    assert not vad.speaking


def test_pcm_rate() -> None:
    """The rate comes from the MIME type; raw PCM without one is 16 kHz; other audio is not listened to."""
    assert pcm_rate("audio/pcm;rate=24000") == 24000
    assert pcm_rate("audio/pcm") == 16000
    assert pcm_rate("audio/ogg") is None
