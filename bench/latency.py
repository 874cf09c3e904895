"""Figures 1 and 2: text-turn latency through the gateway vs direct, and CPU per turn in each process.

Three paths, each with one session at a time held for up to SESSION_TURNS turns (the emulator's cost per turn
grows with its history, so one endless session would make the baseline drift): the gateway, a direct client,
and the same direct client through the bare relay of `bench/apps.py` (livegate's stack with no translation:
the floor any gateway on it pays for the same frames). Turns rotate through the paths, each round in the
reverse order of the last, so drift and ordering cancel. CPU is read around each stretch of measured turns
(dials and warm-up are left out): the gateway and the relay idle during the other paths' turns, so each one's
CPU over a stretch is its cost for its own turns, late work such as a turn's trailing resumption update
included; the emulator serves all three.
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
SESSION_TURNS = 200  # measured turns per session trio


@dataclass
class TurnFigures:
    gateway_ms: list[float]  # per-turn latency through the gateway
    direct_ms: list[float]  # per-turn latency straight to the emulator
    relay_ms: list[float]  # per-turn latency through the bare relay
    gateway_cpu_ms: float  # gateway CPU per gateway turn
    relay_cpu_ms: float  # relay CPU per relayed turn
    emulator_cpu_ms: float  # emulator CPU per turn (all paths)
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
        relayed, direct = percentile(self.relay_ms, 50), percentile(self.direct_ms, 50)
        rows += [
            Row("text turn p50 latency through the bare relay (no translation)", relayed, direct, "ms",
                "(report: the stack's floor)", None, f"{relayed - direct:+.3f}"),
            Row("gateway CPU / text turn (baseline: the bare relay's)", self.gateway_cpu_ms, self.relay_cpu_ms, "ms",
                f"<= {CPU_TARGET_MS} ms", self.gateway_cpu_ms <= CPU_TARGET_MS),
        ]
        return rows

    def note(self) -> str:
        relay_added = percentile(self.relay_ms, 50) - percentile(self.direct_ms, 50)
        below = [name for name, floor, target in (("CPU", self.relay_cpu_ms, CPU_TARGET_MS),
                                                  ("latency", relay_added, LATENCY_TARGET_MS)) if floor > target]
        verdict = (f"; the bare relay alone misses the {' and '.join(below)} target{'s' if len(below) > 1 else ''}"
                   if below else "")
        return (f"turns: {len(self.gateway_ms)} per path in {self.seconds:.1f} s, three paths (gateway, bare relay, "
                f"direct) in rotating order, a fresh session trio every {SESSION_TURNS} turns; the bare relay "
                f"(bench/apps.py) forwards the direct client's Gemini frames untranslated on livegate's stack and "
                f"costs {self.relay_cpu_ms:.3f} ms CPU and {relay_added:+.3f} ms p50 per turn{verdict}; the emulator "
                f"spent {self.emulator_cpu_ms:.3f} ms per turn")


async def measure(port: int, relay_port: int, plan: DirectPlan, gateway: Proc, relay: Proc, emulator: Proc, *,
                  turns: int, warmup: int, limit_s: float) -> TurnFigures:
    """Up to `turns` measured turns per path (fewer if `limit_s` runs out), `warmup` more per session trio."""
    samples: dict[str, list[float]] = {"gateway": [], "direct": [], "relay": []}
    gateway_cpu = relay_cpu = emulator_cpu = seconds = 0.0
    began = time.perf_counter()
    while len(samples["gateway"]) < turns and time.perf_counter() - began < limit_s:
        async with contextlib.AsyncExitStack() as sessions:
            opened: dict[str, Any] = {
                "gateway": await GatewaySession.open(gateway_url(port)),
                "direct": await DirectSession.open(plan),
                "relay": await DirectSession.open(plan, f"ws://127.0.0.1:{relay_port}/"),
            }
            for session in opened.values():
                sessions.push_async_callback(session.close)
            for _ in range(warmup):  # the first gateway and relay turns also dial upstream
                for session in opened.values():
                    await session.turn()
            cpu = gateway.cpu_s(), relay.cpu_s(), emulator.cpu_s()
            start = time.perf_counter()
            paths = list(opened.items())
            for index in range(min(SESSION_TURNS, turns - len(samples["gateway"]))):
                for name, session in paths if index % 2 == 0 else paths[::-1]:
                    samples[name].append(await session.turn() / 1e6)
                if time.perf_counter() - began > limit_s:
                    break
            seconds += time.perf_counter() - start
            await asyncio.sleep(0.05)  # let the last turn's trailing frames land in the window
            gateway_cpu += gateway.cpu_s() - cpu[0]
            relay_cpu += relay.cpu_s() - cpu[1]
            emulator_cpu += emulator.cpu_s() - cpu[2]
    done = len(samples["gateway"])
    return TurnFigures(samples["gateway"], samples["direct"], samples["relay"], gateway_cpu / done * 1e3,
                       relay_cpu / done * 1e3, emulator_cpu / (3 * done) * 1e3, seconds)
