"""Session admission: the gateway's and each key's concurrency caps and session rate, over shared `Counters`.

`general_settings.limits` (max_sessions, max_sessions_per_key) apply to every key, the master key included;
a virtual key's own `max_parallel_requests` and `rpm_limit` tighten them.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.accounts.counters import Counters
from schemas.limits import Limits

ALL_SESSIONS = "sessions"
MINUTE_S = 60.0


@dataclass(frozen=True)
class Ticket:
    """An admitted session's slots; `Admission.release` gives them back."""

    key_slot: str


class Admission:
    """Takes a session's slots or says why not (an OpenAI `rate_limit_exceeded` message)."""

    def __init__(self, counters: Counters, limits: Limits) -> None:
        self._counters = counters  # shared slots and windows
        self._limits = limits  # the gateway-wide caps

    async def admit(self, key_id: str, *, parallel: int | None = None, rpm: int | None = None) -> Ticket | str:
        """`key_id` names the key (its hash, never the key); `parallel`/`rpm` are the key's own limits."""
        counters, limits = self._counters, self._limits
        if not await counters.acquire(ALL_SESSIONS, limits.max_sessions):
            return f"This gateway already has {limits.max_sessions} open sessions (its limit). Try again later."
        caps = [n for n in (limits.max_sessions_per_key, parallel) if n is not None]
        per_key = min(caps) if caps else None
        slot = f"open:{key_id}"
        if not await counters.acquire(slot, per_key):
            await counters.release(ALL_SESSIONS)
            return f"This API key already has {per_key} open sessions (its limit). Close one and try again."
        if rpm is not None and not await counters.hit(f"rpm:{key_id}", rpm, MINUTE_S):
            await counters.release(slot)
            await counters.release(ALL_SESSIONS)
            return f"This API key may open {rpm} sessions per minute (its rpm_limit). Try again shortly."
        return Ticket(slot)

    async def release(self, ticket: Ticket) -> None:
        await self._counters.release(ticket.key_slot)
        await self._counters.release(ALL_SESSIONS)
