"""Test audio the emulator's energy VAD hears as speech (gateway/emulator/README.md), as PCM or a WAV file."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator

import numpy as np


def speech(seconds: float, rate: int = 24000) -> bytes:
    """pcm16 mono: a 180 Hz voice with harmonics and syllable-rate amplitude modulation (RMS ≈ 0.2)."""
    t = np.arange(int(rate * seconds)) / rate
    voice = sum(np.sin(2 * np.pi * 180 * k * t) / k for k in (1, 2, 3, 4))
    envelope = 0.8 + 0.2 * np.sin(2 * np.pi * 4 * t)
    return np.round(0.5 * 32767 * voice / 2.1 * envelope).astype("<i2").tobytes()


def silence(seconds: float, rate: int = 24000) -> bytes:
    return bytes(2 * int(rate * seconds))


def chunks(pcm: bytes, rate: int = 24000, ms: int = 20) -> Iterator[bytes]:
    """`pcm` in `ms`-long pieces, as a microphone sends it."""
    step = 2 * rate * ms // 1000
    for i in range(0, len(pcm), step):
        yield pcm[i : i + step]


def wav(pcm: bytes, rate: int) -> bytes:
    """A mono pcm16 WAV file of `pcm` (Chromium's fake microphone reads these)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()
