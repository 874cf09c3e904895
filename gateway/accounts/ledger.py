"""What each virtual key has spent, as this process knows it, for budget checks that never wait on the database.

The database's figure (read at each session start, returned by each spend write) plus what this process has
recorded and not yet written. Alone, other replicas' unwritten spend shows up once they write it; with shared
counters (`redis_url`, gateway/accounts/shared_spend.py) the running total across replicas counts too.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.accounts.shared_spend import SharedSpend
from gateway.accounts.spend_rows import KeySpend, SpendRow


@dataclass
class _Known:
    stored: float  # USD in the database, this budget period
    period: dt.datetime | None  # the period's reset time; a new one means the budget was reset
    unwritten: float = 0.0  # USD recorded here and still queued


class SpendLedger:
    """Per key (by hash): stored spend + unwritten spend."""

    def __init__(self, shared: SharedSpend | None = None) -> None:
        self._keys: dict[str, _Known] = {}  # token → what this process knows
        self._shared = shared  # every replica's running spend (Valkey/Redis); None: this process alone

    def seen(self, token: str, stored: float, period: dt.datetime | None) -> None:
        """A fresh read of the key's record. Spend only grows within a period, so a stale read cannot lower it."""
        known = self._keys.get(token)
        if known is None or known.period != period:
            self._keys[token] = _Known(stored, period, known.unwritten if known else 0.0)
        else:
            known.stored = max(known.stored, stored)

    def charge(self, token: str, usd: float) -> float:
        """Add a response's cost; returns the key's spend now."""
        known = self._keys.setdefault(token, _Known(0.0, None))
        if self._shared is not None:
            self._shared.add(token, known.period, usd, known.stored + known.unwritten)
        known.unwritten += usd
        return self.spent(token)

    def spent(self, token: str) -> float:
        known = self._keys.get(token)
        if known is None:
            return 0.0
        mine = known.stored + known.unwritten
        return mine if self._shared is None else max(mine, self._shared.total(token, known.period))

    async def refresh(self, token: str) -> None:
        """Before a session's budget check: the running spend every replica has added (one read, shared only)."""
        known = self._keys.get(token)
        if self._shared is not None and known is not None:
            await self._shared.read(token, known.period)

    def written(self, rows: Sequence[SpendRow], totals: Sequence[KeySpend]) -> None:
        """A batch is in the database: its rows are no longer unwritten, the keys' stored spend is as returned."""
        flushed: dict[str, float] = defaultdict(float)
        for row in rows:
            if row.charged and row.api_key:
                flushed[row.api_key] += row.spend
        for token, usd in flushed.items():
            known = self._keys.get(token)
            if known is not None:
                known.unwritten = max(0.0, known.unwritten - usd)
        for total in totals:
            self.seen(total.token, total.spend, total.budget_reset_at)
