"""Virtual keys without their table: how they are made and hashed, and the record of one.

Split from `keys.py` (the table, SQLAlchemy) so that a gateway without a database never imports SQLAlchemy
(issue #15: idle RSS); `keys.py` re-exports every name here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from schemas.admin import parse_duration

KEY_PREFIX = "sk-"
_HASH = re.compile(r"^[0-9a-f]{64}$")
Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_key() -> str:
    """`sk-` + 32 URL-safe characters (192 random bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(24)


def hash_key(key: str) -> str:
    """The stored form of a key: its sha256, hex (LiteLLM hashes the same way)."""
    return hashlib.sha256(key.encode()).hexdigest()


def token_of(ref: str) -> str:
    """An admin call may name a key by the key itself or by its hash."""
    return ref if _HASH.match(ref) else hash_key(ref)


def display_name(key: str) -> str:
    return f"{KEY_PREFIX}...{key[-4:]}"


class KeyConflict(Exception):
    """Another key already has this key_alias."""


@dataclass(frozen=True)
class KeyRecord:
    """One virtual key as stored (never the key itself)."""

    token: str  # sha256 hex of the key
    key_name: str  # sk-...abcd
    key_alias: str | None
    models: tuple[str, ...]  # aliases it may open; empty: all
    max_budget: float | None  # USD
    spend: float  # USD since the last budget reset
    budget_duration: str | None
    budget_reset_at: dt.datetime | None
    max_parallel_requests: int | None
    rpm_limit: int | None
    expires: dt.datetime | None
    user_id: str | None
    team_id: str | None
    blocked: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    metadata: dict[str, Any] = field(default_factory=dict)

    def expired(self, now: dt.datetime) -> bool:
        return self.expires is not None and now >= self.expires

    def allows(self, alias: str) -> bool:
        return not self.models or alias in self.models

    def as_json(self) -> dict[str, Any]:
        """LiteLLM's /key/info `info` fields."""
        return {
            "token": self.token,
            "key_name": self.key_name,
            "key_alias": self.key_alias,
            "spend": self.spend,
            "max_budget": self.max_budget,
            "budget_duration": self.budget_duration,
            "budget_reset_at": _iso(self.budget_reset_at),
            "expires": _iso(self.expires),
            "models": list(self.models),
            "max_parallel_requests": self.max_parallel_requests,
            "rpm_limit": self.rpm_limit,
            "user_id": self.user_id,
            "team_id": self.team_id,
            "metadata": self.metadata,
            "blocked": self.blocked,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def budget_reset_due(record: KeyRecord, now: dt.datetime) -> dt.datetime | None:
    """The key's next budget reset time if its period is over at `now` (its spend then starts again at 0); else
    None. Whole periods are skipped: a key unused for three periods resets once, to the current one."""
    if record.budget_reset_at is None or record.budget_duration is None or now < record.budget_reset_at:
        return None
    period = parse_duration(record.budget_duration)
    periods = (now - record.budget_reset_at) // period + 1
    return record.budget_reset_at + period * periods
