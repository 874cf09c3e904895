"""G.711 µ-law / A-law companding tables and the 24 kHz → 8 kHz resampler (numpy, soxr).

Imported only by sessions that use G.711 (translators/audio.py), so a gateway serving pcm16 never loads
numpy or soxr (issue #15: idle RSS and start-up). The tables follow ITU-T G.711 (segment search as in the
classic reference code), built once at import, vectorised (a few ms).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import soxr

from translators.formats import G711_RATE, GEMINI_OUTPUT_RATE, Law

_ALAW_SEG_END = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])  # segment upper bounds (G.711)
_ULAW_SEG_END = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])


def _ulaw_decode(codes: npt.NDArray[np.int32]) -> npt.NDArray[np.int16]:
    code = ~codes & 0xFF
    value = (((code & 0xF) << 3) + 0x84) << ((code & 0x70) >> 4)
    return np.where(code & 0x80, 0x84 - value, value - 0x84).astype(np.int16)


def _alaw_decode(codes: npt.NDArray[np.int32]) -> npt.NDArray[np.int16]:
    code = codes ^ 0x55
    value = (code & 0xF) << 4
    seg = (code & 0x70) >> 4
    value = np.where(seg == 0, value + 8, (value + 0x108) << np.maximum(seg - 1, 0))
    return np.where(code & 0x80, value, -value).astype(np.int16)


def _ulaw_encode(samples: npt.NDArray[np.int32]) -> npt.NDArray[np.uint8]:
    value = samples >> 2
    mask = np.where(value < 0, 0x7F, 0xFF)
    value = np.minimum(np.abs(value), 8159) + 33
    seg = np.searchsorted(_ULAW_SEG_END, value)  # the first segment whose end is >= value
    code = (seg << 4) | ((value >> (seg + 1)) & 0xF)
    return (np.where(seg >= 8, 0x7F, code) ^ mask).astype(np.uint8)


def _alaw_encode(samples: npt.NDArray[np.int32]) -> npt.NDArray[np.uint8]:
    value = samples >> 3
    mask = np.where(value >= 0, 0xD5, 0x55)
    value = np.where(value < 0, -value - 1, value)
    seg = np.searchsorted(_ALAW_SEG_END, value)
    code = (seg << 4) | ((value >> np.where(seg < 2, 1, seg)) & 0xF)
    return (np.where(seg >= 8, 0x7F, code) ^ mask).astype(np.uint8)


# Code byte → pcm16 sample, and pcm16 sample + 32768 → code byte.
_CODES = np.arange(256, dtype=np.int32)
_SAMPLES = np.arange(-32768, 32768, dtype=np.int32)
DECODE_TABLES: dict[Law, npt.NDArray[np.int16]] = {Law.ULAW: _ulaw_decode(_CODES), Law.ALAW: _alaw_decode(_CODES)}
ENCODE_TABLES: dict[Law, npt.NDArray[np.uint8]] = {Law.ULAW: _ulaw_encode(_SAMPLES), Law.ALAW: _alaw_encode(_SAMPLES)}
for _decode in DECODE_TABLES.values():
    _decode.setflags(write=False)  # shared by every session: constants
for _encode in ENCODE_TABLES.values():
    _encode.setflags(write=False)


def g711_decode(data: bytes, law: Law) -> bytes:
    return DECODE_TABLES[law][np.frombuffer(data, dtype=np.uint8)].tobytes()


def g711_encode(pcm: bytes, law: Law) -> bytes:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.int32) + 32768
    return ENCODE_TABLES[law][samples].tobytes()


class Downsampler:
    """Gemini pcm16 24 kHz bytes → G.711 8 kHz bytes, one stream (soxr keeps state across chunks: no clicks)."""

    def __init__(self, law: Law) -> None:
        self.law = law  # which companding the client wants
        self._resampler = soxr.ResampleStream(GEMINI_OUTPUT_RATE, G711_RATE, 1, dtype="int16")
        self._odd = b""  # a trailing half sample carried to the next chunk

    def __call__(self, pcm: bytes, *, last: bool = False) -> bytes:
        raw = self._odd + pcm
        cut = len(raw) - len(raw) % 2
        raw, self._odd = raw[:cut], raw[cut:]
        samples = np.frombuffer(raw, dtype="<i2")
        resampled = self._resampler.resample_chunk(samples, last=last)
        return g711_encode(resampled.astype("<i2").tobytes(), self.law)
