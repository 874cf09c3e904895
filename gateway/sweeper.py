"""One task for the whole gateway that ends sessions at their limits (duration, idleness, upstream stalls)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Protocol

from schemas.limits import Limits


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
