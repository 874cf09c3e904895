"""A WebRTC client like OpenAI's WebRTC quickstart, in Python (aiortc): a microphone track from a WAV file,
the `oai-events` data channel, the model's voice on the answer's track; the offer goes through
openai-python's `realtime.calls.create`. ICE stays on loopback (no STUN, host candidates on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import contextlib
import wave
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamError
from openai import AsyncOpenAI

from gateway.transports.rtc_process import use_host_addresses

RTC_RATE = 48000


def speech(seconds: float, rate: int = RTC_RATE) -> np.ndarray:
    """A voiced signal the emulator's energy VAD hears: a 180 Hz voice with harmonics, syllable-rate AM."""
    t = np.arange(int(rate * seconds)) / rate
    voice = sum(np.sin(2 * np.pi * 180 * k * t) / k for k in (1, 2, 3, 4))
    envelope = 0.8 + 0.2 * np.sin(2 * np.pi * 4 * t)
    return np.round(0.5 * 32767 * voice / 2.1 * envelope).astype("<i2")


def write_wav(path: Path, *segments: np.ndarray, rate: int = RTC_RATE) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        for segment in segments:
            out.writeframes(segment.astype("<i2").tobytes())
    return path


def silence(seconds: float, rate: int = RTC_RATE) -> np.ndarray:
    return np.zeros(int(rate * seconds), dtype="<i2")


class RtcClient:
    """One call from the client's side: events in order, the reply audio as 48 kHz mono samples."""

    def __init__(self, wav: Path | None, *, audio: bool = True) -> None:
        use_host_addresses(["127.0.0.1"])  # this process's aioice, like the gateway's: loopback only
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.dc = self.pc.createDataChannel("oai-events")
        self.player = MediaPlayer(str(wav)) if wav is not None else None
        if self.player is not None:
            self.pc.addTrack(self.player.audio)
        elif audio:
            self.pc.addTransceiver("audio", direction="recvonly")
        self.events: list[dict[str, Any]] = []  # every server event, in order
        self.audio: list[np.ndarray] = []  # the reply track, 20 ms frames, mono
        self.call_id = ""
        self._arrived = asyncio.Condition()
        self._opened = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.closed = asyncio.Event()  # the data channel closed (the gateway ended the call)
        self.dc.on("open", self._opened.set)
        self.dc.on("close", self.closed.set)
        self.dc.on("message", self._on_message)
        self.pc.on("track", self._on_track)

    def _on_message(self, message: str | bytes) -> None:
        self.events.append(orjson.loads(message))
        self._tasks.append(asyncio.ensure_future(self._notify()))

    async def _notify(self) -> None:
        async with self._arrived:
            self._arrived.notify_all()

    def _on_track(self, track: Any) -> None:
        self._tasks.append(asyncio.ensure_future(self._read(track)))

    async def _read(self, track: Any) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            samples = frame.to_ndarray().reshape(-1, len(frame.layout.channels))[:, 0]
            self.audio.append(samples.astype(np.int16))

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def connect(self, client: AsyncOpenAI, session: dict[str, Any] | None = None, **extra: Any) -> None:
        """Post the offer as openai-python does (multipart: `sdp`, `session`), apply the answer, await the channel."""
        offer = await self.offer()
        kwargs: dict[str, Any] = {"sdp": offer, **extra}
        if session is not None:
            kwargs["session"] = session
        raw = await client.realtime.calls.with_raw_response.create(**kwargs)
        assert raw.status_code == 201, raw.text
        assert raw.headers["content-type"].startswith("application/sdp")
        self.call_id = raw.headers["location"].rsplit("/", 1)[-1]
        await self.accept(raw.content.decode())

    async def accept(self, answer: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        await asyncio.wait_for(self._opened.wait(), 15)

    def send(self, event: dict[str, Any]) -> None:
        self.dc.send(orjson.dumps(event).decode())

    async def wait_for(self, kind: str, timeout: float = 20, after: int = 0) -> dict[str, Any]:
        """The first event of this type at index `after` or later."""

        def found() -> dict[str, Any] | None:
            return next((e for e in self.events[after:] if e.get("type") == kind), None)

        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: found() is not None), timeout)
        event = found()
        assert event is not None
        return event

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def reply_audio(self) -> np.ndarray:
        return np.concatenate(self.audio) if self.audio else np.zeros(0, dtype=np.int16)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.pc.close()
        if self.player is not None and self.player.audio is not None:
            self.player.audio.stop()
        for task in self._tasks:
            task.cancel()


def voiced_ms(samples: np.ndarray, threshold: float = 0.02, frame: int = 960) -> float:
    """How much of the audio is voiced: 20 ms frames with RMS above `threshold` of full scale."""
    count = len(samples) // frame
    if not count:
        return 0.0
    frames = samples[: count * frame].astype(np.float64).reshape(count, frame) / 32768
    rms = np.sqrt((frames**2).mean(axis=1))
    return float((rms > threshold).sum() * 20)
