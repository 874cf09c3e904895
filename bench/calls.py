"""Figure 7: gateway CPU per second of two-way call audio, WebRTC (`POST /v1/realtime/calls`: SRTP, Opus
decode + encode, resampling, the data channel) against the WebSocket pcm16 path, in the same run.

Both paths carry the same conversation: the client's microphone loops speech (1 s) and silence (1.5 s), so
the emulator's VAD hears a turn every 2.5 s and answers it with ~0.5 s of speech. WebSocket sessions send
20 ms pcm16 24 kHz appends and read the audio deltas; WebRTC calls (aiortc peers in this process, on
loopback) send a 48 kHz Opus mic track and hear the reply on the gateway's track, which sends a frame every
20 ms whether or not there is speech. Phases alternate WS/RTC twice; the gateway's CPU over each measured
window is divided by the call-seconds it carried. "Calls per core" is 1 s divided by that: what one fully
busy core would sustain on this machine, not a measured saturation point.

The in-process split prices the audio work itself per second of call (aiortc's Opus codecs through PyAV,
and the gateway's own resampling, barge-in check and base64) to show what runs on the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fractions
import time
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
import orjson
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.codecs.opus import OpusDecoder, OpusEncoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from websockets.asyncio.client import ClientConnection, connect

from bench.procs import ALIAS, MASTER_KEY, BenchError, Proc
from bench.report import Row
from gateway.transports.media import MicConverter, OutputTrack, SpeechOnset, decode_output, mono, wire_format
from gateway.transports.rtc_process import use_host_addresses

RTC_RATE = 48000
FRAME = 960  # 20 ms at 48 kHz
SPEECH_S, PAUSE_S = 1.0, 1.5  # one user turn per 2.5 s
SESSION = {"type": "realtime", "model": ALIAS}


def _pattern(rate: int) -> np.ndarray:
    """Speech then silence, the speech a 180 Hz voice with harmonics (what the emulator's VAD hears)."""
    t = np.arange(int(rate * SPEECH_S)) / rate
    voice = sum(np.sin(2 * np.pi * 180 * k * t) / k for k in (1, 2, 3, 4)) / 2.1 * 0.5 * 32767
    return np.concatenate([voice, np.zeros(int(rate * PAUSE_S))]).astype(np.int16)


class LoopTrack(MediaStreamTrack):
    """A microphone that loops the pattern, one 20 ms frame per 20 ms."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._samples = _pattern(RTC_RATE)
        self._pts = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        await asyncio.sleep(max(0.0, self._start + self._pts / RTC_RATE - loop.time()))
        at = self._pts % len(self._samples)
        chunk = np.take(self._samples, range(at, at + FRAME), mode="wrap")
        frame = av.AudioFrame.from_ndarray(chunk[np.newaxis, :], format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = RTC_RATE, self._pts, fractions.Fraction(1, RTC_RATE)
        self._pts += FRAME
        return frame


class BenchCall:
    """One aiortc peer: the looping mic, the reply track drained, `response.done`s counted."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.dc = self.pc.createDataChannel("oai-events")
        self.pc.addTrack(LoopTrack())
        self.replies = 0
        self.voiced_frames = 0
        self._tasks: list[asyncio.Task[None]] = []
        self.dc.on("message", self._on_message)
        self.pc.on("track", lambda track: self._tasks.append(asyncio.ensure_future(self._drain(track))))

    def _on_message(self, message: str | bytes) -> None:
        if b'"response.done"' in (message.encode() if isinstance(message, str) else message):
            self.replies += 1

    async def _drain(self, track: Any) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if np.abs(frame.to_ndarray()).max() > 1000:
                    self.voiced_frames += 1

    async def open(self, port: int) -> None:
        import httpx

        opened = asyncio.Event()
        self.dc.on("open", opened.set)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        async with httpx.AsyncClient() as http:
            answer = await http.post(
                f"http://127.0.0.1:{port}/v1/realtime/calls?model={ALIAS}",
                content=self.pc.localDescription.sdp,
                headers={"Authorization": f"Bearer {MASTER_KEY}", "Content-Type": "application/sdp"},
            )
        if answer.status_code != 201:
            raise BenchError(f"call refused: {answer.status_code} {answer.text[:200]}")
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer.text, type="answer"))
        await asyncio.wait_for(opened.wait(), 15)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.pc.close()


class BenchSocket:
    """One WebSocket session carrying the same audio as pcm16 24 kHz appends; replies read and dropped."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        pcm = _pattern(24000)
        self._frames = [
            orjson.dumps({"type": "input_audio_buffer.append",
                          "audio": base64.b64encode(chunk.tobytes()).decode()}).decode()
            for chunk in np.split(pcm, len(pcm) // 480)
        ]
        self.replies = 0
        self._tasks = [asyncio.ensure_future(self._send()), asyncio.ensure_future(self._read())]

    @classmethod
    async def open(cls, port: int) -> BenchSocket:
        ws = await connect(f"ws://127.0.0.1:{port}/v1/realtime?model={ALIAS}",
                           additional_headers={"Authorization": f"Bearer {MASTER_KEY}"}, max_size=None)
        return cls(ws)

    async def _send(self) -> None:
        loop = asyncio.get_running_loop()
        start, n = loop.time(), 0
        while True:
            await self.ws.send(self._frames[n % len(self._frames)])
            n += 1
            await asyncio.sleep(max(0.0, start + n * 0.02 - loop.time()))

    async def _read(self) -> None:
        async for raw in self.ws:
            if b'"response.done"' in (raw if isinstance(raw, bytes) else raw.encode()):
                self.replies += 1

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.ws.close()


@dataclass
class CallFigures:
    rtc_ms: float  # gateway CPU ms per call-second, WebRTC
    ws_ms: float  # gateway CPU ms per session-second, WebSocket pcm16
    calls: int  # concurrent calls (and sessions) per phase
    seconds: float  # measured seconds per path
    rtc_replies: float  # replies per call per turn slot (1.0: every spoken turn was answered)
    ws_replies: float
    heard_s: float  # reply audio the WebRTC peers heard, per call per reply, seconds
    rtc_kb: float  # gateway RSS per open call, KiB
    ws_kb: float  # gateway RSS per open WebSocket session, KiB
    split: dict[str, float]  # µs of CPU per second of call audio, by part, in-process

    def rows(self) -> list[Row]:
        return [
            Row(f"CPU / s of two-way call audio, {self.calls} concurrent", self.rtc_ms, self.ws_ms, "ms",
                "WebRTC vs WebSocket pcm16"),
            Row("calls one core sustains (1 s / CPU per call-s)", 1000 / self.rtc_ms, 1000 / self.ws_ms, "calls",
                "WebRTC vs WebSocket pcm16"),
            Row("memory / open call (gateway RSS)", self.rtc_kb / 1024, self.ws_kb / 1024, "MB",
                "WebRTC vs WebSocket pcm16"),
        ]

    def note(self) -> str:
        parts = ", ".join(f"{name} {us / 1000:.2f} ms" for name, us in self.split.items())
        return (f"calls: {self.calls} WebRTC calls vs {self.calls} WebSocket sessions, {self.seconds:.0f} s "
                f"measured per path in alternating phases; every 2.5 s turn answered ({self.rtc_replies:.2f} vs "
                f"{self.ws_replies:.2f} replies per turn), the peers heard {self.heard_s:.2f} s of voice per reply. "
                f"In-process, per second of call audio: {parts} (the Opus codecs run in aiortc's decoder thread "
                "and executor, the rest on the event loop)")


async def _phase(
    open_one: Any, port: int, calls: int, gateway: Proc, seconds: float
) -> tuple[float, float, list[Any]]:
    """CPU ms per call-second and RSS KiB per call (over the gateway's RSS before the calls) of one phase."""
    peers = []
    rss_before = gateway.rss_kb()
    try:
        for _ in range(calls):
            peers.append(await open_one(port))
        await asyncio.sleep(3.0)  # upstreams dialled, first turns under way
        rss = (gateway.rss_kb() - rss_before) / calls
        before, began = gateway.cpu_s(), time.perf_counter()
        await asyncio.sleep(seconds)
        cpu, elapsed = gateway.cpu_s() - before, time.perf_counter() - began
    finally:
        await asyncio.gather(*(peer.close() for peer in peers), return_exceptions=True)
    await asyncio.sleep(1.0)  # the calls' teardown stays out of the next window
    return cpu / (calls * elapsed) * 1000, rss, peers


async def _open_call(port: int) -> BenchCall:
    call = BenchCall()
    await call.open(port)
    return call


async def measure(gateway: Proc, port: int, *, calls: int, seconds: float) -> CallFigures:
    use_host_addresses(["127.0.0.1"])  # like the gateway (bench/procs.py write_config): loopback only
    rtc, ws, rtc_peers, ws_peers, rtc_rss, ws_rss = [], [], [], [], [], []
    for _ in range(2):
        cost, rss, peers = await _phase(BenchSocket.open, port, calls, gateway, seconds / 2)
        ws.append(cost)
        ws_rss.append(rss)
        ws_peers += peers
        cost, rss, peers = await _phase(_open_call, port, calls, gateway, seconds / 2)
        rtc.append(cost)
        rtc_rss.append(rss)
        rtc_peers += peers
    slots = (seconds / 2 + 3.0) / (SPEECH_S + PAUSE_S) * 2  # turns each peer spoke, per phase pair
    replies = sum(p.replies for p in rtc_peers)
    heard = sum(p.voiced_frames for p in rtc_peers) * 0.02 / max(1, replies)
    return CallFigures(
        rtc_ms=sum(rtc) / len(rtc),
        ws_ms=sum(ws) / len(ws),
        calls=calls,
        seconds=seconds,
        rtc_replies=replies / len(rtc_peers) / slots * 2,
        ws_replies=sum(p.replies for p in ws_peers) / len(ws_peers) / slots * 2,
        heard_s=heard,
        rtc_kb=rtc_rss[-1],  # the second phase: allocator pools from the first are warm
        ws_kb=ws_rss[-1],
        split=split(),
    )


def split(seconds: int = 20) -> dict[str, float]:
    """µs of CPU per second of two-way call audio for each part, in-process, on the pattern."""
    frames = seconds * 50
    mic = _pattern(RTC_RATE)
    stereo = [np.repeat(np.take(mic, range(i * FRAME, (i + 1) * FRAME), mode="wrap"), 2) for i in range(frames)]
    encoder, decoder = OpusEncoder(), OpusDecoder()

    def frame_of(samples: np.ndarray, layout: str, pts: int) -> av.AudioFrame:
        frame = av.AudioFrame.from_ndarray(samples[np.newaxis, :], format="s16", layout=layout)
        frame.sample_rate, frame.pts, frame.time_base = RTC_RATE, pts, fractions.Fraction(1, RTC_RATE)
        return frame

    packets = [encoder.encode(frame_of(s, "stereo", i * FRAME))[0][0] for i, s in enumerate(stereo)]
    timings: dict[str, float] = {}

    def timed(name: str, work: Any) -> Any:
        start = time.process_time()
        result = work()
        timings[name] = (time.process_time() - start) / seconds * 1e6
        return result

    decoded = timed("Opus decode", lambda: [decoder.decode(JitterFrame(p, i * FRAME))[0] for i, p in
                                             enumerate(packets)])
    converter, onset = MicConverter(), SpeechOnset(0.02)
    timed("mic resample+base64", lambda: [converter(mono(f), RTC_RATE) for f in decoded])
    timed("barge-in check", lambda: [onset(mono(f), RTC_RATE) for f in decoded])
    reply = base64.b64encode(_pattern(24000).tobytes()).decode()
    chunk = len(reply) // 25 // 4 * 4  # 100 ms deltas, as the emulator sends
    deltas = [reply[i : i + chunk] for i in range(0, len(reply), chunk)]
    track = OutputTrack(lambda _: None)
    pcm16 = wire_format(None)

    def output() -> None:
        for second in range(seconds):
            for delta in deltas[: len(deltas) * 10 // 25]:  # 1 s of reply per second of call
                track.push(f"resp_{second}", f"item_{second}", decode_output(delta, pcm16), 24000)
            for _ in range(50):
                track._take()

    timed("reply resample+framing", output)
    encode_frames = [frame_of(np.zeros(FRAME, dtype=np.int16), "mono", i * FRAME) for i in range(frames)]
    encoder2 = OpusEncoder()
    timed("Opus encode", lambda: [encoder2.encode(f) for f in encode_frames])
    return timings
