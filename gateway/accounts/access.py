"""Who may open a session, for which alias, right now: the one question transports ask before any upstream dial.

`authenticate` maps a presented key to a `Caller` (the master key, a virtual key, or anyone when the gateway has
no key) or a `Refusal`; `admit` checks the caller against the alias, its budget and the admission caps.
One database read per session start; nothing here runs per frame.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gateway.accounts.admission import Admission, Ticket
from gateway.accounts.key_records import Clock as UtcClock
from gateway.accounts.key_records import KeyRecord, hash_key, utcnow
from gateway.accounts.ledger import SpendLedger
from gateway.close_codes import HandshakeRefusal

if TYPE_CHECKING:  # the table (SQLAlchemy) is loaded with the first virtual key looked up (gateway/accounts/stores.py)
    from gateway.accounts.keys import KeyStore
    from gateway.accounts.stores import Stores

log = logging.getLogger("livegate.access")


@dataclass(frozen=True)
class Refusal:
    """A refused connection: which row of the refusal table (gateway/close_codes.py), the values its message
    takes, and the words for the log line (never a key)."""

    kind: HandshakeRefusal
    reason: str
    values: dict[str, str] = field(default_factory=dict)

    @property
    def code(self) -> str | None:
        return self.kind.value.error_code

    @property
    def message(self) -> str:
        return self.kind.value.text(**self.values)

    @property
    def close_code(self) -> int:
        return self.kind.value.close_code

    @property
    def error_type(self) -> str:
        return self.kind.value.error_type

    @property
    def close_reason(self) -> str:
        return self.kind.value.reason


@dataclass(frozen=True)
class Caller:
    """Who is connecting. `key_id` is the key's sha256 (never the key); "" when the gateway has no key."""

    key_id: str
    key_alias: str | None = None
    user_id: str | None = None
    team_id: str | None = None
    record: KeyRecord | None = None  # a virtual key's record, read at this session's start

    @property
    def max_budget(self) -> float | None:
        return self.record.max_budget if self.record is not None else None


MASTER_ALIAS = "master"  # key_alias shown in logs and spend rows for the master key
PASSTHROUGH_NAME = "vertex-ai/live"  # what the native passthrough is called where an alias would be


class Accounts:
    """The key check and admission for every transport."""

    def __init__(
        self,
        master_key: str | None,
        stores: Stores | None,
        admission: Admission,
        ledger: SpendLedger,
        clock: UtcClock = utcnow,
    ) -> None:
        if master_key is not None and not master_key.strip():
            raise ValueError("general_settings.master_key must not be empty")
        self._master = master_key.encode() if master_key else None  # None: every client is let in
        self._master_id = hash_key(master_key) if master_key else ""  # the master key's spend rows and slots
        self._stores = stores  # None: no database, so no virtual keys
        self._admission = admission  # concurrency caps and session rates
        self.ledger = ledger  # spend per key, for budgets
        self._clock = clock  # UTC now
        self._last_good: dict[str, KeyRecord] = {}  # records last read, used while the database is unreachable

    @property
    def keys(self) -> KeyStore | None:
        """The key store (made, and SQLAlchemy imported, at its first use); None without a database."""
        return self._stores.keys if self._stores is not None else None

    @property
    def required(self) -> bool:
        return self._master is not None

    def is_master(self, key: str | None) -> bool:
        """Constant-time comparison with the master key (sessions and the admin API; /metrics has its own key)."""
        return self._master is not None and key is not None and hmac.compare_digest(key.encode(), self._master)

    async def authenticate(self, key: str | None) -> Caller | Refusal:
        if self._master is None:
            return Caller("")
        if key is None:
            return Refusal(HandshakeRefusal.MISSING_KEY, "missing key")
        if self.is_master(key):
            return Caller(self._master_id, key_alias=MASTER_ALIAS)
        return await self._virtual(hash_key(key))

    async def authenticate_id(self, token: str) -> Caller | Refusal:
        """A key known by its id (`hash_key`), as an `ek_` client secret names the key that minted it: the same
        checks and the same `Caller` as the key itself (so the secret has that key's models, limits, budget)."""
        if self._master is None:
            return Caller("")
        if hmac.compare_digest(token, self._master_id):
            return Caller(self._master_id, key_alias=MASTER_ALIAS)
        return await self._virtual(token)

    async def _virtual(self, token: str) -> Caller | Refusal:
        """A virtual key by its stored hash: unknown, blocked or expired keys are refused."""
        if self._stores is None:
            return Refusal(HandshakeRefusal.INVALID_KEY, "unknown key")
        record = await self._lookup(token)
        if isinstance(record, Refusal):
            return record
        if record is None:
            return Refusal(HandshakeRefusal.INVALID_KEY, "unknown key")
        name = record.key_alias or record.key_name
        if record.blocked:
            return Refusal(HandshakeRefusal.BLOCKED_KEY, f"blocked key {name}")
        if record.expired(self._clock()):
            return Refusal(HandshakeRefusal.EXPIRED_KEY, f"expired key {name}")
        self.ledger.seen(record.token, record.spend, record.budget_reset_at)
        return Caller(record.token, record.key_alias, record.user_id, record.team_id, record)

    async def _lookup(self, token: str) -> KeyRecord | Refusal | None:
        assert self._stores is not None
        try:
            record = await self._stores.key(token)
        except Exception as exc:  # the database is unreachable: a key seen before still works meanwhile
            stale = self._last_good.get(token)
            fallback = "; using the last record read" if stale else ""
            log.warning("key look-up failed (%s)%s", type(exc).__name__, fallback)
            if stale is not None:
                return stale
            return Refusal(HandshakeRefusal.KEYS_UNAVAILABLE, "key store unreachable")
        if record is None:
            self._last_good.pop(token, None)
        else:
            self._last_good[token] = record
        return record

    async def admit(self, caller: Caller, alias: str | None) -> Ticket | Refusal:
        """Model restriction, budget, then the caps. `alias` None: the native passthrough (no alias)."""
        record = caller.record
        if record is not None and record.models and (alias is None or not record.allows(alias)):
            name = alias or PASSTHROUGH_NAME
            return Refusal(HandshakeRefusal.MODEL_NOT_ALLOWED, f"key may not use {name}", {"alias": name})
        budget = caller.max_budget
        if record is not None and budget is not None:
            await self.ledger.refresh(record.token)
        if record is not None and budget is not None and self.ledger.spent(record.token) >= budget:
            reason = f"budget spent ({self.ledger.spent(record.token):.6f} of {budget:.6f} USD)"
            return Refusal(HandshakeRefusal.BUDGET_SPENT, reason)
        parallel = record.max_parallel_requests if record is not None else None
        rpm = record.rpm_limit if record is not None else None
        ticket = await self._admission.admit(caller.key_id, parallel=parallel, rpm=rpm)
        if isinstance(ticket, str):
            return Refusal(HandshakeRefusal.OVER_CAPACITY, "rate limited", {"detail": ticket})
        return ticket

    async def release(self, ticket: Ticket) -> None:
        await self._admission.release(ticket)

    def forget(self, tokens: list[str]) -> None:
        """Keys changed through the admin API: drop their fallback records."""
        for token in tokens:
            self._last_good.pop(token, None)
