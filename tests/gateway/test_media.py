"""The call's audio plumbing without a network: mic frames → appends, output audio → 20 ms track frames."""

from __future__ import annotations

import base64
import fractions

import aiortc.rtp
import av
import numpy as np
import pytest

from gateway.transports.media import (
    FRAME_SAMPLES,
    PCM16,
    Cut,
    MicConverter,
    OutputTrack,
    SpeechOnset,
    WireFormat,
    decode_output,
    mono,
    wire_format,
)
from gateway.transports.rtc_process import _audio_level_dbov
from translators.audio import Law
from translators.g711 import g711_encode


def _frame(samples: np.ndarray, layout: str = "stereo", rate: int = 48000) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(samples.astype(np.int16)[np.newaxis, :], format="s16", layout=layout)
    frame.sample_rate, frame.pts, frame.time_base = rate, 0, fractions.Fraction(1, rate)
    return frame


def _tone(n: int, rate: int = 48000, amplitude: float = 8000) -> np.ndarray:
    return (np.sin(2 * np.pi * 440 * np.arange(n) / rate) * amplitude).astype(np.int16)


@pytest.mark.parametrize(
    ("audio_format", "expected"),
    [
        ({"type": "audio/pcm", "rate": 24000}, PCM16),
        ("pcm16", PCM16),
        ({"type": "audio/pcmu"}, WireFormat(8000, Law.ULAW)),
        ("g711_alaw", WireFormat(8000, Law.ALAW)),
        (None, PCM16),
    ],
)
def test_wire_format_reads_both_dialects(audio_format: object, expected: WireFormat) -> None:
    """GA format objects and beta strings name the same rates and laws."""
    assert wire_format(audio_format) == expected


def test_mic_frames_become_pcm16_24k_appends() -> None:
    """A 20 ms stereo 48 kHz frame (aiortc's Opus output) → 20 ms of mono pcm16 at 24 kHz, left channel."""
    tone = _tone(FRAME_SAMPLES)
    stereo = np.column_stack([tone, np.zeros_like(tone)]).reshape(-1)
    samples = mono(_frame(stereo))
    assert np.array_equal(samples, tone)
    convert = MicConverter()
    total = sum(len(base64.b64decode(convert(samples, 48000))) for _ in range(50))
    assert 0.95 * 50 * 960 <= total <= 50 * 960  # 1 s at 24 kHz, 2 bytes a sample, less the resampler's delay


def test_mic_follows_a_g711_input_format() -> None:
    """A session that chose audio/pcmu gets µ-law at 8 kHz from the same mic frames."""
    convert = MicConverter()
    convert.set_format(WireFormat(8000, Law.ULAW))
    payloads = [base64.b64decode(convert(_tone(FRAME_SAMPLES), 48000)) for _ in range(50)]
    assert 0.85 * 8000 <= sum(map(len, payloads)) <= 8000  # 1 s at 8 kHz, a byte a sample, less the delay


def test_output_decodes_g711_deltas() -> None:
    pcm = _tone(800, rate=8000)
    b64 = base64.b64encode(g711_encode(pcm.tobytes(), Law.ALAW)).decode()
    decoded = decode_output(b64, WireFormat(8000, Law.ALAW))
    assert len(decoded) == 800 and np.corrcoef(decoded, pcm)[0, 1] > 0.99


def test_output_track_frames_audio_then_silence_and_reports_drain() -> None:
    """100 ms at 24 kHz → five 20 ms frames of voice at 48 kHz, then zeros; drained once, after finish."""
    drained: list[str] = []
    track = OutputTrack(drained.append)
    track.push("resp_1", "item_1", _tone(2400, rate=24000), 24000)
    assert not track.finish("resp_1")  # audio still queued: stopped must wait for it
    frames = [track._take() for _ in range(7)]
    voiced = [bool(np.abs(f).max() > 1000) for f in frames]
    assert voiced[:4] == [True] * 4 and voiced[6] is False
    assert drained == ["resp_1"]
    assert all(len(f) == FRAME_SAMPLES for f in frames)


def test_clear_drops_unplayed_audio() -> None:
    """A flush names the items it cut and how much of each played, and leaves nothing to play (or report)."""
    drained: list[str] = []
    track = OutputTrack(drained.append)
    track.push("resp_1", "item_1", _tone(24000, rate=24000), 24000)
    track._take()
    track.push("resp_2", "item_2", _tone(2400, rate=24000), 24000)
    assert track.clear() == [Cut("resp_1", "item_1", 20), Cut("resp_2", "item_2", 0)] and not track.buffered
    assert not np.any(track._take()) and drained == []
    assert track.clear() == []


def test_speech_onset_needs_200_ms_in_a_row() -> None:
    """Speech over playback is declared after 200 ms of loud frames in a row; a quiet frame restarts it."""
    onset = SpeechOnset(0.02)
    loud, quiet = _tone(FRAME_SAMPLES), np.zeros(FRAME_SAMPLES, dtype=np.int16)
    assert not any(onset(loud, 48000) for _ in range(9))
    assert not onset(quiet, 48000)
    assert [onset(loud, 48000) for _ in range(10)][-1] is True


@pytest.mark.parametrize("amplitude", [0, 1, 30, 3000, 32767])
def test_fast_audio_level_matches_aiortc(amplitude: int) -> None:
    """The numpy audio level equals aiortc's own (RFC 6465) for silence, near-silence and full scale."""
    frame = _frame(_tone(FRAME_SAMPLES, amplitude=amplitude), layout="mono")
    assert _audio_level_dbov(frame) == aiortc.rtp.compute_audio_level_dbov(frame)
