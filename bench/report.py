"""The printed table: one row per figure, with its same-run baseline, ratio and target."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass


@dataclass
class Row:
    figure: str
    livegate: float
    baseline: float | None
    unit: str
    target: str
    met: bool | None = None  # None: no target to meet
    extra: str = ""  # e.g. the added latency, shown next to the livegate value

    def cells(self) -> list[str]:
        value = f"{_num(self.livegate)} {self.unit}" + (f" ({self.extra})" if self.extra else "")
        base = "—" if self.baseline is None else f"{_num(self.baseline)} {self.unit}"
        ratio = "—" if not self.baseline else f"{self.livegate / self.baseline:.2f}x"
        met = {True: "yes", False: "NO", None: ""}[self.met]
        return [self.figure, value, base, ratio, self.target, met]


HEADER = ["figure", "livegate", "baseline", "ratio", "target", "met"]


def table(rows: list[Row]) -> str:
    lines = [HEADER, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample."""
    ordered = sorted(samples)
    rank = min(len(ordered), max(1, math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def _num(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}" if abs(value) < 1 else f"{value:.2f}"
