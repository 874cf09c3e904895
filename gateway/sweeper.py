"""One task for the whole gateway that ends sessions at their limits (duration, idleness, upstream stalls)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Protocol

from schemas.limits import Limits

log = logging.getLogger("livegate.sweeper")


class _Limited(Protocol):
    def check_limits(self, now: float) -> None: ...

    def crashed(self) -> None: ...


async def sweep_sessions(live: Iterable[_Limited], limits: Limits) -> None:
    """One task for the whole gateway checks every session's duration and idleness (cheaper per session
    than a timer task each). It ticks at a quarter of the shortest limit, at most once a second."""
    shortest = min(
        limits.max_session_seconds,
        limits.idle_timeout_seconds or limits.max_session_seconds,
        limits.upstream_stall_seconds,
        limits.slow_client_seconds,
    )
    interval = min(1.0, shortest / 4)
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(interval)
        sweep_once(live, loop.time())


def sweep_once(live: Iterable[_Limited], now: float) -> None:
    """Check every session; one that fails its check is ended, the others are still checked (issue #16 item 4)."""
    for session in list(live):
        try:
            session.check_limits(now)
        except Exception:
            log.exception("checking the limits of a session failed; ending that session")
            try:
                session.crashed()
            except Exception:
                log.exception("ending a session whose limit check failed failed too")
