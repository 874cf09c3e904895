"""Figures 1 and 2: text-turn latency through the gateway vs direct, and CPU per turn in each process.

Three paths, each with one session at a time held for up to SESSION_TURNS turns (the emulator's cost per turn
grows with its history, so one endless session would make the baseline drift): the gateway, a direct client,
and the same direct client through the bare relay of `bench/apps.py` (livegate's stack with no translation:
the floor any gateway on it pays for the same frames). A fourth when `make bench` could install it: the
gateway's client through LiteLLM's proxy (bench/peers/litellm.txt), the peer issue #15 states the CPU target
against. Turns rotate through the paths, each round in the reverse order of the last, so drift and ordering
cancel. CPU is read around each stretch of measured turns (dials and warm-up are left out): each server idles
during the other paths' turns, so its CPU over a stretch is its cost for its own turns, late work such as a
turn's trailing resumption update included; the emulator serves every path.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

from bench.procs import Proc
from bench.report import Row, percentile
from bench.wire import DirectPlan, DirectSession, GatewaySession, LiteLLMSession, gateway_url

LATENCY_TARGET_MS = 0.3  # added p50 over direct
CPU_TARGET_RATIO = 0.4  # gateway CPU per text turn, to LiteLLM's in the same run (issue #15)
CPU_TARGET_MS = 0.4  # the reading of that ratio on its run; the target when LiteLLM is not installed
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
    litellm_ms: list[float] | None = None  # per-turn latency through LiteLLM's proxy (None: not installed)
    litellm_cpu_ms: float | None = None  # LiteLLM's CPU per turn
    litellm_version: str = ""

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
        rows.append(Row("text turn p50 latency through the bare relay (no translation)", relayed, direct, "ms",
                        "(report: the stack's floor)", None, f"{relayed - direct:+.3f}"))
        if self.litellm_ms is None or self.litellm_cpu_ms is None:
            rows.append(Row("gateway CPU / text turn (baseline: the bare relay's; LiteLLM not installed)",
                            self.gateway_cpu_ms, self.relay_cpu_ms, "ms", f"<= {CPU_TARGET_MS} ms",
                            self.gateway_cpu_ms <= CPU_TARGET_MS))
            return rows
        peer = percentile(self.litellm_ms, 50)
        rows += [
            Row(f"text turn p50 latency through LiteLLM {self.litellm_version}", peer, direct, "ms", "(report)", None,
                f"{peer - direct:+.3f}"),
            Row(f"gateway CPU / text turn (baseline: LiteLLM {self.litellm_version}'s)", self.gateway_cpu_ms,
                self.litellm_cpu_ms, "ms", f"<= {CPU_TARGET_RATIO}x",
                self.gateway_cpu_ms <= CPU_TARGET_RATIO * self.litellm_cpu_ms),
            Row("gateway CPU / text turn (baseline: the bare relay's)", self.gateway_cpu_ms, self.relay_cpu_ms, "ms",
                f"(report: {CPU_TARGET_MS} ms was the issue's reading)", None),
        ]
        return rows

    def note(self) -> str:
        relay_added = percentile(self.relay_ms, 50) - percentile(self.direct_ms, 50)
        cpu_target = CPU_TARGET_MS if self.litellm_cpu_ms is None else CPU_TARGET_RATIO * self.litellm_cpu_ms
        below = [name for name, floor, target in (("CPU", self.relay_cpu_ms, cpu_target),
                                                  ("latency", relay_added, LATENCY_TARGET_MS)) if floor > target]
        verdict = (f"; the bare relay alone misses the {' and '.join(below)} target{'s' if len(below) > 1 else ''}"
                   if below else "")
        if self.litellm_ms is None:
            peer = "; LiteLLM's proxy is not installed (make bench installs bench/peers/litellm.txt)"
        else:
            peer = (f"; LiteLLM {self.litellm_version} (its own defaults: it takes the clients' permessage-deflate, "
                    "and with a native-audio model it sends each turn's audio as deltas, output_modalities text or "
                    f"not) costs {self.litellm_cpu_ms:.3f} ms CPU per turn")
        return (f"turns: {len(self.gateway_ms)} per path in {self.seconds:.1f} s, "
                f"{4 if self.litellm_ms else 3} paths in rotating order, fresh sessions every {SESSION_TURNS} turns; "
                "the bare relay (bench/apps.py) forwards the direct client's Gemini frames untranslated on livegate's "
                f"stack and costs {self.relay_cpu_ms:.3f} ms CPU and {relay_added:+.3f} ms p50 per turn{verdict}"
                f"{peer}; the emulator spent {self.emulator_cpu_ms:.3f} ms per turn")


@dataclass
class Peer:
    """LiteLLM's proxy, running: its process, port and version."""

    proc: Proc
    port: int
    version: str


async def measure(port: int, relay_port: int, plan: DirectPlan, gateway: Proc, relay: Proc, emulator: Proc, *,
                  turns: int, warmup: int, limit_s: float, peer: Peer | None = None) -> TurnFigures:
    """Up to `turns` measured turns per path (fewer if `limit_s` runs out), `warmup` more per set of sessions."""
    samples: dict[str, list[float]] = {"gateway": [], "direct": [], "relay": [], "litellm": []}
    servers = {"gateway": gateway, "relay": relay, "emulator": emulator} | ({"litellm": peer.proc} if peer else {})
    cpu_s = dict.fromkeys(servers, 0.0)
    seconds = 0.0
    began = time.perf_counter()
    while len(samples["gateway"]) < turns and time.perf_counter() - began < limit_s:
        async with contextlib.AsyncExitStack() as sessions:
            opened: dict[str, Any] = {
                "gateway": await GatewaySession.open(gateway_url(port)),
                "direct": await DirectSession.open(plan),
                "relay": await DirectSession.open(plan, f"ws://127.0.0.1:{relay_port}/"),
            }
            if peer is not None:
                opened["litellm"] = await LiteLLMSession.open(gateway_url(peer.port))
            for session in opened.values():
                sessions.push_async_callback(session.close)
            for _ in range(warmup):  # the first gateway, relay and LiteLLM turns also dial upstream
                for session in opened.values():
                    await session.turn()
            before = {name: proc.cpu_s() for name, proc in servers.items()}
            start = time.perf_counter()
            paths = list(opened.items())
            for index in range(min(SESSION_TURNS, turns - len(samples["gateway"]))):
                for name, session in paths if index % 2 == 0 else paths[::-1]:
                    samples[name].append(await session.turn() / 1e6)
                if time.perf_counter() - began > limit_s:
                    break
            seconds += time.perf_counter() - start
            await asyncio.sleep(0.05)  # let the last turn's trailing frames land in the window
            for name, proc in servers.items():
                cpu_s[name] += proc.cpu_s() - before[name]
    done = len(samples["gateway"])
    figures = TurnFigures(samples["gateway"], samples["direct"], samples["relay"], cpu_s["gateway"] / done * 1e3,
                          cpu_s["relay"] / done * 1e3, cpu_s["emulator"] / (len(opened) * done) * 1e3, seconds)
    if peer is not None:
        figures.litellm_ms, figures.litellm_cpu_ms = samples["litellm"], cpu_s["litellm"] / done * 1e3
        figures.litellm_version = peer.version
    return figures
