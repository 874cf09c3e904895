"""Virtual keys: how they are made and hashed, the record of one, and their table (any replica may read or write).

A key is shown once, at /key/generate; the database holds only its sha256 (LiteLLM's `token`), so a leaked
database or log never yields a usable key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from gateway.accounts.database import Database
from gateway.accounts.key_records import (  # re-exported: the names this module always had
    KEY_PREFIX,
    Clock,
    KeyConflict,
    KeyRecord,
    budget_reset_due,
    display_name,
    hash_key,
    new_key,
    token_of,
    utcnow,
)
from gateway.accounts.sqlite_keys import COLUMNS, KEYS_TABLE
from gateway.accounts.tables import keys
from schemas.admin import KeyFields, parse_duration

__all__ = ["KEY_PREFIX", "Clock", "KeyConflict", "KeyRecord", "KeyStore", "display_name", "hash_key", "new_key",
           "token_of", "utcnow"]
# sqlite_keys.py reads a key without SQLAlchemy, from its own copy of the names: a column added to tables.py must be
# added there too.
if ({c.name for c in keys.columns}, keys.name) != (set(COLUMNS), KEYS_TABLE):
    raise RuntimeError(f"livegate_keys columns do not match sqlite_keys.COLUMNS {COLUMNS}")

def _record(row: RowMapping) -> KeyRecord:
    return KeyRecord(
        token=row["token"],
        key_name=row["key_name"],
        key_alias=row["key_alias"],
        models=tuple(row["models"] or ()),
        max_budget=row["max_budget"],
        spend=row["spend"],
        budget_duration=row["budget_duration"],
        budget_reset_at=row["budget_reset_at"],
        max_parallel_requests=row["max_parallel_requests"],
        rpm_limit=row["rpm_limit"],
        expires=row["expires"],
        user_id=row["user_id"],
        team_id=row["team_id"],
        blocked=row["blocked"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        metadata=dict(row["meta"] or {}),
    )


def _column_values(fields: KeyFields, now: dt.datetime) -> dict[str, Any]:
    """The columns the request sets (only the fields it named: `null` clears, absent keeps)."""
    named = fields.model_fields_set
    values: dict[str, Any] = {}
    simple = ("key_alias", "max_budget", "max_parallel_requests", "rpm_limit", "user_id", "team_id", "blocked")
    for name in simple:
        if name in named:
            values[name] = getattr(fields, name)
    if "blocked" in values and values["blocked"] is None:
        values["blocked"] = False
    if "models" in named:
        values["models"] = list(fields.models or [])
    if "metadata" in named:
        values["meta"] = dict(fields.metadata or {})
    if "duration" in named:
        values["expires"] = now + parse_duration(fields.duration) if fields.duration else None
    if "budget_duration" in named:
        duration = fields.budget_duration
        values["budget_duration"] = duration
        values["budget_reset_at"] = now + parse_duration(duration) if duration else None
    return values


class KeyStore:
    """The keys table. Every method is one short transaction, safe with several gateways on one database."""

    def __init__(self, database: Database, clock: Clock = utcnow) -> None:
        self._db = database  # the shared engine
        self._clock = clock  # UTC now (tests move it)

    async def create(self, fields: KeyFields) -> tuple[str, KeyRecord]:
        """A new key and its record; the key is returned once and never stored."""
        key, now = new_key(), self._clock()
        values = {
            "models": [],
            "spend": 0.0,
            "meta": {},
            "blocked": False,
            **_column_values(fields, now),
            "token": hash_key(key),
            "key_name": display_name(key),
            "created_at": now,
            "updated_at": now,
        }
        try:
            async with self._db.engine.begin() as connection:
                await connection.execute(insert(keys).values(**values))
        except IntegrityError:
            raise KeyConflict(f"A key with key_alias {fields.key_alias!r} already exists.") from None
        record = await self.get(values["token"])
        assert record is not None
        return key, record

    async def get(self, token: str) -> KeyRecord | None:
        """The record, its budget reset first if its period is over."""
        async with self._db.engine.begin() as connection:
            row = (await connection.execute(select(keys).where(keys.c.token == token))).mappings().first()
            if row is None:
                return None
            record = _record(row)
            next_reset = budget_reset_due(record, self._clock())
            if next_reset is None:
                return record
            # Compare-and-set on the old reset time: of several replicas noticing together, one resets.
            await connection.execute(
                update(keys)
                .where(keys.c.token == token, keys.c.budget_reset_at == record.budget_reset_at)
                .values(spend=0.0, budget_reset_at=next_reset)
            )
            row = (await connection.execute(select(keys).where(keys.c.token == token))).mappings().first()
            return _record(row) if row is not None else None

    async def tokens_for_aliases(self, aliases: Sequence[str]) -> list[str]:
        async with self._db.engine.connect() as connection:
            result = await connection.execute(select(keys.c.token).where(keys.c.key_alias.in_(list(aliases))))
            return list(result.scalars())

    async def page(self, *, page: int, size: int, filters: dict[str, str | None]) -> tuple[list[KeyRecord], int]:
        """One page (1-based) of keys, newest first, and how many match."""
        conditions = [getattr(keys.c, name) == value for name, value in filters.items() if value is not None]
        async with self._db.engine.connect() as connection:
            total = (await connection.execute(select(func.count()).select_from(keys).where(*conditions))).scalar_one()
            query = (
                select(keys)
                .where(*conditions)
                .order_by(keys.c.created_at.desc(), keys.c.token)
                .limit(size)
                .offset((page - 1) * size)
            )
            rows = (await connection.execute(query)).mappings().all()
        return [_record(row) for row in rows], int(total)

    async def update(self, token: str, fields: KeyFields) -> KeyRecord | None:
        now = self._clock()
        values = {**_column_values(fields, now), "updated_at": now}
        try:
            async with self._db.engine.begin() as connection:
                result = await connection.execute(update(keys).where(keys.c.token == token).values(**values))
        except IntegrityError:
            raise KeyConflict(f"A key with key_alias {fields.key_alias!r} already exists.") from None
        if result.rowcount == 0:
            return None
        return await self.get(token)

    async def set_blocked(self, token: str, blocked: bool) -> KeyRecord | None:
        return await self.update(token, KeyFields(blocked=blocked))

    async def delete(self, tokens: Sequence[str]) -> list[str]:
        """The tokens that existed and are gone."""
        async with self._db.engine.begin() as connection:
            found = await connection.execute(select(keys.c.token).where(keys.c.token.in_(list(tokens))))
            existing = list(found.scalars())
            await connection.execute(sql_delete(keys).where(keys.c.token.in_(existing)))
        return existing
