"""`--profile`: the gateway ran under cProfile with a CPU-time timer (bench/procs.py); what its profile says.

The timer makes each profiled call cost a clock read, so small, frequent functions look heavier than they
are and the gateway's CPU figures in that run are inflated; the shares by package are still a fair map.
"""

from __future__ import annotations

import io
import pstats
from pathlib import Path


def summary(path: Path, top: int = 20) -> str:
    """Own CPU time by package (where the time goes), then the top functions."""
    if not path.exists():
        return "profile: the gateway wrote no profile (it did not exit cleanly)"
    stats = pstats.Stats(str(path), stream=(out := io.StringIO()))
    by_package: dict[str, float] = {}
    for (filename, _, function), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        package = _package(filename, function)
        by_package[package] = by_package.get(package, 0.0) + own
    total = sum(by_package.values()) or 1.0
    ranked = sorted(by_package.items(), key=lambda kv: -kv[1])[:12]
    lines = [f"{own / total:6.1%}  {package}" for package, own in ranked]
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    return ("gateway profile, whole run, CPU-time timer (per-call overhead inflates small functions); "
            "own time by package:\n" + "\n".join(lines) + "\n" + out.getvalue())


def _package(filename: str, function: str) -> str:
    if filename == "~":  # C functions: name the extension or type they belong to
        for name in ("zlib", "orjson", "uvloop", "select", "socket", "marshal", "compile"):
            if name in function:
                return f"C: {name}"
        return "C: builtins"
    if filename.startswith("<"):  # <frozen os>, <string>
        return "stdlib: " + filename.strip("<>")
    parts = Path(filename).parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1]
    for project in ("gateway", "translators", "schemas", "bench"):
        if project in parts:
            return project
    return "stdlib: " + (parts[-2] if parts[-2] == "asyncio" else Path(filename).stem)
