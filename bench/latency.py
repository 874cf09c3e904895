"""Figures 1 and 2: text-turn latency through the gateway vs direct, and CPU per turn in each process.

One session per path at a time, each held for up to SESSION_TURNS turns (the emulator's cost per turn grows
with its history, so one endless session would make the baseline drift); turns alternate ABBA so drift and
ordering cancel. CPU is read around each stretch of measured turns (dials and warm-up are left out): the
gateway idles during direct turns, so its CPU over a stretch is its cost for the gateway turns, late work
such as a turn's trailing resumption update included; the emulator serves both paths.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

from bench.procs import Proc
from bench.report import Row, percentile
from bench.wire import DirectPlan, DirectSession, GatewaySession, gateway_url

LATENCY_TARGET_MS = 0.3  # added p50 over direct
CPU_TARGET_MS = 0.4  # gateway CPU per text turn
SESSION_TURNS = 200  # measured turns per session pair


@dataclass
class TurnFigures:
    gateway_ms: list[float]  # per-turn latency through the gateway
    direct_ms: list[float]  # per-turn latency straight to the emulator
    gateway_cpu_ms: float  # gateway CPU per gateway turn
    emulator_cpu_ms: float  # emulator CPU per turn (both paths)
    seconds: float  # wall time of the measured rounds

    def rows(self) -> list[Row]:
        n = len(self.gateway_ms)
        rows = []
        for q in (50, 99):
            ours, theirs = percentile(self.gateway_ms, q), percentile(self.direct_ms, q)
            added = ours - theirs
            met = added <= LATENCY_TARGET_MS if q == 50 else None
            target = f"<= +{LATENCY_TARGET_MS} ms" if q == 50 else ""
            rows.append(Row(f"text turn p{q} latency, n={n}", ours, theirs, "ms", target, met, f"{added:+.3f}"))
        rows.append(
            Row("gateway CPU / text turn", self.gateway_cpu_ms, self.emulator_cpu_ms, "ms",
                f"<= {CPU_TARGET_MS} ms", self.gateway_cpu_ms <= CPU_TARGET_MS)
        )
        return rows


async def measure(port: int, plan: DirectPlan, gateway: Proc, emulator: Proc, *, turns: int, warmup: int,
                  limit_s: float) -> TurnFigures:
    """Up to `turns` measured turns per path (fewer if `limit_s` runs out), `warmup` more per session pair."""
    ours_ms: list[float] = []
    theirs_ms: list[float] = []
    gateway_cpu = emulator_cpu = seconds = 0.0
    began = time.perf_counter()
    while len(ours_ms) < turns and time.perf_counter() - began < limit_s:
        async with contextlib.AsyncExitStack() as sessions:
            ours = await GatewaySession.open(gateway_url(port))
            sessions.push_async_callback(ours.close)
            theirs = await DirectSession.open(plan)
            sessions.push_async_callback(theirs.close)
            for _ in range(warmup):  # the first gateway turn also dials upstream
                await ours.turn()
                await theirs.turn()
            cpu = gateway.cpu_s(), emulator.cpu_s()
            start = time.perf_counter()
            paths: list[tuple[Any, list[float]]] = [(ours, ours_ms), (theirs, theirs_ms)]
            for index in range(min(SESSION_TURNS, turns - len(ours_ms))):
                for session, samples in paths if index % 2 == 0 else paths[::-1]:
                    samples.append(await session.turn() / 1e6)
                if time.perf_counter() - began > limit_s:
                    break
            seconds += time.perf_counter() - start
            await asyncio.sleep(0.05)  # let the last turn's trailing frames land in the window
            gateway_cpu += gateway.cpu_s() - cpu[0]
            emulator_cpu += emulator.cpu_s() - cpu[1]
    done = len(ours_ms)
    return TurnFigures(ours_ms, theirs_ms, gateway_cpu / done * 1e3, emulator_cpu / (2 * done) * 1e3, seconds)
