"""Figure 6: what virtual keys and spend logging cost. A second gateway with a database (the default SQLite
file) serves a virtual key made through /key/generate (budget, rpm and parallel limits set), every response
priced and written as a spend row; the first gateway runs on its master key alone, without a database. Both
in the same run against the same emulator, alternating ABBA: text-turn latency, gateway CPU per text turn,
gateway CPU per audio append. The difference should stay within noise (< 3 %)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from bench.audio import APPEND, SETTLE_S
from bench.procs import ALIAS, MASTER_KEY, Proc
from bench.report import Row, percentile
from bench.wire import GatewaySession, gateway_url

TARGET_PCT = 3.0


@dataclass
class Side:
    """One gateway of the comparison."""

    proc: Proc
    port: int
    key: str
    turn_ms: list[float]
    turn_cpu_s: float = 0.0
    append_cpu_s: float = 0.0


@dataclass
class AccountFigures:
    keyed: Side  # virtual key, database, spend rows
    plain: Side  # master key, no database
    turns: int
    appends: int

    def rows(self) -> list[Row]:
        keyed, plain = self.keyed, self.plain
        pairs = [
            ("text turn p50 latency", percentile(keyed.turn_ms, 50), percentile(plain.turn_ms, 50), "ms"),
            ("gateway CPU / text turn", keyed.turn_cpu_s / self.turns * 1e3, plain.turn_cpu_s / self.turns * 1e3, "ms"),
            ("CPU / audio append", keyed.append_cpu_s / self.appends * 1e6, plain.append_cpu_s / self.appends * 1e6,
             "us"),
        ]
        rows = []
        for name, ours, base, unit in pairs:
            change = (ours / base - 1) * 100 if base else 0.0
            rows.append(Row(f"{name}, virtual key + spend rows vs master key", ours, base, unit,
                            f"within {TARGET_PCT:g} %", abs(change) <= TARGET_PCT, f"{change:+.1f} %"))
        return rows


async def make_key(port: int) -> str:
    """A virtual key with every limit the gateway checks, generous enough not to refuse the bench."""
    fields = {"key_alias": "bench", "models": [ALIAS], "max_budget": 1e6, "budget_duration": "30d",
              "rpm_limit": 100_000, "max_parallel_requests": 1000}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                 headers={"Authorization": f"Bearer {MASTER_KEY}"}) as admin:
        answer = await admin.post("/key/generate", json=fields)
        answer.raise_for_status()
        return str(answer.json()["key"])


async def measure(keyed: Side, plain: Side, *, turns: int, warmup: int, appends: int, block: int,
                  limit_s: float) -> AccountFigures:
    """`turns` text turns and `appends` back-to-back appends per side, alternating ABBA."""
    sides = [keyed, plain]
    sessions = [await GatewaySession.open(gateway_url(side.port), side.key) for side in sides]
    try:
        for _ in range(warmup):
            for session in sessions:
                await session.turn()
        done = await _turns(sides, sessions, turns, limit_s)
        sent = await _appends(sides, sessions, appends, block, limit_s)
        for session in sessions:  # every append went through, the sessions still work
            await session.turn()
    finally:
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)
    return AccountFigures(keyed, plain, done, sent)


async def _turns(sides: list[Side], sessions: list[GatewaySession], turns: int, limit_s: float) -> int:
    began = time.perf_counter()
    cpu = [side.proc.cpu_s() for side in sides]
    pairs = list(zip(sides, sessions, strict=True))
    done = 0
    while done < turns and time.perf_counter() - began < limit_s:
        for side, session in pairs if done % 2 == 0 else pairs[::-1]:
            side.turn_ms.append(await session.turn() / 1e6)
        done += 1
    await asyncio.sleep(0.05)  # trailing frames of the last turn
    for side, before in zip(sides, cpu, strict=True):
        side.turn_cpu_s = side.proc.cpu_s() - before
    return done


async def _appends(sides: list[Side], sessions: list[GatewaySession], appends: int, block: int,
                   limit_s: float) -> int:
    began = time.perf_counter()
    cpu = [side.proc.cpu_s() for side in sides]
    pairs = list(zip(sides, sessions, strict=True))
    sent = 0
    while sent < appends and time.perf_counter() - began < limit_s:
        for _, session in pairs if (sent // block) % 2 == 0 else pairs[::-1]:
            for _ in range(block):
                await session.send(APPEND)
            await asyncio.sleep(SETTLE_S)
        sent += block
    await asyncio.sleep(0.3)
    for side, before in zip(sides, cpu, strict=True):
        side.append_cpu_s = side.proc.cpu_s() - before
    return sent
