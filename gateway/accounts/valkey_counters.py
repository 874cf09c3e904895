"""Admission counters shared by every gateway process through Valkey or Redis (issue #14).

An open-session slot is a lease: a member of a sorted set scored by its expiry (the server's clock, so replicas'
clocks never matter). This process refreshes its leases on a timer while their sessions live, so a killed
process's slots lapse within one lease TTL. A per-minute window is a sorted set of event times. Each check is one
atomic Lua script; nothing here runs per frame: `acquire`/`hit` at session start, `release` at its end, the
refresh every quarter TTL for all leases at once.

Every key shares the `{livegate}` hash tag, so the scripts also run on a Valkey/Redis cluster (one slot).
While the server cannot be reached the checks fall back to this process's own counters (limits then hold per
process), retried after `RETRY_AFTER_S`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from gateway.accounts.counters import MemoryCounters

log = logging.getLogger("livegate.counters")

PREFIX = "{livegate}:"
RETRY_AFTER_S = 5.0  # after a failed call, this process's own counters serve this long before Valkey is tried again

# KEYS[1] the slot set; ARGV: limit (-1: none), lease member, TTL ms. 1 when taken.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local limit = tonumber(ARGV[1])
if limit >= 0 and redis.call('ZCARD', KEYS[1]) >= limit then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""

# KEYS: slot sets; ARGV[1] TTL ms, then one lease member per key. Only leases still present are extended (XX):
# a lease released meanwhile must not come back.
_REFRESH = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', now + ttl, ARGV[i + 1])
  redis.call('PEXPIRE', key, ttl)
end
return #KEYS
"""

# KEYS[1] the window set; ARGV: limit, window ms, event member. 1 when counted.
_HIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""


class ValkeyCounters:
    """`Counters` over a Valkey/Redis server (valkey-py's asyncio client), with leases refreshed on a timer."""

    def __init__(self, client: Any, *, lease_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client  # valkey.asyncio.Valkey (or redis-py's): one connection pool for the process
        self._ttl_ms = max(1000, int(lease_s * 1000))  # a lease lapses this long after its last refresh
        self._acquire = client.register_script(_ACQUIRE)
        self._refresh = client.register_script(_REFRESH)
        self._hit = client.register_script(_HIT)
        self._owner = secrets.token_hex(6)  # this process's prefix of lease and event members
        self._seq = itertools.count(1)  # lease and event numbers
        self._held: dict[str, list[str]] = collections.defaultdict(list)  # slot set → this process's leases
        self._fallback = MemoryCounters(clock)  # while Valkey is unreachable
        self._fallback_held: collections.Counter[str] = collections.Counter()  # slots taken from the fallback
        self._clock = clock
        self._down_until = 0.0  # monotonic: use the fallback until then
        self._refresher: asyncio.Task[None] | None = None

    @property
    def lease_s(self) -> float:
        return self._ttl_ms / 1000

    def start(self) -> None:
        """Start refreshing this process's leases (every quarter TTL)."""
        if self._refresher is None:
            self._refresher = asyncio.create_task(self._refresh_loop())

    async def close(self) -> None:
        """Stop refreshing, give back what this process still holds, close the connections."""
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        held = [(name, lease) for name, leases in self._held.items() for lease in leases]
        self._held.clear()
        with contextlib.suppress(Exception):  # best effort: unreleased leases lapse by themselves
            async with self._client.pipeline(transaction=False) as pipe:
                for name, lease in held:
                    pipe.zrem(PREFIX + name, lease)
                await pipe.execute()
        await self._client.aclose()

    async def ping(self, timeout: float = 2.0) -> bool:
        try:
            async with asyncio.timeout(timeout):
                return bool(await self._client.ping())
        except Exception as exc:  # any client or network error means "unreachable"; say which, never the URL
            log.warning("counters unreachable: %s", type(exc).__name__)
            return False

    async def acquire(self, name: str, limit: int | None) -> bool:
        if self._using_fallback():
            return await self._fallback_acquire(name, limit)
        lease = f"{self._owner}:{next(self._seq)}"
        try:
            cap = -1 if limit is None else limit
            taken = await self._acquire(keys=[PREFIX + name], args=[cap, lease, self._ttl_ms])
        except Exception as exc:
            self._failed(exc)
            return await self._fallback_acquire(name, limit)
        if taken:
            self._held[name].append(lease)
        return bool(taken)

    async def release(self, name: str) -> None:
        if self._fallback_held[name] > 0:  # taken while Valkey was down: given back where it was taken
            self._fallback_held[name] -= 1
            await self._fallback.release(name)
            return
        leases = self._held.get(name)
        if not leases:
            return
        lease = leases.pop()
        if not leases:
            del self._held[name]
        try:
            await self._client.zrem(PREFIX + name, lease)
        except Exception as exc:  # the lease lapses by itself within its TTL
            self._failed(exc)

    async def hit(self, name: str, limit: int, window_s: float) -> bool:
        if self._using_fallback():
            return await self._fallback.hit(name, limit, window_s)
        event = f"{self._owner}:{next(self._seq)}"
        try:
            counted = await self._hit(keys=[PREFIX + name], args=[limit, int(window_s * 1000), event])
        except Exception as exc:
            self._failed(exc)
            return await self._fallback.hit(name, limit, window_s)
        return bool(counted)

    def taken(self, name: str) -> int:
        """Slots of `name` this process holds."""
        return len(self._held.get(name, ())) + self._fallback_held[name]

    async def _fallback_acquire(self, name: str, limit: int | None) -> bool:
        taken = await self._fallback.acquire(name, limit)
        if taken:
            self._fallback_held[name] += 1
        return taken

    def _using_fallback(self) -> bool:
        return self._clock() < self._down_until

    def _failed(self, exc: Exception) -> None:
        if not self._using_fallback():
            log.warning(
                "shared counters unreachable (%s): this process's own counters serve for %.0f s",
                type(exc).__name__,
                RETRY_AFTER_S,
            )
        self._down_until = self._clock() + RETRY_AFTER_S

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self._ttl_ms / 4000)
            await self.refresh()

    async def refresh(self) -> None:
        """Extend every lease this process holds (one script call)."""
        held = [(name, lease) for name, leases in self._held.items() for lease in leases]
        if not held:
            return
        try:
            names, leases = [PREFIX + name for name, _ in held], [lease for _, lease in held]
            await self._refresh(keys=names, args=[self._ttl_ms, *leases])
        except Exception as exc:
            self._failed(exc)
