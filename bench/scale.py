"""`python -m bench --scale`: how many real-time audio sessions `livegate serve --workers N` sustains before the p99
event latency passes 100 ms, for 1 and 2 workers in the same run (issue #14).

Each session streams 20 ms pcm16 frames at real-time pace (50 appends a second); an echo upstream (below, its own
process) answers each frame with the same audio as a model turn, so every append comes back as a
`response.output_audio.delta`, and an event's latency is client → gateway → upstream → gateway → client. Sessions
are added in steps; each step is measured over a window after a settle time. A step whose p99 passes the limit,
or where a session fails, ends the ramp; the figure is the last step that held. CPU shares of the gateway (master
and workers), the upstream and the load client, and the machine's load average, say who ran out first.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import psutil
import yaml
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve

from bench.audio import APPEND
from bench.procs import ALIAS, MASTER_KEY, PY, UPSTREAM_KEY, Proc, free_port
from bench.report import Row, percentile

LIMIT_MS = 100.0  # p99 event latency that ends the ramp
FRAME_S = 0.020
TURN_FRAMES = 50  # the upstream completes a turn every second of echoed audio
_DELTA = b'"type":"response.output_audio.delta"'
_ERROR = b'"type":"error"'


@dataclass(frozen=True)
class Ramp:
    start: int  # sessions at the first step
    step: int  # sessions added per step
    most: int  # sessions at most
    settle_s: float  # after adding sessions, before measuring
    window_s: float  # measured per step


FULL_RAMP = Ramp(start=20, step=20, most=600, settle_s=1.5, window_s=3.0)
QUICK_RAMP = Ramp(start=10, step=30, most=120, settle_s=1.0, window_s=2.0)


# ---- the echo upstream (its own process: `python -m bench.scale --port P`) ---------------------------------


async def _echo(ws: ServerConnection) -> None:
    await ws.recv()  # the setup
    await ws.send(b'{"setupComplete":{}}', text=True)
    echoed = 0
    async for raw in ws:
        message = orjson.loads(raw)
        audio = (message.get("realtimeInput") or {}).get("audio")
        if not audio:
            continue
        part = {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": audio["data"]}}
        await ws.send(orjson.dumps({"serverContent": {"modelTurn": {"parts": [part]}}}), text=True)
        echoed += 1
        if echoed % TURN_FRAMES == 0:
            await ws.send(b'{"serverContent":{"turnComplete":true}}', text=True)


async def _upstream(port: int) -> None:
    async with serve(_echo, "127.0.0.1", port, max_size=None, compression=None) as server:
        await server.serve_forever()


# ---- the load ---------------------------------------------------------------------------------------------------


@dataclass
class _Load:
    """Every open session's tasks, and the latencies heard since the last window began."""

    url: str
    latencies: list[float] = field(default_factory=list)  # ms
    failures: int = 0
    late_sends: int = 0  # frames the client itself sent over 20 ms late (the load client saturated)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def add(self, count: int) -> None:
        opened = await asyncio.gather(*(self._open() for _ in range(count)), return_exceptions=True)
        for ws in opened:
            if isinstance(ws, BaseException):
                self.failures += 1
                continue
            sent: collections.deque[float] = collections.deque()
            self.tasks.append(asyncio.create_task(self._send(ws, sent)))
            self.tasks.append(asyncio.create_task(self._receive(ws, sent)))

    async def _open(self) -> ClientConnection:
        ws = await connect(self.url, additional_headers={"Authorization": f"Bearer {MASTER_KEY}"}, max_size=None,
                           compression=None)
        first = await asyncio.wait_for(ws.recv(decode=False), 10)
        if b'"session.created"' not in first:
            await ws.close()
            raise RuntimeError(first[:200])
        return ws

    async def _send(self, ws: ClientConnection, sent: collections.deque[float]) -> None:
        due = time.perf_counter() + FRAME_S * (len(self.tasks) % 50) / 50  # staggered over one frame
        with contextlib.suppress(Exception):
            while True:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                now = time.perf_counter()
                if now - due > FRAME_S:
                    self.late_sends += 1
                sent.append(now)
                await ws.send(APPEND)
                due += FRAME_S

    async def _receive(self, ws: ClientConnection, sent: collections.deque[float]) -> None:
        try:
            while True:
                raw = await ws.recv(decode=False)
                if _DELTA in raw and sent:
                    self.latencies.append((time.perf_counter() - sent.popleft()) * 1000)
                elif _ERROR in raw:
                    self.failures += 1
        except Exception:
            self.failures += 1

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


@dataclass
class Step:
    sessions: int
    p99_ms: float
    p50_ms: float
    events: int
    failures: int
    late_sends: int
    cpu: dict[str, float]  # share of one core over the window, by side
    load: float  # the machine's 1-minute load average at the window's end

    def held(self) -> bool:
        return self.p99_ms <= LIMIT_MS and not self.failures and self.events > 0


@dataclass
class Result:
    workers: int
    steps: list[Step]

    @property
    def sustained(self) -> int:
        held = [step.sessions for step in self.steps if step.held()]
        first_fail = next((s.sessions for s in self.steps if not s.held()), None)
        return max((n for n in held if first_fail is None or n < first_fail), default=0)

    def at_limit(self) -> Step | None:
        return next((s for s in self.steps if s.sessions == self.sustained), None)


def _cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def _gateway_tree(root: psutil.Process) -> list[psutil.Process]:
    with contextlib.suppress(psutil.Error):
        return [root, *root.children(recursive=True)]
    return [root]


async def _ramp(port: int, gateway: Proc, upstream: Proc, ramp: Ramp, limit_s: float) -> list[Step]:
    load = _Load(f"ws://127.0.0.1:{port}/v1/realtime?model={ALIAS}")
    sides = {"gateway": psutil.Process(gateway.pid), "upstream": psutil.Process(upstream.pid),
             "client": psutil.Process(os.getpid())}
    steps: list[Step] = []
    began = time.monotonic()
    try:
        sessions = 0
        while sessions < ramp.most and time.monotonic() - began < limit_s:
            adding = ramp.start if not sessions else ramp.step
            await load.add(adding)
            sessions += adding
            await asyncio.sleep(ramp.settle_s)
            step = await _window(load, sides, sessions, ramp.window_s, gateway.name)
            if not step.held():  # the machine is shared: a step fails only if a second window fails too
                step = await _window(load, sides, sessions, ramp.window_s, gateway.name)
            steps.append(step)
            if not step.held():
                break
    finally:
        await load.close()
    return steps


async def _window(load: _Load, sides: dict[str, psutil.Process], sessions: int, window_s: float, name: str) -> Step:
    """One measured window at the current load."""
    trees = {side: _gateway_tree(p) if side == "gateway" else [p] for side, p in sides.items()}
    before = {side: _cpu_seconds(tree) for side, tree in trees.items()}
    load.latencies, load.failures, load.late_sends = [], 0, 0
    await asyncio.sleep(window_s)
    latencies, failures, late = load.latencies, load.failures, load.late_sends
    cpu = {side: (_cpu_seconds(tree) - before[side]) / window_s for side, tree in trees.items()}
    p99 = percentile(latencies, 99) if latencies else float("inf")
    p50 = percentile(latencies, 50) if latencies else float("inf")
    step = Step(sessions, p99, p50, len(latencies), failures, late, cpu, os.getloadavg()[0])
    shares = ", ".join(f"{side} {share * 100:.0f} %" for side, share in cpu.items())
    print(f"  {name}: {sessions} sessions: p50 {p50:.1f} ms, p99 {p99:.1f} ms, {len(latencies)} events, "
          f"{failures} failures, {late} late sends; CPU {shares}; load {step.load:.2f}", flush=True)
    return step


def _config(directory: Path, upstream_port: int) -> Path:
    params = {"model": "gemini/gemini-2.5-flash-native-audio-preview-12-2025", "api_key": UPSTREAM_KEY,
              "api_base": f"http://127.0.0.1:{upstream_port}"}
    general = {"master_key": MASTER_KEY, "database_url": None, "limits": {"shutdown_grace_seconds": 1}}
    path = directory / "scale.yaml"
    path.write_text(yaml.safe_dump({"model_list": [{"model_name": ALIAS, "litellm_params": params}],
                                    "general_settings": general}))
    return path


@dataclass
class ScaleFigures:
    results: list[Result]
    idle_load: float  # the 1-minute load average before the bench started

    def rows(self) -> list[Row]:
        one, two = self.results
        return [
            Row("sustained audio sessions (p99 event latency <= 100 ms), --workers 2 vs --workers 1",
                two.sustained, one.sustained or None, "sessions", "close to 2x where the load client leaves room",
                None),
        ]

    def notes(self) -> list[str]:
        lines = []
        for result in self.results:
            step = result.at_limit()
            if step is None:
                lines.append(f"scale: --workers {result.workers}: no step held")
                continue
            cpu = ", ".join(f"{name} {share * 100:.0f} %" for name, share in step.cpu.items())
            lines.append(f"scale: --workers {result.workers}: {result.sustained} sessions ({step.events} events in "
                         f"the window, p50 {step.p50_ms:.1f} ms, p99 {step.p99_ms:.1f} ms); CPU of one core: {cpu}; "
                         f"load average {step.load:.2f} on {os.cpu_count()} CPUs")
        one, two = (r.sustained for r in self.results)
        ratio = f"{two / one:.2f}x" if one else "n/a"
        lines.append(f"scale: ratio 2 workers / 1 worker = {ratio}; the load client and the echo upstream share the "
                     f"same {os.cpu_count()} cores, so the ratio is bounded by what they leave; load average before "
                     f"the run {self.idle_load:.2f} (other work on the machine)")
        return lines


async def measure(spawn: Callable[..., Proc], tmp: Path, *, quick: bool, limit_s: float = 120.0) -> ScaleFigures:
    idle_load = os.getloadavg()[0]  # what the rest of the machine was doing before the bench started
    upstream_port = free_port()
    upstream = spawn("scale-upstream", [PY, "-m", "bench.scale", "--port", str(upstream_port)], upstream_port,
                     want=None)
    config = _config(tmp, upstream_port)
    results = []
    for workers in (1, 2):
        port = free_port()
        script = Path(PY).with_name("livegate")
        argv = [str(script), "serve", "--config", str(config), "--port", str(port), "--log-level", "warning",
                "--workers", str(workers)]
        gateway = spawn(f"scale-gateway-{workers}", argv, port)
        await asyncio.sleep(3.0 if workers > 1 else 0.5)  # every worker started (readiness answered from one)
        steps = await _ramp(port, gateway, upstream, QUICK_RAMP if quick else FULL_RAMP, limit_s)
        results.append(Result(workers, steps))
        gateway.popen.send_signal(signal.SIGTERM)
        gateway.stop(timeout=15)
    return ScaleFigures(results, idle_load)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description="the echo upstream of bench --scale")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_upstream(args.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
