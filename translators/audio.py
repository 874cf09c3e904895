"""Audio formats OpenAI clients use, converted for Gemini and back (OPENAI_REALTIME.md §5.2).

pcm16 24 kHz passes through untouched. G.711 µ-law / A-law input is expanded to pcm16 at its own 8 kHz
(Gemini resamples any rate stated in the MIME type, GEMINI_LIVE.md §3.3); Gemini's 24 kHz output is
resampled to 8 kHz with soxr (stateful across chunks, so no clicks at chunk edges) and companded.
The companding tables follow ITU-T G.711 (segment search as in the classic reference code), built once at
import with numpy, so no session ever waits for them.
"""

from __future__ import annotations

import base64
import enum

import numpy as np
import numpy.typing as npt
import soxr

from translators.errors import ClientProtocolError

GEMINI_OUTPUT_RATE = 24000
OPENAI_PCM_RATE = 24000  # OpenAI's pcm16 rate (§5.2)
G711_RATE = 8000
_ALAW_SEG_END = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])  # segment upper bounds (G.711)
_ULAW_SEG_END = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])


class Law(enum.Enum):
    ULAW = "audio/pcmu"
    ALAW = "audio/pcma"


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


# Built once at import, vectorised (a few ms): code byte → pcm16 sample, and pcm16 sample + 32768 → code byte.
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


class RatedPcm:
    """pcm16 at a rate other than OpenAI's 24 kHz (seed 003 clients send 16 kHz): forwarded untouched, with
    its rate in the MIME type, since Gemini resamples any stated rate (GEMINI_LIVE.md §3.3)."""

    def __init__(self, rate: int) -> None:
        self.mime = f"audio/pcm;rate={rate}"  # what Gemini is told

    def __call__(self, b64: str) -> str:
        return b64


def input_decoder(audio_format: dict[str, object]) -> InputDecoder | RatedPcm | None:
    """What the client's input format needs on its way to Gemini; None for pcm16 at 24 kHz (untouched)."""
    law = law_of(audio_format)
    if law is not None:
        return InputDecoder(law)
    rate = audio_format.get("rate", OPENAI_PCM_RATE)
    return RatedPcm(rate) if isinstance(rate, int) and rate != OPENAI_PCM_RATE else None


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
