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

KEYS_TABLE = "livegate_keys"  # tables.keys
# KeyRecord's fields in order, by column name (`metadata` is the record's `metadata`, the table's `meta`).
_COLUMNS = (
    "token", "key_name", "key_alias", "models", "max_budget", "spend", "budget_duration", "budget_reset_at",
    "max_parallel_requests", "rpm_limit", "expires", "user_id", "team_id", "blocked", "created_at", "updated_at",
    "metadata",
)  # fmt: skip
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM {KEYS_TABLE} WHERE token = ?"
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
        connection.execute(_RESET, (_text(next_reset), token, _text(record.budget_reset_at)))
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
        created_at=_required_time(created_at),
        updated_at=_required_time(updated_at),
        metadata=dict(orjson.loads(metadata) or {}) if metadata is not None else {},
    )


def _time(stored: str | None) -> dt.datetime | None:
    return None if stored is None else _required_time(stored)


def _required_time(stored: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stored).replace(tzinfo=dt.UTC)


def _text(moment: dt.datetime) -> str:
    """As SQLAlchemy's SQLite DATETIME stores a UTC time (the reset's compare-and-set compares this text)."""
    return moment.astimezone(dt.UTC).isoformat(" ", "microseconds")[:26]
