"""Audio formats OpenAI clients use, converted for Gemini and back (OPENAI_REALTIME.md §5.2).

pcm16 24 kHz passes through untouched. G.711 µ-law / A-law input is expanded to pcm16 at its own 8 kHz
(Gemini resamples any rate stated in the MIME type, GEMINI_LIVE.md §3.3); Gemini's 24 kHz output is
resampled to 8 kHz with soxr (stateful across chunks, so no clicks at chunk edges) and companded.
The companding tables follow ITU-T G.711 (segment search as in the classic reference code).
"""

from __future__ import annotations

import base64
import enum
from functools import cache

import numpy as np
import numpy.typing as npt
import soxr

from translators.errors import ClientProtocolError

GEMINI_OUTPUT_RATE = 24000
G711_RATE = 8000
_ALAW_SEG_END = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)
_ULAW_SEG_END = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)


class Law(enum.Enum):
    ULAW = "audio/pcmu"
    ALAW = "audio/pcma"


def _segment(value: int, ends: tuple[int, ...]) -> int:
    for seg, end in enumerate(ends):
        if value <= end:
            return seg
    return len(ends)


def _linear_to_alaw(sample: int) -> int:
    value = sample >> 3
    mask = 0xD5 if value >= 0 else 0x55
    if value < 0:
        value = -value - 1
    seg = _segment(value, _ALAW_SEG_END)
    if seg >= 8:
        return 0x7F ^ mask
    code = (seg << 4) | ((value >> (1 if seg < 2 else seg)) & 0xF)
    return code ^ mask


def _alaw_to_linear(code: int) -> int:
    code ^= 0x55
    value = (code & 0xF) << 4
    seg = (code & 0x70) >> 4
    if seg == 0:
        value += 8
    else:
        value = (value + 0x108) << (seg - 1)
    return value if code & 0x80 else -value


def _linear_to_ulaw(sample: int) -> int:
    value = sample >> 2
    mask = 0x7F if value < 0 else 0xFF
    value = min(abs(value), 8159) + 33
    seg = _segment(value, _ULAW_SEG_END)
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((value >> (seg + 1)) & 0xF)) ^ mask


def _ulaw_to_linear(code: int) -> int:
    code = ~code & 0xFF
    value = (((code & 0xF) << 3) + 0x84) << ((code & 0x70) >> 4)
    return 0x84 - value if code & 0x80 else value - 0x84


@cache
def decode_table(law: Law) -> npt.NDArray[np.int16]:
    """code byte → pcm16 sample, built once per law on first use."""
    fn = _ulaw_to_linear if law is Law.ULAW else _alaw_to_linear
    return np.array([fn(code) for code in range(256)], dtype=np.int16)


@cache
def encode_table(law: Law) -> npt.NDArray[np.uint8]:
    """pcm16 sample (offset by 32768) → code byte."""
    fn = _linear_to_ulaw if law is Law.ULAW else _linear_to_alaw
    return np.array([fn(sample) for sample in range(-32768, 32768)], dtype=np.uint8)


def g711_decode(data: bytes, law: Law) -> bytes:
    return decode_table(law)[np.frombuffer(data, dtype=np.uint8)].tobytes()


def g711_encode(pcm: bytes, law: Law) -> bytes:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.int32) + 32768
    return encode_table(law)[samples].tobytes()


_URL_SAFE = str.maketrans("-_", "+/")


class InputDecoder:
    """Client G.711 base64 → Gemini pcm16 base64 at 8 kHz.

    Takes what Gemini itself takes for pcm16 (proto3 JSON bytes: either alphabet, padding optional), so an
    append is never refused for G.711 that would pass for pcm16; the edge has checked the alphabet.
    """

    mime = f"audio/pcm;rate={G711_RATE}"

    def __init__(self, law: Law) -> None:
        self.law = law  # which companding the client sends

    def __call__(self, b64: str) -> str:
        text = b64.translate(_URL_SAFE) if "-" in b64 or "_" in b64 else b64
        try:
            codes = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except ValueError:  # binascii.Error; only for input that did not pass the edge's check
            raise ClientProtocolError(
                "invalid_value", "Invalid 'audio': expected base64-encoded audio bytes.", param="audio"
            ) from None
        return base64.b64encode(g711_decode(codes, self.law)).decode()


class OutputEncoder:
    """Gemini pcm16 24 kHz base64 → client G.711 8 kHz base64, one stream per output item."""

    def __init__(self, law: Law) -> None:
        self.law = law  # which companding the client wants
        self._resampler = soxr.ResampleStream(GEMINI_OUTPUT_RATE, G711_RATE, 1, dtype="int16")
        self._odd = b""  # a trailing half sample carried to the next chunk

    def __call__(self, b64: str, *, last: bool = False) -> str:
        raw = self._odd + base64.b64decode(b64)
        cut = len(raw) - len(raw) % 2
        raw, self._odd = raw[:cut], raw[cut:]
        samples = np.frombuffer(raw, dtype="<i2")
        resampled = self._resampler.resample_chunk(samples, last=last)
        return base64.b64encode(g711_encode(resampled.astype("<i2").tobytes(), self.law)).decode()

    def flush(self) -> str:
        """What the resampler still holds at the end of the item."""
        return self("", last=True)


def law_of(audio_format: dict[str, object]) -> Law | None:
    """None for pcm16 (no conversion), else the G.711 law of a GA format object."""
    kind = audio_format.get("type")
    return Law(kind) if kind in (Law.ULAW.value, Law.ALAW.value) else None


def pcm_ms(b64: str, audio_format: dict[str, object]) -> float:
    """Milliseconds of audio in a base64 payload, from its length alone (no decoding)."""
    size = len(b64) * 3 // 4 - b64[-2:].count("=")
    if law_of(audio_format) is not None:
        return size / (G711_RATE / 1000)
    rate = audio_format.get("rate", 24000)
    return size / 2 / (float(rate) / 1000) if isinstance(rate, int | float) else size / 48
