"""Audio between a WebRTC call's tracks and the session's OpenAI audio formats.

In: aiortc decodes the peer's Opus (48 kHz, in its own thread); `MicConverter` downmixes each 20 ms frame,
resamples it with soxr to the session's input format (pcm16 24 kHz unless the client chose G.711) and
base64-encodes it, so the session sees the same `input_audio_buffer.append` payload a WebSocket client sends.
Out: `OutputTrack` takes the session's output audio (base64 in the session's output format), resamples it to
48 kHz and hands aiortc one 20 ms frame per 20 ms of wall time, silence when there is nothing to say, so the
RTP stream never has a gap; aiortc encodes Opus off the event loop (its executor).
The resampling, base64 and framing stay on the event loop: ~40 µs per 20 ms of two-way audio in all
(`python -m bench --calls`), less than handing each frame to a thread would cost.
"""

from __future__ import annotations

import asyncio
import base64
import fractions
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import soxr
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from translators.audio import G711_RATE, Law, law_of
from translators.g711 import g711_decode, g711_encode
from translators.session_config import BETA_TO_GA_FORMAT, PCM24K

RTC_RATE = 48000  # Opus on WebRTC is always 48 kHz (RFC 7587)
FRAME_SAMPLES = 960  # 20 ms at 48 kHz: the frame the track hands aiortc
_TIME_BASE = fractions.Fraction(1, RTC_RATE)
_RESYNC_S = 0.2  # behind the wall clock by more than this (a stalled loop): restart the clock, don't burst

Samples = npt.NDArray[np.int16]


@dataclass(frozen=True)
class WireFormat:
    """An OpenAI audio format as a sample rate and an optional G.711 law (OPENAI_REALTIME.md §5.2)."""

    rate: int
    law: Law | None = None


PCM16 = WireFormat(24000)


def wire_format(audio_format: Any) -> WireFormat:
    """A GA format object (`{"type": "audio/pcm", "rate": 24000}`) or a beta format string."""
    if isinstance(audio_format, str):
        audio_format = BETA_TO_GA_FORMAT.get(audio_format, PCM24K)
    if not isinstance(audio_format, dict):
        return PCM16
    law = law_of(audio_format)
    if law is not None:
        return WireFormat(G711_RATE, law)
    rate = audio_format.get("rate", 24000)
    return WireFormat(int(rate)) if isinstance(rate, int | float) and rate > 0 else PCM16


def _stream(source: int, target: int) -> soxr.ResampleStream:
    return soxr.ResampleStream(source, target, 1, dtype="int16")


class MicConverter:
    """Decoded microphone frames → base64 audio in the session's input format (one per call)."""

    def __init__(self) -> None:
        self.format = PCM16  # the session's input format, followed as session.updated events pass
        self._source_rate = 0  # the rate the resampler was built for (48 kHz for Opus, 8 kHz for G.711 peers)
        self._resampler: soxr.ResampleStream | None = None  # stateful, so 20 ms frames join without clicks

    def set_format(self, audio_format: WireFormat) -> None:
        if audio_format != self.format:
            self.format, self._resampler = audio_format, None

    def __call__(self, samples: Samples, rate: int) -> str:
        if self._resampler is None or rate != self._source_rate:
            self._source_rate = rate
            self._resampler = _stream(rate, self.format.rate)
        pcm = self._resampler.resample_chunk(samples)
        data = g711_encode(pcm.tobytes(), self.format.law) if self.format.law else pcm.tobytes()
        return base64.b64encode(data).decode()


class SpeechOnset:
    """The user talking over the gateway's own playback: `needed_ms` of consecutive frames at or above `level`
    RMS (full scale 1.0). Gemini says nothing when the user speaks after it has finished generating, though
    its audio may still be playing for seconds, so the call listens for itself (OpenAI's server VAD does)."""

    def __init__(self, level: float, needed_ms: float = 200) -> None:
        self._level = level * 32768  # in sample units
        self._needed_ms = needed_ms  # voiced audio in a row that counts as speech
        self._voiced_ms = 0.0  # voiced audio in a row so far

    def __call__(self, samples: Samples, rate: int) -> bool:
        if not len(samples):
            return False
        level = float(np.sqrt(np.mean(np.square(samples, dtype=np.float32))))
        self._voiced_ms = self._voiced_ms + len(samples) * 1000 / rate if level >= self._level else 0.0
        return self._voiced_ms >= self._needed_ms

    def reset(self) -> None:
        self._voiced_ms = 0.0


def mono(frame: av.AudioFrame) -> Samples:
    """One channel of s16 samples: aiortc decodes Opus as packed stereo, and browsers send one voice twice
    (mono Opus), so the left channel is the voice; a mix would cost a pass over twice the samples."""
    array = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if channels == 1:
        return np.ascontiguousarray(array.reshape(-1), dtype=np.int16)
    if frame.format.is_planar:
        return np.ascontiguousarray(array[0], dtype=np.int16)
    first: Samples = np.ascontiguousarray(array.reshape(-1)[::channels], dtype=np.int16)  # the left channel
    return first


def decode_output(b64: str, audio_format: WireFormat) -> Samples:
    """One output audio delta (base64 in the session's output format) as pcm16 samples at its own rate."""
    data = base64.b64decode(b64)
    if audio_format.law is not None:
        data = g711_decode(data, audio_format.law)
    samples: Samples = np.frombuffer(data[: len(data) - len(data) % 2], dtype=np.int16)
    return samples


@dataclass
class _Segment:
    """Audio of one response's item waiting in the track, 48 kHz."""

    response_id: str
    item_id: str
    samples: Samples
    offset: int = 0  # samples already played


@dataclass(frozen=True)
class Cut:
    """A response's item whose audio a flush stopped: how much of it the user heard."""

    response_id: str
    item_id: str
    played_ms: int


class OutputTrack(MediaStreamTrack):
    """The gateway's audio track: the session's output audio in real time, 20 ms frames, silence between.

    `push` appends a response's audio; `recv` (aiortc's sender loop) takes one frame per 20 ms of wall time;
    `clear` drops what has not been played (barge-in, cancel, `output_audio_buffer.clear`).
    `on_drained(response_id)` fires once the last sample of a response `finish` was called for has played.
    """

    kind = "audio"

    def __init__(self, on_drained: Callable[[str], None]) -> None:
        super().__init__()
        self._on_drained = on_drained  # tells the call a finished response's audio has all been heard
        self._queue: deque[_Segment] = deque()  # audio not yet played, in order
        self._finished: set[str] = set()  # responses with no more audio to come (response.done seen)
        self._resampler: soxr.ResampleStream | None = None  # the current item's stream, source → 48 kHz
        self._source: tuple[str, str, int] = ("", "", 0)  # (response id, item id, rate) the resampler belongs to
        self._played: dict[str, tuple[str, int]] = {}  # item id → (response id, samples played) until it drains
        self._pts = 0  # samples handed to aiortc so far: the RTP clock, never reset
        self._clock_start: float | None = None  # loop time of sample 0 of the current clock anchor
        self._anchor_pts = 0  # pts at the clock anchor
        self.frames_sent = 0  # frames handed to aiortc (with or without speech)

    # ---- the session's side ----------------------------------------------------------------------
    def push(self, response_id: str, item_id: str, samples: Samples, rate: int) -> None:
        if self._resampler is None or self._source != (response_id, item_id, rate):
            self._close_stream()
            self._resampler, self._source = _stream(rate, RTC_RATE), (response_id, item_id, rate)
        self._append(self._resampler.resample_chunk(samples))

    def finish(self, response_id: str) -> bool:
        """No more audio for this response; True if none of it is left to play (stopped may go at once)."""
        if self._source[0] == response_id:
            self._close_stream()
        if any(segment.response_id == response_id for segment in self._queue):
            self._finished.add(response_id)
            return False
        self._forget(response_id)
        return True

    def clear(self) -> list[Cut]:
        """Drop everything not yet played; the items whose audio was cut (in order) and what of each was heard."""
        items = dict.fromkeys((segment.response_id, segment.item_id) for segment in self._queue)
        cut = [Cut(r, i, self._played.get(i, (r, 0))[1] * 1000 // RTC_RATE) for r, i in items]
        self._queue.clear()
        self._finished.clear()
        self._played.clear()
        self._resampler, self._source = None, ("", "", 0)
        return cut

    @property
    def buffered(self) -> bool:
        return bool(self._queue)

    def _close_stream(self) -> None:
        if self._resampler is not None:
            self._append(self._resampler.resample_chunk(np.zeros(0, dtype=np.int16), last=True))
        self._resampler, self._source = None, ("", "", 0)

    def _append(self, samples: Samples) -> None:
        if len(samples):
            self._queue.append(_Segment(self._source[0], self._source[1], samples))

    def _forget(self, response_id: str) -> None:
        for item_id in [i for i, (r, _) in self._played.items() if r == response_id]:
            del self._played[item_id]

    # ---- aiortc's side ---------------------------------------------------------------------------
    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        await self._pace()
        frame = av.AudioFrame.from_ndarray(self._take()[np.newaxis, :], format="s16", layout="mono")
        frame.sample_rate = RTC_RATE
        frame.pts = self._pts
        frame.time_base = _TIME_BASE
        self._pts += FRAME_SAMPLES
        self.frames_sent += 1
        return frame

    async def _pace(self) -> None:
        """Sleep until this frame's wall-clock time; a loop that fell far behind re-anchors the clock."""
        now = asyncio.get_running_loop().time()
        if self._clock_start is None:
            self._clock_start, self._anchor_pts = now, self._pts
            return
        due = self._clock_start + (self._pts - self._anchor_pts) / RTC_RATE
        if due > now:
            await asyncio.sleep(due - now)
        elif now - due > _RESYNC_S:
            self._clock_start, self._anchor_pts = now, self._pts

    def _take(self) -> Samples:
        """The next 960 samples: queued audio, then zeros."""
        out = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        filled = 0
        while filled < FRAME_SAMPLES and self._queue:
            segment = self._queue[0]
            n = min(FRAME_SAMPLES - filled, len(segment.samples) - segment.offset)
            out[filled : filled + n] = segment.samples[segment.offset : segment.offset + n]
            filled += n
            segment.offset += n
            self._played[segment.item_id] = (segment.response_id, self._played.get(segment.item_id, ("", 0))[1] + n)
            if segment.offset == len(segment.samples):
                self._queue.popleft()
                self._drained(segment.response_id)
        return out

    def _drained(self, response_id: str) -> None:
        if response_id in self._finished and not any(s.response_id == response_id for s in self._queue):
            self._finished.discard(response_id)
            self._forget(response_id)
            self._on_drained(response_id)
