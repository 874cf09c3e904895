"""Figure 4: wall time from spawning `livegate serve` to `/health` answering 200.

Baseline: a minimal Starlette app with only `/health`, served by uvicorn with the same flags
(`bench/apps.py health`), so the ratio shows what livegate adds to the interpreter and the stack.
Spawns alternate between the two; the median of each is reported.
"""

from __future__ import annotations

from pathlib import Path

from bench.procs import Proc, app_argv, free_port, gateway_argv, wait_ready
from bench.report import Row, median

TARGET_S = 1.0


def _once(name: str, argv: list[str], port: int, log_dir: Path) -> float:
    proc = Proc(name, argv, log_dir)
    try:
        return wait_ready(proc, port)
    finally:
        proc.stop()


def measure(config: Path, log_dir: Path, rounds: int) -> tuple[list[float], list[float]]:
    ours: list[float] = []
    theirs: list[float] = []
    for index in range(rounds):
        order = ("gateway", "baseline") if index % 2 == 0 else ("baseline", "gateway")
        for kind in order:
            port = free_port()
            if kind == "gateway":
                ours.append(_once("startup-gateway", gateway_argv(config, port), port, log_dir))
            else:
                theirs.append(_once("startup-baseline", app_argv("health", port), port, log_dir))
    return ours, theirs


def rows(ours: list[float], theirs: list[float]) -> list[Row]:
    value, base = median(ours), median(theirs)
    return [Row(f"start-up to /health 200, median of {len(ours)}", value, base, "s", f"<= {TARGET_S:.0f} s",
                value <= TARGET_S)]
