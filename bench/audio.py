"""Audio figures: gateway CPU per relayed audio event vs the bare relay, and the both-ways count at many sessions.

The load of issue #15: sessions stream 20 ms pcm16 24 kHz frames (base64) that `bench/echo_upstream.py`
echoes straight back. Through the gateway a frame is an OpenAI GA `input_audio_buffer.append` in and a
`response.output_audio.delta` out; through `bench/apps.py`'s relay it is the Gemini `realtimeInput` frame
the gateway would send and the `serverContent` frame it would get, forwarded untranslated. Both end at the
same echo process. Each frame carries its sequence number in its first samples, so every session checks
that each echo came back, once and in order; the echo process counts what it received and sent.

Paths alternate in blocks (4 interleaved repetitions, ABBA); a block ends when every echo is back. Each
server's CPU is read over the whole phase (it idles while the other path runs) and divided by its relayed
events (two per frame: one each way).
"""

from __future__ import annotations

import asyncio
import base64
import random
import statistics
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from bench.procs import BenchError, Proc
from bench.report import Row

TARGET_RATIO = 1.0  # gateway CPU per event <= the bare relay's
REPETITIONS = 8  # interleaved blocks per path; each path's figure is the median of its blocks
ECHO_TIMEOUT_S = 30.0  # for one block's echoes to come back
SETTLE_S = 0.05  # after the last echo: the server finishes its side (keepalive, bookkeeping)
_PCM = random.Random(0).randbytes(24000 * 2 * 20 // 1000)  # 20 ms of pcm16 mono at 24 kHz: 960 bytes
_REST_B64 = base64.b64encode(_PCM[6:]).decode()  # 954 bytes: a whole number of base64 quanta
AUDIO_SESSION = {"type": "realtime", "output_modalities": ["audio"]}
GATEWAY = ('{"type":"input_audio_buffer.append","audio":"', '"}', b"output_audio.delta", b'"delta":"')
RELAY = ('{"realtimeInput":{"audio":{"mimeType":"audio/pcm;rate=24000","data":"', '"}}}', b'"inlineData"', b'"data":"')


def audio_b64(seq: int) -> str:
    """Frame `seq`: its number in the first 4 bytes (the first 8 base64 characters), then fixed samples."""
    return base64.b64encode(seq.to_bytes(4, "little") + _PCM[4:6]).decode() + _REST_B64


def _seq(b64: bytes) -> int:
    return int.from_bytes(base64.b64decode(b64[:8])[:4], "little")


APPEND = GATEWAY[0] + audio_b64(0) + GATEWAY[1]  # one append, for bench/split.py


class EchoStream:
    """One session's frames out and echoes back: how many came back, and how many out of order."""

    def __init__(self, ws: Any, path: tuple[str, str, bytes, bytes]) -> None:
        self.ws = ws  # a websockets ClientConnection, its session set up
        self._head, self._tail, self._marker, self._field = path
        self.sent = 0  # frames sent
        self.got = 0  # echoes received
        self.disorder = 0  # echoes whose number was not the next one expected
        self._want = 0  # echoes the current block waits for
        self._all_back = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def send(self) -> None:
        await self.ws.send(self._head + audio_b64(self.sent) + self._tail)
        self.sent += 1

    def expect(self, total: int) -> None:
        self._want = total
        self._all_back.clear()
        if self.got >= total:
            self._all_back.set()

    async def all_back(self) -> None:
        await self._all_back.wait()

    async def _read(self) -> None:
        async for raw in self.ws:
            if not isinstance(raw, bytes):
                raw = raw.encode()
            if self._marker not in raw:
                continue
            at = raw.index(self._field) + len(self._field)
            if _seq(raw[at : at + 8]) != self.got:
                self.disorder += 1
            self.got += 1
            if self.got >= self._want:
                self._all_back.set()

    async def close(self) -> None:
        self._reader.cancel()
        await self.ws.close()


@dataclass
class Path:
    """One way through: its server process and how to open a session on it."""

    name: str
    proc: Proc
    open: Callable[[], Any]  # coroutine function returning an EchoStream


async def run_block(streams: list[EchoStream], frames: int, interval: float, *, strict: bool = True) -> None:
    """Every session sends `frames` frames, one per `interval` (staggered evenly), then waits for the echoes;
    echoes missing after ECHO_TIMEOUT_S fail the measurement, or with `strict` off are left to be counted."""

    async def one(index: int, stream: EchoStream) -> None:
        stream.expect(stream.sent + frames)
        if interval:
            await asyncio.sleep(interval * index / len(streams))
        due = time.perf_counter()
        for _ in range(frames):
            await stream.send()
            if interval:
                due += interval
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
        await stream.all_back()

    try:
        async with asyncio.timeout(ECHO_TIMEOUT_S + frames * interval):
            await asyncio.gather(*(one(i, s) for i, s in enumerate(streams)))
    except TimeoutError:
        missing = sum(s.sent - s.got for s in streams)
        if strict:
            raise BenchError(f"{missing} echoes not back within {ECHO_TIMEOUT_S:.0f} s") from None
    await asyncio.sleep(SETTLE_S)


def echo_counts(port: int) -> tuple[int, int]:
    """(frames received, echoes sent) by the echo upstream so far."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as answer:
        counts = orjson.loads(answer.read())
    return counts["received"], counts["echoed"]


@dataclass
class AudioFigures:
    gateway_us: float  # gateway CPU per relayed event
    relay_us: float  # relay CPU per relayed event
    frames: int  # per path (each one event in, one out)
    streams: int  # concurrent sessions per path
    interval_ms: float  # between two frames of one session; 0 = back to back
    faults: dict[str, int]  # path -> echoes lost or out of order
    writes: dict[str, float]  # path -> write syscalls per frame (what one write carries: batching)

    def row(self) -> Row:
        load = "back to back" if not self.interval_ms else f"{self.streams} x 1/{self.interval_ms:g}ms"
        ratio = self.gateway_us / self.relay_us
        return Row(f"CPU / audio event, {load}, n={self.frames}x2", self.gateway_us, self.relay_us, "us",
                   f"<= {TARGET_RATIO:g}x relay", ratio <= TARGET_RATIO)


async def _open_all(path: Path, count: int) -> list[EchoStream]:
    streams: list[EchoStream] = []
    for first in range(0, count, 25):
        streams += await asyncio.gather(*(path.open() for _ in range(min(25, count - first))))
    return streams


async def measure(paths: list[Path], *, frames: int, streams: int, interval: float) -> AudioFigures:
    """`streams` sessions per path, `frames` frames per path in total, REPETITIONS blocks each, ABBA."""
    opened: dict[str, list[EchoStream]] = {}
    try:
        for path in paths:
            opened[path.name] = await _open_all(path, streams)
        per_block = max(1, frames // (REPETITIONS * streams))
        for path in paths:  # upstreams dialled, a response open, caches warm
            await run_block(opened[path.name], max(2, per_block // 5), interval)
        # Each block's CPU is read around it, for the path that ran it (the other one idles meanwhile). On this
        # shared VM a block now and then costs far more than its neighbours (host steal counts as CPU time in
        # the guest), so a path's figure is the median of its blocks, not their total.
        blocks: dict[str, list[float]] = {path.name: [] for path in paths}
        writes = dict.fromkeys(blocks, 0)
        for index in range(REPETITIONS):
            for path in paths if index % 2 == 0 else paths[::-1]:
                before, written = path.proc.cpu_s(), path.proc.syscalls()[1]
                await run_block(opened[path.name], per_block, interval)
                blocks[path.name].append((path.proc.cpu_s() - before) / (2 * per_block * streams) * 1e6)
                writes[path.name] += path.proc.syscalls()[1] - written
        faults = {name: sum(s.disorder + s.sent - s.got for s in group) for name, group in opened.items()}
    finally:
        await asyncio.gather(*(s.close() for group in opened.values() for s in group), return_exceptions=True)
    sent = per_block * REPETITIONS * streams
    gateway, relay = (statistics.median(blocks[path.name]) for path in paths)
    per_frame = {name: count / sent for name, count in writes.items()}
    return AudioFigures(gateway, relay, sent, streams, interval * 1e3, faults, per_frame)


@dataclass
class Integrity:
    """The both-ways count at many sessions, per path."""

    sessions: int
    sent: dict[str, int]  # frames sent by the clients
    received: dict[str, int]  # frames the echo upstream received
    echoed: dict[str, int]  # echoes it sent
    got: dict[str, int]  # echoes the clients received
    disorder: dict[str, int]  # echoes out of order

    def faults(self, name: str) -> int:
        lost = (self.sent[name] - self.received[name]) + (self.echoed[name] - self.got[name])
        return lost + self.disorder[name]

    def row(self, ours: str, theirs: str) -> Row:
        mine = self.faults(ours)
        return Row(f"events lost or reordered, {self.sessions} sessions, n={self.sent[ours]}x2", mine,
                   self.faults(theirs), "", "0", mine == 0)

    def note(self) -> str:
        parts = [f"{name}: sent {self.sent[name]}, upstream got {self.received[name]} and echoed "
                 f"{self.echoed[name]}, clients got {self.got[name]} ({self.disorder[name]} out of order)"
                 for name in self.sent]
        return f"both-ways count at {self.sessions} sessions: " + "; ".join(parts)


async def integrity(paths: list[Path], echo_port: int, *, sessions: int, frames: int, interval: float) -> Integrity:
    """`sessions` sessions per path, one path at a time, each sending `frames` paced frames."""
    figures = Integrity(sessions, {}, {}, {}, {}, {})
    for path in paths:
        streams: list[EchoStream] = []
        try:
            streams = await _open_all(path, sessions)
            before = echo_counts(echo_port)
            await run_block(streams, frames, interval, strict=False)
            after = echo_counts(echo_port)
        finally:
            await asyncio.gather(*(s.close() for s in streams), return_exceptions=True)
        figures.sent[path.name] = sum(s.sent for s in streams)
        figures.received[path.name] = after[0] - before[0]
        figures.echoed[path.name] = after[1] - before[1]
        figures.got[path.name] = sum(s.got for s in streams)
        figures.disorder[path.name] = sum(s.disorder for s in streams)
    return figures
