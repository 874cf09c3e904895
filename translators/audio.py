"""Audio formats OpenAI clients use, converted for Gemini and back (OPENAI_REALTIME.md §5.2).

pcm16 24 kHz passes through untouched. G.711 µ-law / A-law input is expanded to pcm16 at its own 8 kHz
(Gemini resamples any rate stated in the MIME type, GEMINI_LIVE.md §3.3); Gemini's 24 kHz output is
resampled to 8 kHz with soxr (stateful across chunks, so no clicks at chunk edges) and companded.
The companding itself is `translators/g711.py` (numpy, soxr), imported by the first G.711 session only.
"""

from __future__ import annotations

import base64
import math
import sys
from array import array
from typing import TYPE_CHECKING

from translators.errors import ClientProtocolError
from translators.formats import G711_RATE, GEMINI_OUTPUT_RATE, Law

__all__ = ["G711_RATE", "GEMINI_OUTPUT_RATE", "InputDecoder", "Law", "OutputEncoder", "RatedPcm", "b64_size",
           "bytes_per_ms", "input_decoder", "law_of", "pcm16_rms", "pcm_ms"]

OPENAI_PCM_RATE = 24000  # OpenAI's pcm16 rate (§5.2)

if TYPE_CHECKING:
    from translators.g711 import Downsampler

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
        from translators.g711 import g711_decode  # loaded with the first G.711 session (cached after)

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
        from translators.g711 import Downsampler  # numpy and soxr: only G.711 sessions load them

        self.law = law  # which companding the client wants
        self._downsample: Downsampler = Downsampler(law)  # resampler state and a trailing half sample

    def __call__(self, b64: str, *, last: bool = False) -> str:
        return base64.b64encode(self._downsample(base64.b64decode(b64), last=last)).decode()

    def flush(self) -> str:
        """What the resampler still holds at the end of the item."""
        return self("", last=True)


_LAWS = {law.value: law for law in Law}  # format type → law (no enum attribute or `.value` read per call)


def law_of(audio_format: dict[str, object]) -> Law | None:
    """None for pcm16 (no conversion), else the G.711 law of a GA format object."""
    kind = audio_format.get("type")
    return _LAWS.get(kind) if isinstance(kind, str) else None


def bytes_per_ms(audio_format: dict[str, object]) -> float:
    """Bytes in one millisecond of a GA format's audio: the one per-format fact the hot path needs, worked out
    when the format is set (session.update, a response's start) instead of per chunk (issue #15)."""
    if law_of(audio_format) is not None:
        return G711_RATE / 1000
    rate = audio_format.get("rate", 24000)
    return 2 * float(rate) / 1000 if isinstance(rate, int | float) else 48.0


def b64_size(b64: str) -> int:
    """Bytes in a base64 payload, from its length alone (no decoding)."""
    return len(b64) * 3 // 4 - b64[-2:].count("=")


def pcm_ms(b64: str, audio_format: dict[str, object]) -> float:
    """Milliseconds of audio in a base64 payload, from its length alone (no decoding)."""
    return b64_size(b64) / bytes_per_ms(audio_format)


def pcm16_rms(b64: str) -> float:
    """RMS of base64 pcm16 little-endian audio, full scale 1.0 (0.0 for no samples or bad base64). Used only on
    audio held during a function call (translators/supersede.py), never on the forwarding path."""
    text = b64.translate(_URL_SAFE) if "-" in b64 or "_" in b64 else b64
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        return 0.0
    samples = array("h", raw[: len(raw) // 2 * 2])
    if not samples:
        return 0.0
    if sys.byteorder == "big":
        samples.byteswap()
    return math.sqrt(sum(x * x for x in samples) / len(samples)) / 32768.0
