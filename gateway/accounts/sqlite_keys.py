"""A virtual key's record read from a SQLite file on its own thread, without SQLAlchemy: the look-up every
session with a virtual key makes at its start (`KeyStore.get` does the same through the engine).

With it, a gateway on the default SQLite file serves virtual keys without loading SQLAlchemy (~20 MB of RSS,
issue #15); only the admin API and migrations load it. Values are read back as SQLAlchemy's types store them on
SQLite (`tables.py`): JSON as text, timestamps as UTC text without a zone, booleans as 0/1.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

import orjson

from gateway.accounts.key_records import KeyRecord, budget_reset_due
from gateway.accounts.sqlite_thread import from_sqlite_time, sqlite_time

KEYS_TABLE = "livegate_keys"  # tables.keys
# KeyRecord's fields in order, by column name (`keys.py` checks them against `tables.py` when it is imported).
COLUMNS = (
    "token", "key_name", "key_alias", "models", "max_budget", "spend", "budget_duration", "budget_reset_at",
    "max_parallel_requests", "rpm_limit", "expires", "user_id", "team_id", "blocked", "created_at", "updated_at",
    "metadata",
)  # fmt: skip
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM {KEYS_TABLE} WHERE token = ?"
_RESET = f"UPDATE {KEYS_TABLE} SET spend = 0.0, budget_reset_at = ? WHERE token = ? AND budget_reset_at = ?"


def read_key(connection: sqlite3.Connection, token: str, now: dt.datetime) -> KeyRecord | None:
    """The record, its budget reset first if its period is over (a compare-and-set on the old reset time, so
    of several processes noticing together, one resets)."""
    row = connection.execute(_SELECT, (token,)).fetchone()
    if row is None:
        return None
    record = _record(row)
    next_reset = budget_reset_due(record, now)
    if next_reset is None:
        return record
    assert record.budget_reset_at is not None
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.execute(_RESET, (sqlite_time(next_reset), token, sqlite_time(record.budget_reset_at)))
        row = connection.execute(_SELECT, (token,)).fetchone()
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return _record(row) if row is not None else None


def _record(row: tuple[Any, ...]) -> KeyRecord:
    (token, key_name, key_alias, models, max_budget, spend, budget_duration, budget_reset_at, parallel, rpm,
     expires, user_id, team_id, blocked, created_at, updated_at, metadata) = row  # fmt: skip
    return KeyRecord(
        token=token,
        key_name=key_name,
        key_alias=key_alias,
        models=tuple(orjson.loads(models) or ()) if models is not None else (),
        max_budget=max_budget,
        spend=spend,
        budget_duration=budget_duration,
        budget_reset_at=_time(budget_reset_at),
        max_parallel_requests=parallel,
        rpm_limit=rpm,
        expires=_time(expires),
        user_id=user_id,
        team_id=team_id,
        blocked=bool(blocked),
        created_at=from_sqlite_time(created_at),
        updated_at=from_sqlite_time(updated_at),
        metadata=dict(orjson.loads(metadata) or {}) if metadata is not None else {},
    )


def _time(stored: str | None) -> dt.datetime | None:
    return None if stored is None else from_sqlite_time(stored)
