"""Soak (issue #6): many concurrent sessions, each holding text turns across several Gemini `goAway`s.

An emulator scripted with `go_away_after_turns=1` sends every connection a goAway after its first turn,
so a session's later turns run on upstreams resumed by handle, behind the client's back (or on the warned one,
when the next turn comes before the goAway is read).
The same sessions then run against a plain emulator behind the same gateway (the no-goAway baseline), and
the soak again, so the two are measured in one invocation on the same process. Figures: sessions and turns
completed, goAways crossed (counted by the emulator: each turn after a session's first went on a connection
resumed by handle or on the one that had just sent goAway, none on a fresh one), errors seen by the
clients (must be 0: any `error` event, failed response, close or timeout), p50/p99 turn latency vs the
baseline, and the gateway's RSS before and after the soak rounds (leak check).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import yaml
from websockets.asyncio.client import ClientConnection, connect

from bench.procs import MASTER_KEY, PY, UPSTREAM_KEY, Proc, free_port, gateway_argv
from bench.report import Row, percentile

SOAK_ALIAS, PLAIN_ALIAS = "soak-go-away", "soak-plain"
TURN_TIMEOUT_S = 10.0
SETTLE_S = 0.5  # after a round: the gateway finishes closing its sockets before RSS is read
RSS_GROWTH_TARGET_MB = 8.0  # across the measured soak rounds, after a warm-up round
_SESSION = orjson.dumps({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}})
_CREATE = orjson.dumps({"type": "response.create"}).decode()
_DONE, _ERROR, _CREATED = b'"type":"response.done"', b'"type":"error"', b'"type":"session.updated"'

# The emulator with a Script the CLI has no flags for; on SIGTERM it prints what its connections saw.
_EMULATOR = """import asyncio, json, signal, sys
from gateway.emulator.script import Script
from gateway.emulator.server import EmulatorServer

async def main(port, after):
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    script = Script(go_away_after_turns=after) if after else Script()
    async with EmulatorServer("127.0.0.1", port, script=script, record_messages=False) as server:
        await stop.wait()
        live = [r for r in server.connections if r.session is not None]
        summary = {"connections": len(live), "go_aways": sum(r.go_aways for r in live),
                   "resumed": sum(1 for r in live if r.resumed_handle),
                   "resumed_turns": sum(1 for r in live if r.resumed_handle and r.session.turns_completed),
                   "warned_turns": sum(max(0, r.session.turns_completed - 1) for r in live),
                   "turns": sum(r.session.turns_completed for r in live)}
        print("SOAK " + json.dumps(summary), flush=True)

asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
"""


@dataclass
class Round:
    """One round: every session's turn latencies, and what went wrong."""

    latencies_ms: list[float] = field(default_factory=list)
    sessions_done: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class SoakFigures:
    sessions: int  # concurrent sessions per round
    turns: int  # turns per session
    rounds: int  # measured soak rounds
    soak: Round
    plain: Round
    go_aways: int  # goAways the soak emulator sent (warm-up included)
    resumed: int  # its connections that were resumed by handle (warm-up included)
    resumed_turns: int  # of them, those that answered a turn (a reconnect after a session's last turn answers none)
    warned_turns: int  # turns answered on a connection after its goAway (the next turn came before it was read)
    rss_before_kb: int  # gateway RSS after the warm-up round
    rss_mid_kb: int  # after the first soak round and the no-goAway round
    rss_after_kb: int  # after the last soak round
    seconds: float

    @property
    def crossings(self) -> int:
        """goAways that fell between two turns of a session: every turn but a session's first (all rounds). Each
        one is crossed by the next turn going on a connection resumed by handle, or on the warned connection
        itself (goAway leaves time); a turn on a fresh connection, its context lost, would be neither."""
        return (self.rounds + 1) * self.sessions * (self.turns - 1)

    def rows(self) -> list[Row]:
        n = self.sessions * self.rounds
        errors = len(self.soak.errors) + len(self.plain.errors)
        growth_mb = (self.rss_after_kb - self.rss_before_kb) / 1024
        rows = [
            Row(f"soak sessions completed, n={n}", self.soak.sessions_done, n, "", f"= {n}",
                self.soak.sessions_done == n),
            Row("soak turns completed", len(self.soak.latencies_ms), n * self.turns, "", f"= {n * self.turns}",
                len(self.soak.latencies_ms) == n * self.turns),
            Row("soak goAways crossed (turn on a connection resumed by handle, or on the warned one)",
                self.resumed_turns + self.warned_turns, self.crossings, "", f"= {self.crossings}",
                self.resumed_turns + self.warned_turns == self.crossings),
            Row("soak errors seen by clients", errors, None, "", "= 0", errors == 0),
        ]
        if self.soak.latencies_ms and self.plain.latencies_ms:
            for q in (50, 99):
                ours, theirs = percentile(self.soak.latencies_ms, q), percentile(self.plain.latencies_ms, q)
                rows.append(Row(f"soak turn p{q} latency (vs no goAway)", ours, theirs, "ms", "(report)"))
        rows.append(Row("soak gateway RSS after vs before", self.rss_after_kb / 1024, self.rss_before_kb / 1024,
                        "MB", f"<= +{RSS_GROWTH_TARGET_MB:.0f} MB", growth_mb <= RSS_GROWTH_TARGET_MB,
                        f"{growth_mb:+.1f}"))
        return rows

    def note(self) -> str:
        kinds = sorted(set(self.soak.errors + self.plain.errors))[:3]
        return (f"soak: {self.sessions} concurrent sessions x {self.turns} text turns per round, a goAway after every "
                f"upstream connection's first turn ({self.rounds} measured soak rounds after a warm-up, one "
                f"no-goAway round between them, same gateway), {self.seconds:.1f} s; the emulator sent "
                f"{self.go_aways} goAways (one more per session after its last turn) and saw {self.resumed} "
                f"resumed connections ({self.resumed_turns} answered a turn; the others: a session's reconnect after "
                f"its last turn); {self.warned_turns} turns went on the connection that had just sent goAway; "
                f"gateway RSS {self.rss_before_kb / 1024:.1f} -> {self.rss_mid_kb / 1024:.1f} "
                f"-> {self.rss_after_kb / 1024:.1f} MB across the rounds"
                + (f"; errors: {kinds}" if kinds else ""))


async def _until(ws: ClientConnection, marker: bytes) -> bytes:
    async with asyncio.timeout(TURN_TIMEOUT_S):
        while True:
            raw = await ws.recv(decode=False)
            if marker in raw or _ERROR in raw:
                return raw


async def _session(url: str, turns: int, index: int, out: Round) -> None:
    """One session: text turns back to back, each timed from the item to its `response.done`."""
    try:
        async with connect(url, additional_headers={"Authorization": f"Bearer {MASTER_KEY}"}, max_size=None) as ws:
            await ws.send(_SESSION.decode())
            if _ERROR in await _until(ws, _CREATED):
                raise RuntimeError("error event before the first turn")
            for turn in range(turns):
                item = {"type": "message", "role": "user",
                        "content": [{"type": "input_text", "text": f"session {index} turn {turn}"}]}
                start = time.perf_counter()
                await ws.send(orjson.dumps({"type": "conversation.item.create", "item": item}).decode())
                await ws.send(_CREATE)
                raw = await _until(ws, _DONE)
                elapsed = time.perf_counter() - start
                event = json.loads(raw)
                if event["type"] == "error":
                    raise RuntimeError(f"error {event['error'].get('code')}")
                status = event["response"]["status"]
                if status != "completed":
                    raise RuntimeError(f"response {status}")
                out.latencies_ms.append(elapsed * 1e3)
        out.sessions_done += 1
    except Exception as exc:  # counted, never raised: the figure says how many went wrong and how
        out.errors.append(f"{type(exc).__name__}: {exc}"[:120])


async def _round(port: int, alias: str, sessions: int, turns: int, out: Round) -> None:
    url = f"ws://127.0.0.1:{port}/v1/realtime?model={alias}"
    await asyncio.gather(*(_session(url, turns, index, out) for index in range(sessions)))


def _config(directory: Path, preset: dict[str, str], soak_port: int, plain_port: int) -> Path:
    def alias(name: str, port: int) -> dict[str, object]:
        params = {**preset, "api_base": f"http://127.0.0.1:{port}", "api_key": UPSTREAM_KEY}
        return {"model_name": name, "litellm_params": params}

    document = {
        "model_list": [alias(SOAK_ALIAS, soak_port), alias(PLAIN_ALIAS, plain_port)],
        "general_settings": {"master_key": MASTER_KEY},
    }
    path = directory / "soak-config.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def _summary(proc: Proc) -> dict[str, int]:
    for line in reversed(proc.log_path.read_text(errors="replace").splitlines()):
        if line.startswith("SOAK "):
            return dict(json.loads(line[5:]))
    return {}


Spawn = Callable[..., Proc]  # (name, argv, port, want=...) → a ready process, stopped by the caller's stack


async def measure(spawn: Spawn, tmp: Path, preset: dict[str, str], *, sessions: int, turns: int,
                  rounds: int = 2) -> SoakFigures:
    """A warm-up soak round, then `rounds` soak rounds with one no-goAway round between the first two;
    `preset` is the alias's litellm_params (bench/procs.py PRESETS). Its processes are stopped at the end."""
    began = time.perf_counter()
    soak_port, plain_port, gateway_port = free_port(), free_port(), free_port()
    emulator = spawn("soak-emulator", [PY, "-c", _EMULATOR, str(soak_port), "1"], soak_port, want=None)
    plain = spawn("soak-emulator-plain", [PY, "-c", _EMULATOR, str(plain_port), "0"], plain_port, want=None)
    config = _config(tmp, preset, soak_port, plain_port)
    gateway = spawn("soak-gateway", gateway_argv(config, gateway_port), gateway_port)

    warm = Round()
    await _round(gateway_port, SOAK_ALIAS, sessions, turns, warm)
    await asyncio.sleep(SETTLE_S)
    before = mid = gateway.rss_kb()
    soaked, baseline = Round(), Round()
    soaked.errors += warm.errors
    for index in range(rounds):
        await _round(gateway_port, SOAK_ALIAS, sessions, turns, soaked)
        if index == 0:
            await _round(gateway_port, PLAIN_ALIAS, sessions, turns, baseline)
            await asyncio.sleep(SETTLE_S)
            mid = gateway.rss_kb()
    await asyncio.sleep(SETTLE_S)
    after = gateway.rss_kb()
    for proc in (gateway, plain, emulator):  # the soak emulator prints its connection summary on the way out
        proc.stop()
    counts = _summary(emulator)
    return SoakFigures(sessions, turns, rounds, soaked, baseline, counts.get("go_aways", 0), counts.get("resumed", 0),
                       counts.get("resumed_turns", 0), counts.get("warned_turns", 0),
                       before, mid, after, time.perf_counter() - began)
