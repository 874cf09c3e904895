"""Figure 3: gateway RSS per open session, idle and with its upstream connected, vs a plain relay.

The baseline is `bench/apps.py`'s relay on the same stack (Starlette + uvicorn + websockets): an idle
relay socket is an accepted WebSocket and nothing else; a connected one also holds its upstream socket.
Each process first serves one throw-away session so lazy imports and first-use caches are paid for.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.procs import Proc
from bench.report import Row
from bench.wire import DirectPlan, DirectSession, GatewaySession, Socket, gateway_url
from gateway.upstream.dial import Endpoint, dial

IDLE_TARGET_KB = 40.0  # issue #15: per idle session after one turn (upstream connected)
PROCESS_TARGET_MB = 60.0  # RSS with no session open, after one (its lazy imports paid)
BATCH = 25  # sessions opened concurrently
SETTLE_S = 0.3  # let the server finish its side before reading RSS


@dataclass
class Footprint:
    base_kb: int  # RSS with no session (after one throw-away session)
    idle_kb: float  # per idle session
    connected_kb: float  # per session after one turn with the upstream connected


async def _batched(calls: Sequence[Callable[[], Awaitable[Any]]]) -> list[Any]:
    out: list[Any] = []
    for first in range(0, len(calls), BATCH):
        async with asyncio.timeout(30):
            out += await asyncio.gather(*(call() for call in calls[first : first + BATCH]))
    return out


async def _rss_after_settling(proc: Proc) -> int:
    await asyncio.sleep(SETTLE_S)
    return proc.rss_kb()


async def _footprint(proc: Proc, count: int, open_idle: Callable[[], Awaitable[Any]],
                     connect_one: Callable[[Any], Awaitable[Any]]) -> Footprint:
    warm = await open_idle()
    await connect_one(warm)
    await warm.close()
    base = await _rss_after_settling(proc)
    sessions: list[Any] = []
    try:
        sessions = await _batched([open_idle] * count)
        idle = await _rss_after_settling(proc)
        await _batched([functools.partial(connect_one, s) for s in sessions])
        connected = await _rss_after_settling(proc)
    finally:
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)
    return Footprint(base, (idle - base) / count, (connected - base) / count)


class _RelaySocket:
    """A relay client that has only connected: the relay accepts, and dials upstream at the first frame."""

    def __init__(self, url: str, plan: DirectPlan) -> None:
        self.url, self.plan = url, plan
        self.ws: Socket | None = None

    async def open(self) -> _RelaySocket:
        self.ws = await dial(Endpoint(self.url, self.plan.endpoint.model_resource))
        return self

    async def connect_and_turn(self) -> None:
        assert self.ws is not None
        await (await DirectSession.start(self.ws, self.plan)).turn()

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


async def measure(gateway: Proc, gateway_port: int, relay: Proc, relay_port: int, plan: DirectPlan,
                  count: int) -> tuple[Footprint, Footprint]:
    ours = await _footprint(gateway, count, lambda: GatewaySession.open(gateway_url(gateway_port)),
                            lambda s: s.turn())
    relay_url = f"ws://127.0.0.1:{relay_port}/"
    theirs = await _footprint(relay, count, lambda: _RelaySocket(relay_url, plan).open(),
                              lambda s: s.connect_and_turn())
    return ours, theirs


def rows(ours: Footprint, theirs: Footprint, count: int) -> list[Row]:
    mine_mb = ours.base_kb / 1024
    return [
        Row("process RSS, idle after one session", mine_mb, theirs.base_kb / 1024, "MB",
            f"<= {PROCESS_TARGET_MB:.0f} MB", mine_mb <= PROCESS_TARGET_MB),
        Row(f"RSS / session only connected, n={count}", ours.idle_kb, theirs.idle_kb, "KB", "(report)"),
        Row(f"RSS / idle session after one turn, n={count}", ours.connected_kb, theirs.connected_kb, "KB",
            f"<= {IDLE_TARGET_KB:.0f} KB", ours.connected_kb <= IDLE_TARGET_KB),
    ]
