"""Each key's running spend in Valkey/Redis, so every replica's budget check sees every replica's responses as they
are priced, not after the next spend write (issue #14).

One float per key and budget period (`{livegate}:spend:<key hash>:<period>`): each charge adds to it with one
script call in the background (the session pump never waits for it), and its answer, the key's total across
replicas, is kept here for the next check. The counter starts from the spend this process knows (the database's
figure plus its own unwritten charges) and is never lowered; a new budget period is a new counter. Budget checks
take the larger of it and the process's own figure (gateway/accounts/ledger.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

from gateway.accounts.valkey_counters import PREFIX

log = logging.getLogger("livegate.counters")

IDLE_TTL_MS = 7 * 24 * 3600 * 1000  # a counter nobody charged for a week is dropped (restarted from the database)

# KEYS[1] the running spend; ARGV: USD to add, the figure to start from if it does not exist, TTL ms.
_CHARGE = """
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[2]) end
local total = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return total
"""


def spend_key(token: str, period: dt.datetime | None) -> str:
    stamp = int(period.timestamp()) if period is not None else 0
    return f"{PREFIX}spend:{token}:{stamp}"


class SharedSpend:
    """Running spend per key across replicas; `add` never waits, `total` is what the last answer said."""

    def __init__(self, client: Any) -> None:
        self._client = client  # valkey.asyncio.Valkey, shared with the counters
        self._charge = client.register_script(_CHARGE)
        self._totals: dict[str, float] = {}  # counter key → the shared total last heard, plus charges not yet answered
        self._tasks: set[asyncio.Task[None]] = set()  # charges on their way

    def total(self, token: str, period: dt.datetime | None) -> float:
        return self._totals.get(spend_key(token, period), 0.0)

    def add(self, token: str, period: dt.datetime | None, usd: float, base: float) -> None:
        """Add one response's cost (`base`: what the key had spent before it, as this process knows)."""
        if usd <= 0:
            return
        key = spend_key(token, period)
        self._totals[key] = max(self._totals.get(key, 0.0), base) + usd
        task = asyncio.get_running_loop().create_task(self._send(key, usd, base))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def read(self, token: str, period: dt.datetime | None) -> float:
        """The shared total now (session start); 0.0 when there is none or Valkey cannot be reached."""
        key = spend_key(token, period)
        try:
            value = await self._client.get(key)
        except Exception as exc:
            log.warning("running spend unreadable (%s): budgets use this process's figure", type(exc).__name__)
            return self._totals.get(key, 0.0)
        if value is not None:
            self._totals[key] = max(self._totals.get(key, 0.0), float(value))
        return self._totals.get(key, 0.0)

    async def _send(self, key: str, usd: float, base: float) -> None:
        try:
            total = await self._charge(keys=[key], args=[repr(usd), repr(base), IDLE_TTL_MS])
        except Exception as exc:  # the database write still counts it; only the cross-replica view lags
            log.warning("running spend not shared (%s): other replicas see it after the spend write",
                        type(exc).__name__)
            return
        self._totals[key] = max(self._totals.get(key, 0.0), float(total))

    async def close(self) -> None:
        """Let the charges on their way land (shutdown)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2.0)
