"""`--callgrind`: user-space instructions per audio event and per text turn, counted by valgrind's callgrind.

CPU time on a shared 2-core machine moves with everyone else's load; instruction counts do not. The gateway
and the bare relay run under callgrind (slow, so one session and a few hundred frames); each one's counters
are zeroed after a warm-up and dumped after the measured load (`callgrind_control -z` / `-d`), so start-up is
left out. Kernel work (the socket syscalls, the same for both) is not counted: the ratio here is the user-space
one, larger than the CPU-time ratio. Needs `valgrind` (Debian's package); without it the figure is skipped.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench import audio
from bench.procs import ALIAS, Proc, app_argv, free_port, gateway_argv, wait_ready
from bench.report import Row
from bench.wire import DirectPlan, DirectSession, GatewaySession, gateway_url

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

    def rows(self) -> list[Row]:
        return [
            Row(f"instructions / audio event (callgrind), n={FRAMES}x2", self.gateway_event, self.relay_event,
                "", "(report: user space)"),
            Row(f"instructions / text turn (callgrind), n={TURNS}", self.gateway_turn, self.relay_turn, "",
                "(report: user space)"),
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


async def measure(config: Path, plan: DirectPlan, echo_plan: DirectPlan, tmp: Path, procs: list[Proc]) -> Instructions:
    """The gateway and the bare relay under callgrind, each counted after a warm-up: audio against the running
    echo upstream, then text turns against the running emulator (a second relay, dialling it)."""
    out = tmp / "callgrind"
    out.mkdir()
    valgrind = ["valgrind", "--tool=callgrind"]
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
        from bench.__main__ import echo_paths  # the same two paths as the CPU figures

        for path in echo_paths(gateway, gateway_port, relay, relay_port, echo_plan):
            stream = await path.open()
            await audio.run_block([stream], WARMUP, 0.0)
            _control("-z", path.proc)
            await audio.run_block([stream], FRAMES, 0.0)
            _control("-d", path.proc)
            await stream.close()
        turns: list[tuple[Proc, GatewaySession | DirectSession]] = [
            (gateway, await GatewaySession.open(gateway_url(gateway_port, ALIAS))),
            (text_relay, await DirectSession.open(plan, f"ws://127.0.0.1:{text_relay_port}/")),
        ]
        for proc, session in turns:
            for _ in range(10):
                await session.turn()
            _control("-z", proc)
            for _ in range(TURNS):
                await session.turn()
            _control("-d", proc)
            await session.close()
    finally:
        for proc in (gateway, relay, text_relay):
            proc.stop(timeout=60)
    ours, theirs, relayed = _dumps(out, "gateway"), _dumps(out, "relay"), _dumps(out, "text-relay")
    return Instructions(_summary(ours[0]) / (2 * FRAMES), _summary(theirs[0]) / (2 * FRAMES),
                        _summary(ours[1]) / TURNS, _summary(relayed[0]) / TURNS)
