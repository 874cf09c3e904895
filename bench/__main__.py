"""`python -m bench [--quick] [--soak | --calls | --scale] [--model audio|text|3.1] [--profile]`: one report."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from bench import accounts, audio, calls, latency, memory, profiling, scale, soak, split, startup
from bench.procs import (
    MASTER_KEY,
    PRESETS,
    SPEND_WRITE_S,
    BenchError,
    Proc,
    app_argv,
    emulator_argv,
    free_port,
    gateway_argv,
    wait_ready,
    write_config,
)
from bench.report import Row, table
from bench.wire import DirectPlan


@dataclass(frozen=True)
class Sizes:
    startup_rounds: int  # spawns per side
    sessions: int  # open sessions for the memory figure
    turns: int  # measured text turns per path
    warmup: int  # unmeasured turns per path, per session pair
    audio_frames: int  # appends per path, per load
    audio_block: int  # appends per block (all sessions of a path together)
    audio_streams: int  # concurrent real-time sessions per path
    phase_limit_s: float  # wall-time cap of each turn or audio phase
    soak_sessions: int  # concurrent sessions of the goAway soak (bench/soak.py)
    soak_turns: int  # turns per soak session, each on a fresh upstream after a goAway
    calls: int  # concurrent WebRTC calls (and WebSocket sessions) of the call-audio figure
    call_seconds: float  # measured seconds per path of the call-audio figure


FULL = Sizes(startup_rounds=5, sessions=200, turns=1000, warmup=20, audio_frames=5000, audio_block=1000,
             audio_streams=50, phase_limit_s=30, soak_sessions=40, soak_turns=8, calls=10, call_seconds=20)
QUICK = Sizes(startup_rounds=1, sessions=40, turns=60, warmup=10, audio_frames=1000, audio_block=500,
              audio_streams=25, phase_limit_s=5, soak_sessions=20, soak_turns=4, calls=4, call_seconds=6)
REAL_TIME_S = 0.020  # one 20 ms frame per session every 20 ms


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a ~15 s smoke run with small counts")
    parser.add_argument("--model", choices=sorted(PRESETS), default="audio", help="upstream model preset")
    parser.add_argument("--soak", action="store_true",
                        help="only the goAway soak (many sessions crossing goAways); the full run includes it")
    parser.add_argument("--keys", action="store_true",
                        help="only the virtual-key + spend-rows comparison; the full run includes it")
    parser.add_argument("--calls", action="store_true",
                        help="only the WebRTC call-audio figure (calls vs WebSocket pcm16); the full run includes it")
    parser.add_argument("--scale", action="store_true",
                        help="only the --workers 1 vs 2 ramp of real-time audio sessions (not in the full run: it "
                             "saturates the machine for about two minutes)")
    parser.add_argument("--profile", action="store_true",
                        help="run the gateway under cProfile and print where its time went (inflates its CPU)")
    return parser


async def _measure(args: argparse.Namespace, sizes: Sizes, tmp: Path, stack: ExitStack,
                   procs: list[Proc]) -> tuple[list[Row], list[str]]:
    rows: list[Row] = []
    notes: list[str] = []

    def spawn(name: str, argv: list[str], port: int, want: int | None = 200, sig: int = signal.SIGTERM) -> Proc:
        proc = Proc(name, argv, tmp, stop_signal=sig)
        stack.callback(proc.stop)
        procs.append(proc)
        wait_ready(proc, port, want=want)
        return proc

    async def keys_phase(emulator_port: int, config: Path) -> None:
        # Two fresh gateways, so neither carries the other phases' history: the master key alone, and a database
        # with a virtual key.
        keyed_dir = tmp / "keyed"
        keyed_dir.mkdir()
        keyed_config = write_config(keyed_dir, emulator_port, args.model, database=True)
        keyed_port, plain_port = free_port(), free_port()
        keyed_proc = spawn("gateway-keyed", gateway_argv(keyed_config, keyed_port), keyed_port, sig=signal.SIGINT)
        plain_proc = spawn("gateway-plain", gateway_argv(config, plain_port), plain_port, sig=signal.SIGINT)
        keyed = accounts.Side(keyed_proc, keyed_port, await accounts.make_key(keyed_port))
        plain = accounts.Side(plain_proc, plain_port, MASTER_KEY)
        figures = await accounts.measure(keyed, plain, turns=sizes.turns, warmup=sizes.warmup,
                                         appends=sizes.audio_frames, block=sizes.audio_block,
                                         limit_s=sizes.phase_limit_s)
        rows.extend(figures.rows())
        notes.append(f"keys: {figures.turns} turns and {figures.appends} appends per gateway in "
                     f"{len(keyed.turn_cpu_ms)} alternating rounds, on two fresh gateways pinned to one CPU; the "
                     "keyed one checks its key at session start and writes a spend row per response to its "
                     f"SQLite file every {SPEND_WRITE_S} s (proxy_batch_write_at), inside the turns' window")
        keyed_proc.stop()
        plain_proc.stop()

    async def soak_phase() -> None:
        figures = await soak.measure(spawn, tmp, PRESETS[args.model], sessions=sizes.soak_sessions,
                                     turns=sizes.soak_turns)
        rows.extend(figures.rows())
        notes.append(figures.note())

    if args.soak:
        await soak_phase()
        return rows, notes

    if args.scale:
        figures = await scale.measure(spawn, tmp, quick=args.quick)
        return figures.rows(), figures.notes()

    emulator_port = free_port()
    emulator = spawn("emulator", emulator_argv(emulator_port), emulator_port, want=None)
    config = write_config(tmp, emulator_port, args.model)
    plan = DirectPlan(str(config))
    if args.keys:
        await keys_phase(emulator_port, config)
        return rows, notes

    async def calls_phase() -> None:
        port = free_port()
        server = spawn("gateway-calls", gateway_argv(config, port), port, sig=signal.SIGINT)
        figures = await calls.measure(server, port, calls=sizes.calls, seconds=sizes.call_seconds)
        rows.extend(figures.rows())
        notes.append(figures.note())
        server.stop()

    if args.calls:
        await calls_phase()
        return rows, notes

    rows += startup.rows(*startup.measure(config, tmp, sizes.startup_rounds))

    gateway_port, relay_port = free_port(), free_port()
    profile_to = tmp / "gateway.prof" if args.profile else None
    gateway = spawn("gateway", gateway_argv(config, gateway_port, profile_to), gateway_port, sig=signal.SIGINT)
    key = plan.endpoint.headers.get("x-goog-api-key", "")
    relay = spawn("relay", app_argv("relay", relay_port, "--upstream-url", plan.endpoint.url, "--upstream-key", key),
                  relay_port)

    mine, base = await memory.measure(gateway, gateway_port, relay, relay_port, plan, sizes.sessions)
    rows += memory.rows(mine, base, sizes.sessions)
    notes.append(f"memory: gateway RSS {mine.base_kb / 1024:.1f} MB with no session (relay {base.base_kb / 1024:.1f}); "
                 "the bench clients offer permessage-deflate, as SDKs and browsers do; the gateway and the relay "
                 "decline it (limits.client_compression is off by default)")

    turns = await latency.measure(gateway_port, plan, gateway, emulator, turns=sizes.turns, warmup=sizes.warmup,
                                  limit_s=sizes.phase_limit_s)
    rows += turns.rows()
    notes.append(f"turns: {len(turns.gateway_ms)} per path in {turns.seconds:.1f} s, alternating ABBA, a fresh session "
                 f"pair every {latency.SESSION_TURNS} turns; the CPU baseline is the emulator's CPU per turn")

    appends = []
    for streams, interval in ((1, 0.0), (sizes.audio_streams, REAL_TIME_S)):
        appends.append(await audio.measure(gateway, gateway_port, relay, relay_port, plan, frames=sizes.audio_frames,
                                           block=sizes.audio_block, streams=streams, interval=interval,
                                           limit_s=sizes.phase_limit_s))
    rows += [figures.row() for figures in appends]

    shares = split.measure(plan, turns=max(50, sizes.turns // 2), appends=max(500, sizes.audio_frames))
    notes.append(shares.note(turns.gateway_cpu_ms, appends[0].gateway_us))
    await keys_phase(emulator_port, config)
    await calls_phase()
    if not args.quick:
        await soak_phase()

    if profile_to is not None:
        gateway.stop(timeout=10)
        notes.append(profiling.summary(profile_to))
    return rows, notes


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sizes = QUICK if args.quick else FULL
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the cleanup below still runs
    began = time.perf_counter()
    procs: list[Proc] = []
    with tempfile.TemporaryDirectory(prefix="livegate-bench-") as tmp, ExitStack() as stack:
        try:
            rows, notes = asyncio.run(_measure(args, sizes, Path(tmp), stack, procs))
        except BenchError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 1
        except Exception:
            for proc in procs:  # the server side of whatever went wrong
                print(f"--- {proc.name} (exit {proc.popen.poll()}):\n{proc.tail()}", file=sys.stderr)
            raise
    only = "soak" if args.soak else "keys" if args.keys else "calls" if args.calls else "scale" if args.scale else ""
    kind = f"quick {only}".strip() if args.quick else only or "full"
    print(f"livegate bench ({kind}): preset {args.model!r} = {PRESETS[args.model]['model']}, "
          f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {time.perf_counter() - began:.0f} s"
          + (", gateway under cProfile (its CPU figures are inflated)" if args.profile else ""))
    print(table(rows))
    for note in notes:
        print("- " + note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
