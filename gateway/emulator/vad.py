"""The emulator's voice activity detector: frame energy against a threshold, timed in audio samples.

Rules (GEMINI_LIVE.md §3.1 automaticActivityDetection, §3.3):

* Input is PCM16 LE mono at the rate of the MIME type (`audio/pcm;rate=24000`; no rate means 16 kHz).
* The audio is cut into 20 ms frames (a partial frame waits for the next chunk). A frame's level is its
  RMS relative to full scale (32768 = 1.0).
* Start threshold: `Script.vad_threshold` (0.02, about -34 dBFS) at START_SENSITIVITY_HIGH, twice that at
  START_SENSITIVITY_LOW. Digital silence and low noise (RMS ≲ 0.01) stay below it; a 0.3-amplitude tone
  (RMS 0.21) or normal speech is far above.
* End threshold (hysteresis): the start threshold at END_SENSITIVITY_HIGH (speech ends more easily), half of
  it at END_SENSITIVITY_LOW. The unspecified default is HIGH on the Developer API and LOW on Vertex (§8).
* Speech starts once `prefixPaddingMs` (default 40 ms, at least one frame) of consecutive frames are at or
  above the start threshold; its offset is the first of those frames.
* Speech ends once `silenceDurationMs` (default 500 ms) of consecutive frames are below the end threshold;
  its offset is the first silent frame. `audioStreamEnd` ends it at once (`flush`).
* Time is audio time (samples received), never the wall clock, so results do not depend on sending speed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

FRAME_MS = 20
DEFAULT_PREFIX_MS = 40
DEFAULT_SILENCE_MS = 500
DEFAULT_RATE = 16000  # §3.3: 16 kHz is Gemini's native input rate
_FULL_SCALE = 32768.0
_RATE = re.compile(r"rate=(\d+)")

VadEventKind = Literal["start", "end"]


def pcm_rate(mime: str) -> int | None:
    """The sample rate of a raw PCM16 MIME type, or None when the audio is not raw PCM."""
    if not mime.lower().startswith("audio/pcm"):
        return None
    match = _RATE.search(mime)
    rate = int(match.group(1)) if match else DEFAULT_RATE
    return rate if rate > 0 else None


@dataclass(frozen=True)
class VadSettings:
    """Thresholds (RMS, full scale 1.0) and durations of one session's detector."""

    start_threshold: float = 0.02
    end_threshold: float = 0.02
    prefix_ms: int = DEFAULT_PREFIX_MS
    silence_ms: int = DEFAULT_SILENCE_MS

    @classmethod
    def from_setup(
        cls,
        threshold: float,
        *,
        start_sensitivity: str | None,
        end_sensitivity: str | None,
        prefix_padding_ms: int | None,
        silence_duration_ms: int | None,
        vertex: bool,
    ) -> VadSettings:
        default = "LOW" if vertex else "HIGH"  # §8: the backends' default sensitivities differ
        start = _level(start_sensitivity, default)
        end = _level(end_sensitivity, default)
        start_threshold = threshold * (2.0 if start == "LOW" else 1.0)
        return cls(
            start_threshold=start_threshold,
            end_threshold=start_threshold * (0.5 if end == "LOW" else 1.0),
            prefix_ms=DEFAULT_PREFIX_MS if prefix_padding_ms is None else max(0, prefix_padding_ms),
            silence_ms=DEFAULT_SILENCE_MS if silence_duration_ms is None else max(0, silence_duration_ms),
        )


def _level(sensitivity: str | None, default: str) -> str:
    if sensitivity is None or sensitivity.endswith("UNSPECIFIED"):
        return default
    return "LOW" if sensitivity.endswith("LOW") else "HIGH"


@dataclass(frozen=True)
class VadEvent:
    kind: VadEventKind
    offset_ms: float  # audio time since the session's first sample


class Vad:
    """Speech start/end from a stream of PCM16 chunks (one detector per session)."""

    def __init__(self, settings: VadSettings) -> None:
        self.settings = settings
        self.speaking = False
        self.ms = 0.0  # audio time consumed, in whole frames
        self._rate = 0
        self._rest = b""  # bytes of an incomplete frame
        self._voiced = 0  # consecutive voiced frames while silent
        self._silent = 0  # consecutive silent frames while speaking
        self._prefix_frames = max(1, math.ceil(settings.prefix_ms / FRAME_MS))
        self._silence_frames = max(1, math.ceil(settings.silence_ms / FRAME_MS))

    def feed(self, pcm: bytes, rate: int) -> list[VadEvent]:
        if rate != self._rate:
            self._rate, self._rest = rate, b""
        samples_per_frame = max(1, rate * FRAME_MS // 1000)
        frame_bytes = 2 * samples_per_frame
        data = self._rest + pcm if self._rest else pcm
        count = len(data) // frame_bytes
        self._rest = data[count * frame_bytes :]
        if count == 0:
            return []
        samples = np.frombuffer(data, dtype="<i2", count=count * samples_per_frame).astype(np.float64)
        frames = samples.reshape(count, samples_per_frame)
        levels = np.sqrt(np.einsum("ij,ij->i", frames, frames) / samples_per_frame) / _FULL_SCALE
        return self._advance(levels.tolist(), samples_per_frame * 1000.0 / rate)

    def _advance(self, levels: list[float], frame_ms: float) -> list[VadEvent]:
        events: list[VadEvent] = []
        settings = self.settings
        for level in levels:
            self.ms += frame_ms
            if not self.speaking:
                self._voiced = self._voiced + 1 if level >= settings.start_threshold else 0
                if self._voiced >= self._prefix_frames:
                    self.speaking, self._silent = True, 0
                    events.append(VadEvent("start", self.ms - self._voiced * frame_ms))
            else:
                self._silent = self._silent + 1 if level < settings.end_threshold else 0
                if self._silent >= self._silence_frames:
                    self.speaking, self._voiced = False, 0
                    events.append(VadEvent("end", self.ms - self._silent * frame_ms))
        return events

    def flush(self) -> list[VadEvent]:
        """`audioStreamEnd`: the microphone stopped; speech in progress ends now."""
        self._rest, self._voiced = b"", 0
        if not self.speaking:
            return []
        self.speaking = False
        frame_ms = FRAME_MS if not self._rate else max(1, self._rate * FRAME_MS // 1000) * 1000.0 / self._rate
        return [VadEvent("end", self.ms - self._silent * frame_ms)]
