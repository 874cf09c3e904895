"""Figure 5: gateway CPU per relayed `input_audio_buffer.append`, vs an untranslated relay on the same stack.

Clients stream 20 ms pcm16 24 kHz frames (base64): through the gateway as OpenAI GA appends, through
`bench/apps.py`'s relay as the Gemini `realtimeInput` frames the gateway would produce; both end at the
emulator. Blocks alternate between the paths, each followed by a pause in which both servers finish
forwarding; each process's CPU is read over the whole phase (it idles while the other path runs) and
divided by its frames. A text turn per session afterwards checks that every frame went through.

Two loads: back-to-back frames on one session (the steady-state cost of one event), and many sessions at
real-time pace, where every event also pays for waking an idle event loop.
"""

from __future__ import annotations

import asyncio
import base64
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from bench.procs import Proc
from bench.report import Row
from bench.wire import DirectPlan, DirectSession, GatewaySession, gateway_url

TARGET_US = 60.0
SETTLE_S = 0.05  # after a block, both servers finish forwarding it before the other path starts
FINAL_SETTLE_S = 0.3  # before the last CPU reading: even a back-to-back block is forwarded by then
_PCM = random.Random(0).randbytes(24000 * 2 * 20 // 1000)  # 20 ms of pcm16 mono at 24 kHz: 960 bytes
AUDIO_B64 = base64.b64encode(_PCM).decode()
APPEND = orjson.dumps({"type": "input_audio_buffer.append", "audio": AUDIO_B64}).decode()
REALTIME = orjson.dumps({"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=24000", "data": AUDIO_B64}}}).decode()


@dataclass
class AudioFigures:
    gateway_us: float  # gateway CPU per append
    relay_us: float  # relay CPU per forwarded frame
    frames: int  # per path
    streams: int  # concurrent sessions per path
    interval_ms: float  # between two frames of one session; 0 = back to back

    def row(self) -> Row:
        load = "back to back" if not self.interval_ms else f"{self.streams} x 1/{self.interval_ms:g}ms"
        return Row(f"CPU / audio append, {load}, n={self.frames}", self.gateway_us, self.relay_us, "us",
                   f"<= {TARGET_US:.0f} us", self.gateway_us <= TARGET_US)


async def _stream(send: Callable[[str], Awaitable[None]], frame: str, count: int, interval: float) -> None:
    """`count` frames, one every `interval` seconds on an absolute schedule (no drift)."""
    due = time.perf_counter()
    for _ in range(count):
        await send(frame)
        if interval:
            due += interval
            await asyncio.sleep(max(0.0, due - time.perf_counter()))


async def _block(sessions: list[Any], frame: str, per_session: int, interval: float) -> None:
    """Every session streams `per_session` frames, the sessions staggered evenly over one interval."""

    async def one(index: int, session: Any) -> None:
        await asyncio.sleep(interval * index / len(sessions))
        await _stream(session.send, frame, per_session, interval)

    await asyncio.gather(*(one(i, s) for i, s in enumerate(sessions)))
    await asyncio.sleep(SETTLE_S)


async def measure(gateway: Proc, gateway_port: int, relay: Proc, relay_port: int, plan: DirectPlan, *,
                  frames: int, block: int, streams: int, interval: float, limit_s: float) -> AudioFigures:
    """`streams` sessions per path paced at `interval`; blocks of `block` frames alternate ABBA."""
    ours: list[Any] = []
    theirs: list[Any] = []
    try:
        for _ in range(streams):
            ours.append(await GatewaySession.open(gateway_url(gateway_port)))
            theirs.append(await DirectSession.open(plan, f"ws://127.0.0.1:{relay_port}/"))
        per_session = max(1, block // streams)
        for sessions, frame in ((ours, APPEND), (theirs, REALTIME)):  # upstreams connected, paths warm
            await asyncio.gather(*(s.turn() for s in sessions))
            await _block(sessions, frame, max(1, per_session // 5), interval)
        sent, paths = 0, [(ours, APPEND), (theirs, REALTIME)]
        gateway_cpu, relay_cpu, start = gateway.cpu_s(), relay.cpu_s(), time.perf_counter()
        for index in range(max(1, frames // (per_session * streams))):
            for sessions, frame in paths if index % 2 == 0 else paths[::-1]:
                await _block(sessions, frame, per_session, interval)
            sent += per_session * streams
            if time.perf_counter() - start > limit_s:
                break
        await asyncio.sleep(FINAL_SETTLE_S)
        gateway_cpu, relay_cpu = gateway.cpu_s() - gateway_cpu, relay.cpu_s() - relay_cpu
        for sessions in (ours, theirs):  # off the clock: every frame went through, the sessions still work
            await asyncio.gather(*(s.turn() for s in sessions))
    finally:
        await asyncio.gather(*(s.close() for s in ours + theirs), return_exceptions=True)
    return AudioFigures(gateway_cpu / sent * 1e6, relay_cpu / sent * 1e6, sent, streams, interval * 1e3)
