"""Figures 1 and 2: text-turn latency through the gateway vs direct, and CPU per turn in each process.

Paths, each with one session at a time held for up to SESSION_TURNS turns (the emulator's cost per turn grows
with its history, so one endless session would make the baseline drift): the gateway; a direct client; the same
direct client through the bare relay of `bench/apps.py` (livegate's stack with no translation: the floor any
gateway on it pays for the same frames); the same again through the picows relay of `bench/picows_relay.py`
(the leanest Python relay: what the machine allows); and, when `make bench` could install it, the gateway's own
client through LiteLLM's proxy (bench/peers/litellm.txt, the peer issue #15 states the CPU target against). Turns rotate
through the paths, each round in the reverse order of the last, so drift and ordering cancel (LiteLLM's turns
run in a stretch of their own after each rotation, see `measure`). CPU is read around each stretch of measured
turns (dials and warm-up are left out): each server idles during the other paths' turns, so its CPU over a
stretch is its cost for its own turns, late work such as a turn's trailing resumption update included; the
emulator serves every path.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from bench.procs import Proc
from bench.report import Row, percentile
from bench.wire import DirectPlan, DirectSession, GatewaySession, LiteLLMSession, gateway_url

LATENCY_TARGET_MS = 0.3  # added p50 over direct
CPU_TARGET_RATIO = 0.4  # gateway CPU per text turn, to LiteLLM's in the same run (issue #15)
CPU_TARGET_MS = 0.4  # the reading of that ratio on its run; the target when LiteLLM is not installed
SESSION_TURNS = 200  # measured turns per set of sessions


@dataclass
class Server:
    """A server on one of the paths: its process and port (and, for LiteLLM, its version)."""

    proc: Proc
    port: int
    version: str = ""


@dataclass
class TurnFigures:
    latency_ms: dict[str, list[float]]  # path → per-turn latency: gateway, direct, relay[, picows][, litellm(-plain)]
    cpu_ms: dict[str, float]  # server → CPU per turn of its own path (the emulator's: per turn of any path)
    seconds: float  # wall time of the measured rounds
    litellm_version: str = ""
    added_ms: dict[str, float] = field(init=False)  # path → p50 added over the direct client

    def __post_init__(self) -> None:
        direct = percentile(self.latency_ms["direct"], 50)
        self.added_ms = {name: percentile(samples, 50) - direct for name, samples in self.latency_ms.items()}

    @property
    def gateway_cpu_ms(self) -> float:
        return self.cpu_ms["gateway"]

    def rows(self) -> list[Row]:
        samples, cpu = self.latency_ms, self.cpu_ms
        rows = []
        for q in (50, 99):
            ours, theirs = percentile(samples["gateway"], q), percentile(samples["direct"], q)
            added = ours - theirs
            met = added <= LATENCY_TARGET_MS if q == 50 else None
            target = f"<= +{LATENCY_TARGET_MS} ms" if q == 50 else ""
            rows.append(Row(f"text turn p{q} latency, n={len(samples['gateway'])}", ours, theirs, "ms", target, met,
                            f"{added:+.3f}"))
        direct = percentile(samples["direct"], 50)
        for name, figure, target in (
            ("relay", "text turn p50 latency through the bare relay (no translation)", "(report: the stack's floor)"),
            ("picows", "text turn p50 latency through a picows relay (no translation)",
             "(report: the machine's floor)"),
            ("litellm", f"text turn p50 latency through LiteLLM {self.litellm_version}", "(report)"),
            ("litellm-plain", "the same through LiteLLM, a client offering no permessage-deflate", "(report)"),
        ):
            if name in samples:
                rows.append(Row(figure, percentile(samples[name], 50), direct, "ms", target, None,
                                f"{self.added_ms[name]:+.3f}"))
        if "litellm" not in cpu:
            rows.append(Row("gateway CPU / text turn (baseline: the bare relay's; LiteLLM not installed)",
                            cpu["gateway"], cpu["relay"], "ms", f"<= {CPU_TARGET_MS} ms",
                            cpu["gateway"] <= CPU_TARGET_MS))
        else:
            rows.append(Row(f"gateway CPU / text turn (baseline: LiteLLM {self.litellm_version}'s)", cpu["gateway"],
                            cpu["litellm"], "ms", f"<= {CPU_TARGET_RATIO}x",
                            cpu["gateway"] <= CPU_TARGET_RATIO * cpu["litellm"]))
            rows.append(Row("gateway CPU / text turn (baseline: LiteLLM's, a client offering no permessage-deflate)",
                            cpu["gateway"], cpu["litellm-plain"], "ms", "(report)", None))
            rows.append(Row("gateway CPU / text turn (baseline: the bare relay's)", cpu["gateway"], cpu["relay"], "ms",
                            f"(report: {CPU_TARGET_MS} ms was the issue's reading)", None))
        if "picows" in cpu:
            rows.append(Row("gateway CPU / text turn (baseline: the picows relay's)", cpu["gateway"], cpu["picows"],
                            "ms", "(report)", None))
        return rows

    def note(self) -> str:
        cpu, added = self.cpu_ms, self.added_ms
        cpu_target = CPU_TARGET_RATIO * cpu["litellm"] if "litellm" in cpu else CPU_TARGET_MS
        floors = []
        for name, what in (("relay", "the bare relay on livegate's stack"), ("picows", "the picows relay")):
            if name in cpu:
                missed = [target for target, floor, limit in (("CPU", cpu[name], cpu_target),
                                                              ("latency", added[name], LATENCY_TARGET_MS))
                          if floor > limit]
                verdict = f", so it alone misses the {' and '.join(missed)} target" if missed else ""
                floors.append(f"{what} costs {cpu[name]:.3f} ms CPU and {added[name]:+.3f} ms p50 per turn{verdict}")
        if "picows" not in cpu:
            floors.append("the picows relay is not installed (make installs the test extra)")
        if "litellm" in cpu:
            floors.append(f"LiteLLM {self.litellm_version} (its own defaults: it takes the clients' "
                          "permessage-deflate, and with a native-audio model it sends each turn's audio as deltas, "
                          f"output_modalities text or not) costs {cpu['litellm']:.3f} ms CPU per turn, "
                          f"{cpu['litellm-plain']:.3f} ms for a client that offers no permessage-deflate")
        else:
            floors.append("LiteLLM's proxy is not installed (make bench installs bench/peers/litellm.txt)")
        rotating = sum(not name.startswith("litellm") for name in self.latency_ms)
        peer = ", LiteLLM's in stretches of their own after each rotation" if "litellm" in self.latency_ms else ""
        return (f"turns: {len(self.latency_ms['gateway'])} per path in {self.seconds:.1f} s, "
                f"{rotating} paths in rotating order{peer}, fresh sessions every {SESSION_TURNS} turns; "
                + "; ".join(floors) + f"; the emulator spent {cpu['emulator']:.3f} ms per turn")


async def measure(gateway: Server, relay: Server, plan: DirectPlan, emulator: Proc, *, turns: int, warmup: int,
                  limit_s: float, picows: Server | None = None, litellm: Server | None = None) -> TurnFigures:
    """Up to `turns` measured turns per path (fewer if `limit_s` runs out), `warmup` more per set of sessions.

    LiteLLM's turns run in stretches of their own after each rotation's: in the rotation, a LiteLLM turn left
    the next path's slower (the picows relay's p50 read +0.48 ms instead of +0.08, its CPU and the emulator's
    rose too), although LiteLLM itself does next to nothing after `response.done` (0.06 ms of CPU in the 50 ms
    after, against ~4 ms during): most likely its footprint (a ~330 MB process) leaves the next one's caches cold.
    Its CPU is read around each of its stretches: one with the bench client offering permessage-deflate, as SDKs
    and browsers do (which LiteLLM takes), and one with a client that offers none (`litellm-plain`)."""
    servers = {"gateway": gateway, "relay": relay} | ({"picows": picows} if picows else {})
    procs = {name: server.proc for name, server in servers.items()} | {"emulator": emulator}
    samples: dict[str, list[float]] = {name: [] for name in [*servers, "direct"]}
    cpu_s = dict.fromkeys(procs, 0.0)
    peer_samples: dict[str, list[float]] = {"litellm": [], "litellm-plain": []}
    peer_cpu_s = dict.fromkeys(peer_samples, 0.0)
    seconds = 0.0
    began = time.perf_counter()
    while len(samples["gateway"]) < turns and time.perf_counter() - began < limit_s:
        async with contextlib.AsyncExitStack() as sessions:
            opened: dict[str, Any] = {
                "gateway": await GatewaySession.open(gateway_url(gateway.port)),
                "direct": await DirectSession.open(plan),
                "relay": await DirectSession.open(plan, f"ws://127.0.0.1:{relay.port}/"),
            }
            if picows is not None:
                opened["picows"] = await DirectSession.open(plan, f"ws://127.0.0.1:{picows.port}/")
            peers: dict[str, LiteLLMSession] = {}
            if litellm is not None:
                url = gateway_url(litellm.port)
                peers = {"litellm": await LiteLLMSession.open(url),
                         "litellm-plain": await LiteLLMSession.open(url, compression=False)}
            for session in [*opened.values(), *peers.values()]:
                sessions.push_async_callback(session.close)
                for _ in range(warmup):  # the first turn through a server also dials upstream
                    await session.turn()
            before = {name: proc.cpu_s() for name, proc in procs.items()}
            start = time.perf_counter()
            paths = list(opened.items())
            done = 0
            for index in range(min(SESSION_TURNS, turns - len(samples["gateway"]))):
                for name, session in paths if index % 2 == 0 else paths[::-1]:
                    samples[name].append(await session.turn() / 1e6)
                done += 1
                if time.perf_counter() - began > limit_s:
                    break
            seconds += time.perf_counter() - start
            await asyncio.sleep(0.05)  # let the last turn's trailing frames land in the window
            for name, proc in procs.items():
                cpu_s[name] += proc.cpu_s() - before[name]
            for name, peer in peers.items():
                assert litellm is not None
                peer_before = litellm.proc.cpu_s()
                for _ in range(done):
                    peer_samples[name].append(await peer.turn() / 1e6)
                await asyncio.sleep(0.05)
                peer_cpu_s[name] += litellm.proc.cpu_s() - peer_before
    count = len(samples["gateway"])
    cpu_ms = {name: spent / count * 1e3 for name, spent in cpu_s.items()}
    cpu_ms["emulator"] /= len(samples)  # it served every rotating path's turns
    if litellm is not None:
        for name, taken in peer_samples.items():
            samples[name], cpu_ms[name] = taken, peer_cpu_s[name] / len(taken) * 1e3
    return TurnFigures(samples, cpu_ms, seconds, litellm.version if litellm else "")
