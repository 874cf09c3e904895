"""`--callgrind`: user-space instructions per audio event and per text turn, counted by valgrind's callgrind.

CPU time on a shared 2-core machine moves with everyone else's load; instruction counts do not. The gateway
and the bare relay run under callgrind (slow, so one session and a few hundred frames); each one's counters
are zeroed after a warm-up and dumped after the measured load (`callgrind_control -z` / `-d`), so start-up is
left out. Kernel work (the socket syscalls, the same for both) is not counted: the ratio here is the user-space
one, larger than the CPU-time ratio. Needs `valgrind` (Debian's package); without it the figure is skipped.

A third gateway serves a virtual key from the default SQLite file (made by a gateway started before it, as
after a restart): the keys figure's work per append and per turn, which the CPU-time comparison (`--keys`)
cannot resolve below its ±5 % spread. Its batch write is left out of the window (`KEYED_BATCH_S`).
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path

from bench import audio
from bench.accounts import make_key
from bench.procs import ALIAS, ECHO_ALIAS, Proc, app_argv, free_port, gateway_argv, wait_ready
from bench.report import Row
from bench.wire import DirectPlan, DirectSession, GatewaySession, gateway_url

KEYED_BATCH_S = 600.0  # the keyed gateway's proxy_batch_write_at: no spend write inside the counted window
FRAMES = 300  # echoed frames per path
TURNS = 60  # text turns through the gateway
WARMUP = 50  # frames (and 10 turns) before the counters are zeroed
STARTUP_LIMIT_S = 300.0  # the interpreter and its imports under callgrind


@dataclass
class Instructions:
    gateway_event: float  # per audio event (one frame each way counts two)
    relay_event: float
    gateway_turn: float  # per text turn
    relay_turn: float  # per text turn of a direct client through the bare relay
    keyed_event: float  # per audio event, the gateway on a virtual key (spend rows on)
    keyed_turn: float  # per text turn, the same (the row's batch write not counted)

    def rows(self) -> list[Row]:
        return [
            Row(f"instructions / audio event (callgrind), n={FRAMES}x2", self.gateway_event, self.relay_event,
                "", "(report: user space)"),
            Row(f"instructions / text turn (callgrind), n={TURNS}", self.gateway_turn, self.relay_turn, "",
                "(report: user space)"),
            Row("instructions / audio event, virtual key + spend rows vs master key", self.keyed_event,
                self.gateway_event, "", "(report: --keys' figure, noise-free)"),
            Row("instructions / text turn, the same (the batch write not counted)", self.keyed_turn,
                self.gateway_turn, "", "(report: --keys' figure, noise-free)"),
        ]


def available() -> bool:
    return shutil.which("valgrind") is not None and shutil.which("callgrind_control") is not None


def _summary(path: Path) -> int:
    for line in path.read_text().splitlines():
        if line.startswith("summary:"):
            return int(line.split()[1])
    return 0


def _dumps(directory: Path, name: str) -> list[Path]:
    """Dumps made by `callgrind_control -d`, in order (`name.PID.1`, `name.PID.2`, …)."""
    found = [p for p in directory.glob(f"{name}.*") if re.search(r"\.\d+\.\d+$", p.name)]
    return sorted(found, key=lambda p: int(p.name.rsplit(".", 1)[1]))


def _control(flag: str, proc: Proc) -> None:
    subprocess.run(["callgrind_control", flag, str(proc.pid)], capture_output=True, timeout=60, check=False)


async def measure(config: Path, keyed_config: Path, plan: DirectPlan, echo_plan: DirectPlan, tmp: Path,
                  procs: list[Proc]) -> Instructions:
    """The gateway and the bare relay under callgrind, each counted after a warm-up: audio against the running
    echo upstream, then text turns against the running emulator (a second relay, dialling it); then the same
    gateway on a virtual key (`keyed_config`: a database, the echo alias too)."""
    from bench.__main__ import echo_paths, gateway_echo_path  # the same paths as the CPU figures

    out = tmp / "callgrind"
    out.mkdir()
    valgrind = ["valgrind", "--tool=callgrind"]
    key = await _virtual_key(keyed_config, tmp, procs)
    gateway_port, relay_port, text_relay_port = free_port(), free_port(), free_port()
    gateway = Proc("gateway-callgrind", [*valgrind, f"--callgrind-out-file={out}/gateway.%p",
                                         *gateway_argv(config, gateway_port)], tmp, stop_signal=signal.SIGINT)
    relay = Proc("relay-callgrind", [*valgrind, f"--callgrind-out-file={out}/relay.%p",
                                     *app_argv("relay", relay_port, "--upstream-url", echo_plan.endpoint.url)], tmp)
    text_relay_argv = app_argv("relay", text_relay_port, "--upstream-url", plan.endpoint.url)
    text_relay = Proc("text-relay-callgrind", [*valgrind, f"--callgrind-out-file={out}/text-relay.%p",
                                               *text_relay_argv], tmp)
    procs += [gateway, relay, text_relay]
    try:
        wait_ready(gateway, gateway_port, limit=STARTUP_LIMIT_S)
        wait_ready(relay, relay_port, limit=STARTUP_LIMIT_S)
        wait_ready(text_relay, text_relay_port, limit=STARTUP_LIMIT_S)
        for path in echo_paths(gateway, gateway_port, relay, relay_port, echo_plan):
            await _count_audio(path)
        await _count_turns(gateway, GatewaySession.open(gateway_url(gateway_port, ALIAS)))
        await _count_turns(text_relay, DirectSession.open(plan, f"ws://127.0.0.1:{text_relay_port}/"))
    finally:
        for proc in (gateway, relay, text_relay):
            proc.stop(timeout=60)
    keyed_port = free_port()
    keyed = Proc("gateway-keyed-callgrind", [*valgrind, f"--callgrind-out-file={out}/keyed.%p",
                                             *gateway_argv(keyed_config, keyed_port)], tmp, stop_signal=signal.SIGINT)
    procs.append(keyed)
    try:
        wait_ready(keyed, keyed_port, limit=STARTUP_LIMIT_S)
        await _count_audio(gateway_echo_path(keyed, keyed_port, key))
        await _count_turns(keyed, GatewaySession.open(gateway_url(keyed_port, ALIAS), key))
    finally:
        keyed.stop(timeout=60)
    ours, theirs, relayed, keyed_dumps = (_dumps(out, name) for name in ("gateway", "relay", "text-relay", "keyed"))
    return Instructions(_summary(ours[0]) / (2 * FRAMES), _summary(theirs[0]) / (2 * FRAMES),
                        _summary(ours[1]) / TURNS, _summary(relayed[0]) / TURNS,
                        _summary(keyed_dumps[0]) / (2 * FRAMES), _summary(keyed_dumps[1]) / TURNS)


async def _count_audio(path: audio.Path) -> None:
    """One dump of the path's process: FRAMES frames echoed back to back, after a warm-up."""
    stream = await path.open()
    await audio.run_block([stream], WARMUP, 0.0)
    _control("-z", path.proc)
    await audio.run_block([stream], FRAMES, 0.0)
    _control("-d", path.proc)
    await stream.close()


async def _count_turns(proc: Proc, opening: Awaitable[GatewaySession | DirectSession]) -> None:
    """One dump of `proc`: TURNS text turns on the session `opening` opens, after 10."""
    session = await opening
    for _ in range(10):
        await session.turn()
    _control("-z", proc)
    for _ in range(TURNS):
        await session.turn()
    _control("-d", proc)
    await session.close()


async def _virtual_key(keyed_config: Path, tmp: Path, procs: list[Proc]) -> str:
    """A key made through /key/generate by a gateway (not under callgrind) that is then stopped: the counted
    one starts on the file as a restarted gateway does, and sessions never load SQLAlchemy (the admin API does)."""
    port = free_port()
    maker = Proc("gateway-key-maker", gateway_argv(keyed_config, port), tmp, stop_signal=signal.SIGINT)
    procs.append(maker)
    try:
        wait_ready(maker, port)
        return await make_key(port, (ALIAS, ECHO_ALIAS))
    finally:
        maker.stop()
