"""Session admission: global and per-key concurrency caps (config `general_settings.limits`)."""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Iterable
from typing import Protocol

from schemas.limits import Limits


class SessionCounter:
    """Counts open sessions; keys are hashed so no secret is kept in memory longer than needed."""

    def __init__(self, limits: Limits) -> None:
        self._limits = limits  # the caps
        self._total = 0  # open sessions
        self._per_key: Counter[str] = Counter()  # open sessions per hashed key

    @staticmethod
    def _tag(key: str | None) -> str:
        return hashlib.sha256((key or "").encode()).hexdigest()[:16]

    def try_acquire(self, key: str | None) -> str | None:
        """None when admitted (call `release` later); else why not."""
        tag = self._tag(key)
        if self._limits.max_sessions is not None and self._total >= self._limits.max_sessions:
            return f"This gateway already has {self._total} open sessions (its limit). Try again later."
        per_key = self._limits.max_sessions_per_key
        if per_key is not None and self._per_key[tag] >= per_key:
            return f"This API key already has {per_key} open sessions (its limit). Close one and try again."
        self._total += 1
        self._per_key[tag] += 1
        return None

    def release(self, key: str | None) -> None:
        tag = self._tag(key)
        self._total -= 1
        self._per_key[tag] -= 1
        if self._per_key[tag] <= 0:
            del self._per_key[tag]

    @property
    def open_sessions(self) -> int:
        return self._total


class _Limited(Protocol):
    def check_limits(self, now: float) -> None: ...


async def sweep_sessions(live: Iterable[_Limited], limits: Limits) -> None:
    """One task for the whole gateway checks every session's duration and idleness (cheaper per session
    than a timer task each). It ticks at a quarter of the shortest limit, at most once a second."""
    shortest = min(
        limits.max_session_seconds,
        limits.idle_timeout_seconds or limits.max_session_seconds,
        limits.upstream_stall_seconds,
    )
    interval = min(1.0, shortest / 4)
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(interval)
        now = loop.time()
        for session in list(live):
            session.check_limits(now)
