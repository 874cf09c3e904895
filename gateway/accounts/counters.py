"""Shared counters behind session admission: open-session slots and per-minute windows.

One small interface so that a Valkey/Redis implementation (issue #14) can share them across gateway
processes; `MemoryCounters` serves one process. Every method is a single atomic step for its counter.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from typing import Protocol


class Counters(Protocol):
    async def acquire(self, name: str, limit: int | None) -> bool:
        """Take one slot of `name` if fewer than `limit` are taken (None: no limit); True when taken."""
        ...

    async def release(self, name: str) -> None:
        """Give back a slot taken by `acquire`."""
        ...

    async def hit(self, name: str, limit: int, window_s: float) -> bool:
        """Count one event in a sliding window of `window_s` seconds unless `limit` are already in it."""
        ...


class MemoryCounters:
    """Counters of this process (asyncio: each method runs without awaiting, so it is atomic)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock  # seconds, monotonic (tests move it)
        self._slots: collections.Counter[str] = collections.Counter()  # name → slots taken
        self._hits: dict[str, collections.deque[float]] = {}  # name → times of the events in the window

    async def acquire(self, name: str, limit: int | None) -> bool:
        if limit is not None and self._slots[name] >= limit:
            return False
        self._slots[name] += 1
        return True

    async def release(self, name: str) -> None:
        self._slots[name] -= 1
        if self._slots[name] <= 0:
            del self._slots[name]

    async def hit(self, name: str, limit: int, window_s: float) -> bool:
        now = self._clock()
        times = self._hits.setdefault(name, collections.deque())
        while times and times[0] <= now - window_s:
            times.popleft()
        if len(times) >= limit:
            return False
        times.append(now)
        return True

    def taken(self, name: str) -> int:
        return self._slots[name]
