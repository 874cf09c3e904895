"""G.711 and resampling against known signals, with measured error bounds."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pytest

from translators.audio import (
    G711_RATE,
    InputDecoder,
    Law,
    OutputEncoder,
    b64_size,
    bytes_per_ms,
    pcm_ms,
)
from translators.g711 import DECODE_TABLES, ENCODE_TABLES, g711_decode, g711_encode


def tone(freq: float, rate: int, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return np.round(amplitude * 32767 * np.sin(2 * np.pi * freq * t)).astype("<i2")


def snr_db(reference: np.ndarray, test: np.ndarray) -> float:
    ref, err = reference.astype(float), reference.astype(float) - test.astype(float)
    return float(10 * np.log10(np.sum(ref**2) / max(np.sum(err**2), 1e-9)))


@pytest.mark.parametrize("law", list(Law))
def test_g711_round_trip_snr(law: Law) -> None:
    """Encode then decode a 1 kHz tone: G.711's ~38 dB SNR (we require > 33 dB)."""
    signal = tone(1000, G711_RATE, 0.5)
    decoded = np.frombuffer(g711_decode(g711_encode(signal.tobytes(), law), law), dtype="<i2")
    assert snr_db(signal, decoded) > 33


@pytest.mark.parametrize("law", list(Law))
def test_g711_known_codes(law: Law) -> None:
    """Silence maps to the standard idle codes (µ-law 0xFF, A-law 0xD5) and back to ~0."""
    code = g711_encode(np.zeros(4, dtype="<i2").tobytes(), law)
    assert code == bytes([0xFF if law is Law.ULAW else 0xD5]) * 4
    assert np.abs(np.frombuffer(g711_decode(code, law), dtype="<i2")).max() <= 8


def test_input_decoder_keeps_8k_and_says_so() -> None:
    """Client µ-law is expanded to pcm16 at 8 kHz and labelled with that rate for Gemini."""
    signal = tone(440, G711_RATE, 0.1)
    b64 = base64.b64encode(g711_encode(signal.tobytes(), Law.ULAW)).decode()
    decoder = InputDecoder(Law.ULAW)
    out = np.frombuffer(base64.b64decode(decoder(b64)), dtype="<i2")
    assert decoder.mime == "audio/pcm;rate=8000" and len(out) == len(signal) and snr_db(signal, out) > 33


@pytest.mark.parametrize("law", list(Law))
def test_output_encoder_resamples_in_chunks(law: Law) -> None:
    """24 kHz → 8 kHz G.711 across 20 ms chunks matches a directly made 8 kHz tone (SNR > 25 dB)."""
    source = tone(1000, 24000, 0.5)
    encoder = OutputEncoder(law)
    chunks = [source[i : i + 480] for i in range(0, len(source), 480)]
    encoded = b"".join(base64.b64decode(encoder(base64.b64encode(c.tobytes()).decode())) for c in chunks)
    encoded += base64.b64decode(encoder.flush())
    decoded = np.frombuffer(g711_decode(encoded, law), dtype="<i2")
    expected = tone(1000, G711_RATE, 0.5)
    assert abs(len(decoded) - len(expected)) <= 2
    n = min(len(decoded), len(expected))
    lag = int(np.argmax(np.correlate(decoded[:400].astype(float), expected[:400].astype(float), "full"))) - 399
    aligned = decoded[max(lag, 0) : n] if lag >= 0 else decoded[: n + lag]
    reference = expected[: len(aligned)] if lag >= 0 else expected[-lag : -lag + len(aligned)]
    assert snr_db(reference[50:-50], aligned[50:-50]) > 25


def test_output_encoder_removes_content_above_nyquist() -> None:
    """A 6 kHz tone (above 8 kHz's 4 kHz Nyquist) is filtered out, not aliased into the band."""
    encoder = OutputEncoder(Law.ULAW)
    out = base64.b64decode(encoder(base64.b64encode(tone(6000, 24000, 0.3).tobytes()).decode()))
    out += base64.b64decode(encoder.flush())
    decoded = np.frombuffer(g711_decode(out, Law.ULAW), dtype="<i2").astype(float)
    assert np.sqrt(np.mean(decoded[100:] ** 2)) < 0.02 * 32767


def test_pcm_ms_counts_without_decoding() -> None:
    """Buffer length in ms from the base64 length, for pcm16 24 kHz and G.711."""
    one_second_pcm = base64.b64encode(bytes(48000)).decode()
    one_second_g711 = base64.b64encode(bytes(8000)).decode()
    assert pcm_ms(one_second_pcm, {"type": "audio/pcm", "rate": 24000}) == pytest.approx(1000, abs=1)
    assert pcm_ms(one_second_g711, {"type": "audio/pcmu"}) == pytest.approx(1000, abs=1)


def test_bytes_per_ms_per_format() -> None:
    """The per-format rate the hot path divides by: pcm16 at its rate (24 kHz when unstated), G.711 at 8 kHz."""
    assert bytes_per_ms({"type": "audio/pcm", "rate": 24000}) == 48.0
    assert bytes_per_ms({"type": "audio/pcm", "rate": 16000}) == 32.0
    assert bytes_per_ms({"type": "audio/pcm"}) == 48.0
    assert bytes_per_ms({"type": "audio/pcma"}) == bytes_per_ms({"type": "audio/pcmu"}) == 8.0
    assert b64_size("AAAA") == 3 and b64_size("AAA=") == 2 and b64_size("AA==") == 1



# The classic per-sample G.711 reference (Sun Microsystems' g711.c), kept here to check the vectorised tables.
def _segment(value: int, ends: tuple[int, ...]) -> int:
    return next((seg for seg, end in enumerate(ends) if value <= end), len(ends))


def _ref_linear_to_alaw(sample: int) -> int:
    value = sample >> 3
    mask = 0xD5 if value >= 0 else 0x55
    if value < 0:
        value = -value - 1
    seg = _segment(value, (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF))
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((value >> (1 if seg < 2 else seg)) & 0xF)) ^ mask


def _ref_alaw_to_linear(code: int) -> int:
    code ^= 0x55
    value, seg = (code & 0xF) << 4, (code & 0x70) >> 4
    value = value + 8 if seg == 0 else (value + 0x108) << (seg - 1)
    return value if code & 0x80 else -value


def _ref_linear_to_ulaw(sample: int) -> int:
    value = sample >> 2
    mask = 0x7F if value < 0 else 0xFF
    value = min(abs(value), 8159) + 33
    seg = _segment(value, (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF))
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((value >> (seg + 1)) & 0xF)) ^ mask


def _ref_ulaw_to_linear(code: int) -> int:
    code = ~code & 0xFF
    value = (((code & 0xF) << 3) + 0x84) << ((code & 0x70) >> 4)
    return 0x84 - value if code & 0x80 else value - 0x84


@pytest.mark.parametrize(
    ("law", "encode", "decode"),
    [(Law.ULAW, _ref_linear_to_ulaw, _ref_ulaw_to_linear), (Law.ALAW, _ref_linear_to_alaw, _ref_alaw_to_linear)],
)
def test_vectorised_tables_match_the_reference(law: Law, encode: Any, decode: Any) -> None:
    """Every one of the 65,536 samples and 256 codes maps exactly as the per-sample reference code does."""
    assert DECODE_TABLES[law].tolist() == [decode(code) for code in range(256)]
    assert ENCODE_TABLES[law].tolist() == [encode(sample) for sample in range(-32768, 32768)]


def test_tables_are_built_at_import_and_read_only() -> None:
    """The tables exist before any session asks for them and cannot be changed by one."""
    assert all(not table.flags.writeable for table in (*DECODE_TABLES.values(), *ENCODE_TABLES.values()))
