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

from bench import accounts, audio, calls, instructions, latency, memory, profiling, scale, soak, split, startup
from bench.procs import (
    ECHO_ALIAS,
    LITELLM_ENV,
    LITELLM_READY_S,
    MASTER_KEY,
    PRESETS,
    SPEND_WRITE_S,
    BenchError,
    Proc,
    app_argv,
    echo_argv,
    emulator_argv,
    free_port,
    gateway_argv,
    litellm_argv,
    litellm_version,
    migrate_argv,
    picows_relay_argv,
    picows_relay_available,
    wait_ready,
    write_config,
)
from bench.report import Row, table
from bench.wire import DirectPlan, DirectSession, GatewaySession, gateway_url


@dataclass(frozen=True)
class Sizes:
    startup_rounds: int  # spawns per side
    sessions: int  # open sessions for the memory figure
    turns: int  # measured text turns per path
    warmup: int  # unmeasured turns per path, per session pair
    audio_frames: int  # echoed frames per path, per load (bench/audio.py); appends per gateway (bench/accounts.py)
    audio_block: int  # appends per block in bench/accounts.py
    audio_streams: int  # concurrent real-time sessions per path
    phase_limit_s: float  # wall-time cap of each turn or audio phase
    soak_sessions: int  # concurrent sessions of the goAway soak (bench/soak.py)
    soak_turns: int  # turns per soak session, each on a fresh upstream after a goAway
    integrity_sessions: int  # sessions per path of the both-ways count
    integrity_frames: int  # paced frames per session there
    calls: int  # concurrent WebRTC calls (and WebSocket sessions) of the call-audio figure
    call_seconds: float  # measured seconds per path of the call-audio figure


FULL = Sizes(startup_rounds=5, sessions=200, turns=1000, warmup=20, audio_frames=5000, audio_block=1000,
             audio_streams=50, phase_limit_s=30, soak_sessions=40, soak_turns=8, integrity_sessions=200,
             integrity_frames=50, calls=10, call_seconds=20)
QUICK = Sizes(startup_rounds=1, sessions=40, turns=60, warmup=10, audio_frames=1000, audio_block=500,
              audio_streams=25, phase_limit_s=5, soak_sessions=20, soak_turns=4, integrity_sessions=50,
              integrity_frames=20, calls=4, call_seconds=6)
REAL_TIME_S = 0.020  # one 20 ms frame per session every 20 ms
BACK_TO_BACK_SCALE = 4  # the back-to-back audio figure sends this many times audio_frames


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
    parser.add_argument("--callgrind", action="store_true",
                        help="only instructions per audio event and text turn under valgrind's callgrind, gateway vs "
                             "relay (not in the full run: noise-free, but slow)")
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
        # Fresh gateways, so none carries the other phases' history: the master key alone, and a database with a
        # virtual key; accounts.PAIRS pairs, started keyed-first and plain-first in turn (bench/accounts.py).
        pairs: list[tuple[accounts.Side, accounts.Side]] = []
        turns = appends = 0
        for index in range(accounts.PAIRS):
            keyed_dir = tmp / f"keyed-{index}"
            keyed_dir.mkdir()
            keyed_config = write_config(keyed_dir, emulator_port, args.model, database=True)
            keyed_port, plain_port = free_port(), free_port()
            migrate_argv(keyed_config)  # a restarted gateway: its SQLite file is at head when it starts
            starts = [("gateway-keyed", keyed_config, keyed_port), ("gateway-plain", config, plain_port)]
            procs_now = {name: spawn(name, gateway_argv(path, port), port, sig=signal.SIGINT)
                         for name, path, port in (starts if index % 2 == 0 else starts[::-1])}
            keyed_proc, plain_proc = procs_now["gateway-keyed"], procs_now["gateway-plain"]
            keyed = accounts.Side(keyed_proc, keyed_port, await accounts.make_key(keyed_port))
            plain = accounts.Side(plain_proc, plain_port, MASTER_KEY)
            if index == 0:  # and a third gateway on the same SQLite file, as after a restart: sessions, no admin
                fresh_port = free_port()
                fresh_proc = spawn("gateway-sqlite-restarted", gateway_argv(keyed_config, fresh_port), fresh_port,
                                   sig=signal.SIGINT)
                fresh = accounts.Side(fresh_proc, fresh_port, keyed.key)
                rows.extend(await accounts.idle_rss_rows(keyed, plain, fresh))
                fresh_proc.stop()
            turns, appends = await accounts.measure(keyed, plain, turns=sizes.turns // accounts.PAIRS,
                                                    warmup=sizes.warmup, appends=sizes.audio_frames * 2,
                                                    block=sizes.audio_block, limit_s=sizes.phase_limit_s)
            pairs.append((keyed, plain))
            rss = (f"keyed {keyed_proc.rss_kb() / 1024:.1f} MB (SQLAlchemy loaded), "
                   f"plain {plain_proc.rss_kb() / 1024:.1f} MB")
            keyed_proc.stop()
            plain_proc.stop()
        figures = accounts.AccountFigures(pairs, turns, appends)
        rows.extend(figures.rows())
        notes.append(f"keys: {accounts.PAIRS} pairs of fresh gateways, each pair pinned to one CPU, {turns} turns and "
                     f"{appends} appends per gateway per pair in {accounts.ROUNDS} alternating rounds; the keyed one "
                     "checks its key at session start and writes a spend row per response to its SQLite file every "
                     f"{SPEND_WRITE_S} s (proxy_batch_write_at), inside the turns' window; CPU per turn, each pair "
                     f"alone: {figures.pair_changes()}; RSS after the last pair's run: {rss}")

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

    emulator_port, echo_port = free_port(), free_port()
    emulator = spawn("emulator", emulator_argv(emulator_port), emulator_port, want=None)
    config = write_config(tmp, emulator_port, args.model, echo_port)
    plan = DirectPlan(str(config))
    if args.keys:
        await keys_phase(emulator_port, config)
        return rows, notes
    spawn("echo", echo_argv(echo_port), echo_port)
    echo_plan = DirectPlan(str(config), ECHO_ALIAS)
    if args.callgrind:
        if not instructions.available():
            raise BenchError("--callgrind needs valgrind (apt-get install valgrind)")
        keyed_dir = tmp / "keyed-callgrind"
        keyed_dir.mkdir()
        keyed_config = write_config(keyed_dir, emulator_port, args.model, echo_port, database=True,
                                    batch_s=instructions.KEYED_BATCH_S)
        migrate_argv(keyed_config)
        counted = await instructions.measure(config, keyed_config, plan, echo_plan, tmp, procs)
        return counted.rows(), ["callgrind: user-space instructions only (the socket syscalls, the same for both "
                                "paths, are not counted); one session, back-to-back frames; start-up left out"]

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
    peer_port = free_port()  # LiteLLM's proxy imports while the memory figure runs (that figure is no timing)
    peer_argv = litellm_argv(config, peer_port)
    peer_proc = None
    if peer_argv is not None:
        peer_proc = Proc("litellm", peer_argv, tmp, stop_signal=signal.SIGINT, env=LITELLM_ENV)
        stack.callback(peer_proc.stop)
        procs.append(peer_proc)

    gateway_port, relay_port = free_port(), free_port()
    profile_to = tmp / "gateway.prof" if args.profile else None
    gateway = spawn("gateway", gateway_argv(config, gateway_port, profile_to), gateway_port, sig=signal.SIGINT)
    key = plan.endpoint.headers.get("x-goog-api-key", "")
    relay = spawn("relay", app_argv("relay", relay_port, "--upstream-url", plan.endpoint.url, "--upstream-key", key),
                  relay_port)
    notes.append(stack_note(gateway))

    mine, base = await memory.measure(gateway, gateway_port, relay, relay_port, plan, sizes.sessions)
    rows += memory.rows(mine, base, sizes.sessions)
    notes.append(f"memory: gateway RSS {mine.base_kb / 1024:.1f} MB with no session (relay {base.base_kb / 1024:.1f}); "
                 "the bench clients offer permessage-deflate, as SDKs and browsers do; the gateway and the relay "
                 "decline it (limits.client_compression is off by default)")

    litellm = None
    if peer_proc is not None:
        wait_ready(peer_proc, peer_port, "/health/liveliness", limit=LITELLM_READY_S)
        litellm = latency.Server(peer_proc, peer_port, litellm_version())
    picows = None
    if picows_relay_available():
        picows_port = free_port()
        picows_proc = spawn("picows-relay", picows_relay_argv(picows_port, plan.endpoint.url, key), picows_port,
                            want=None)
        picows = latency.Server(picows_proc, picows_port)
    turns = await latency.measure(latency.Server(gateway, gateway_port), latency.Server(relay, relay_port), plan,
                                  emulator, turns=sizes.turns, warmup=sizes.warmup, limit_s=sizes.phase_limit_s,
                                  picows=picows, litellm=litellm)
    for server in (litellm, picows):
        if server is not None:
            server.proc.stop()
    rows += turns.rows()
    notes.append(turns.note())

    echo_relay_port = free_port()
    echo_relay = spawn("echo-relay", app_argv("relay", echo_relay_port, "--upstream-url", echo_plan.endpoint.url,
                                              "--upstream-key", key), echo_relay_port)
    paths = echo_paths(gateway, gateway_port, echo_relay, echo_relay_port, echo_plan)
    loads = []
    for streams, interval in ((1, 0.0), (sizes.audio_streams, REAL_TIME_S)):
        # Back to back, a block of audio_frames / REPETITIONS frames is ~15 ms of CPU: too short for this VM (its
        # blocks ranged 9-17 us per event); four times as many frames cost about a second more.
        frames = sizes.audio_frames * (1 if interval else BACK_TO_BACK_SCALE)
        loads.append(await audio.measure(paths, frames=frames, streams=streams, interval=interval))
    rows += [figures.row() for figures in loads]
    notes.append("audio write syscalls per frame (both sockets; what one write carries): " + "; ".join(
        f"{'back to back' if not figures.interval_ms else 'real time'}: "
        + ", ".join(f"{name} {count:.2f}" for name, count in figures.writes.items()) for figures in loads))
    count = await audio.integrity(paths, echo_port, sessions=sizes.integrity_sessions,
                                  frames=sizes.integrity_frames, interval=REAL_TIME_S)
    rows.append(count.row("livegate", "relay"))
    notes.append(count.note())
    notes.append(f"audio: {audio.REPETITIONS} interleaved blocks per path (ABBA), each path's figure the median of "
                 "its blocks' CPU per event (each read around its own block), 20 ms pcm16 frames echoed by "
                 "bench/echo_upstream.py, CPU per event counts each frame twice (append in, delta out); the baseline "
                 "is bench/apps.py's relay: the same uvicorn settings and the gateway's own upstream dial(), with "
                 "Starlette's receive()/send_text() per frame as the issue's bare Starlette relay has; the gateway "
                 "skips that layer (gateway/transports/channel.py), part of what it saves against this baseline")

    shares = split.measure(plan, turns=max(50, sizes.turns // 2), appends=max(500, sizes.audio_frames))
    notes.append(shares.note(turns.gateway_cpu_ms, loads[0].gateway_us))
    await keys_phase(emulator_port, config)
    await calls_phase()
    if not args.quick:
        await soak_phase()

    if profile_to is not None:
        gateway.stop(timeout=10)
        notes.append(profiling.summary(profile_to))
    return rows, notes


def echo_paths(gateway: Proc, gateway_port: int, relay: Proc, relay_port: int, plan: DirectPlan) -> list[audio.Path]:
    """The two ways to the echo upstream: the gateway (GA appends, audio output) and the bare relay."""

    async def theirs() -> audio.EchoStream:
        session = await DirectSession.open(plan, f"ws://127.0.0.1:{relay_port}/")
        return audio.EchoStream(session.ws, audio.RELAY)

    return [gateway_echo_path(gateway, gateway_port), audio.Path("relay", relay, theirs)]


def gateway_echo_path(gateway: Proc, port: int, key: str = MASTER_KEY) -> audio.Path:
    """The gateway's way to the echo upstream, on `key`."""

    async def ours() -> audio.EchoStream:
        session = await GatewaySession.open(gateway_url(port, ECHO_ALIAS), key, session=audio.AUDIO_SESSION)
        return audio.EchoStream(session.ws, audio.GATEWAY)

    return audio.Path("livegate", gateway, ours)


def stack_note(gateway: Proc) -> str:
    """What the gateway process has loaded: the event loop and HTTP parser it runs on (from /proc/PID/maps)."""
    maps = Path(f"/proc/{gateway.pid}/maps").read_text()
    found = {name: name in maps for name in ("uvloop/loop", "httptools/parser")}
    return "gateway stack: " + ", ".join(f"{name} {'loaded' if ok else 'NOT loaded'}" for name, ok in found.items())


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
    only = next((name for name in ("soak", "keys", "calls", "scale", "callgrind") if getattr(args, name)), "")
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
