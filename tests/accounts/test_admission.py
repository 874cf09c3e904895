"""gateway/accounts/counters.py and admission.py: slots and per-minute windows, caps combined, nothing leaked."""

from __future__ import annotations

from gateway.accounts.admission import ALL_SESSIONS, Admission, Ticket
from gateway.accounts.counters import MemoryCounters
from schemas.limits import Limits


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_rpm_is_a_sliding_minute() -> None:
    """rpm_limit counts sessions opened in the last 60 s; the window slides."""
    clock = Clock()
    counters = MemoryCounters(clock)
    assert [await counters.hit("rpm:k", 2, 60) for _ in range(3)] == [True, True, False]
    clock.now += 59.9
    assert not await counters.hit("rpm:k", 2, 60)
    clock.now += 0.2
    assert await counters.hit("rpm:k", 2, 60)


async def test_the_tightest_cap_wins_and_refusals_take_nothing() -> None:
    """The key's max_parallel_requests and limits.max_sessions_per_key combine; a refusal holds no slot."""
    counters = MemoryCounters(Clock())
    admission = Admission(counters, Limits(max_sessions=10, max_sessions_per_key=3))
    first = await admission.admit("k", parallel=2)
    second = await admission.admit("k", parallel=2)
    refused = await admission.admit("k", parallel=2)
    assert isinstance(first, Ticket) and isinstance(second, Ticket)
    assert isinstance(refused, str) and "2 open sessions" in refused
    assert counters.taken(ALL_SESSIONS) == 2 and counters.taken("open:k") == 2
    await admission.release(first)
    assert isinstance(await admission.admit("k", parallel=2), Ticket)


async def test_rpm_refusal_gives_back_the_slots() -> None:
    """Over rpm_limit: rate_limit message, and the concurrency slots taken first are returned."""
    counters = MemoryCounters(Clock())
    admission = Admission(counters, Limits())
    ticket = await admission.admit("k", rpm=1)
    assert isinstance(ticket, Ticket)
    await admission.release(ticket)
    refused = await admission.admit("k", rpm=1)
    assert isinstance(refused, str) and "rpm_limit" in refused
    assert counters.taken(ALL_SESSIONS) == 0 and counters.taken("open:k") == 0


async def test_gateway_cap() -> None:
    """limits.max_sessions caps every key together."""
    admission = Admission(MemoryCounters(Clock()), Limits(max_sessions=1))
    assert isinstance(await admission.admit("a"), Ticket)
    refused = await admission.admit("b")
    assert isinstance(refused, str) and "gateway" in refused
