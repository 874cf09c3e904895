"""Spend logs: the row of one response or session, idempotent batch writes that also add to each key's spend,
and the queries behind `/spend/logs` and `/key/info` totals.

`request_id` is the primary key, so a batch retried after a timeout is counted once: rows already stored are
skipped, and only the others add to a key's spend, in the same transaction.

The batch insert goes to the driver's executemany with values it takes as they are (SQLAlchemy's per-value
processing cost ~35 µs a row; measured with bench --keys): one statement per dialect, built from the table. On a
SQLite file the whole batch is one call on the database's own SQLite thread (`sqlite_thread.py` says why).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import ColumnElement, func, select, update

from gateway.accounts.database import Database
from gateway.accounts.spend_rows import (  # re-exported: the names this module always had
    PASSTHROUGH,
    RESPONSE,
    SESSION,
    TOKEN_FIELDS,
    KeySpend,
    SpendQuery,
    SpendRow,
)
from gateway.accounts.tables import keys, spend_logs

__all__ = ["PASSTHROUGH", "RESPONSE", "SESSION", "TOKEN_FIELDS", "KeySpend", "SpendQuery", "SpendRow", "SpendStore",
           "query_conditions"]

_MAX_BATCH = 500  # request ids per look-up (bound-parameter limits)
_COLUMNS = tuple(column.name for column in spend_logs.columns)  # in table order; "metadata" is the JSON one
_KEYS = tuple(column.key for column in spend_logs.columns)  # the same, as SpendRow.columns() names them


def query_conditions(query: SpendQuery) -> list[ColumnElement[bool]]:
    """The `/spend/logs` filters as SQL conditions."""
    c = spend_logs.c
    found: list[ColumnElement[bool]] = []
    for column, value in ((c.api_key, query.api_key), (c.key_alias, query.key_alias), (c.user_id, query.user_id)):
        if value is not None:
            found.append(column == value)
    if query.request_id is not None:
        found.append(c.request_id == query.request_id)
    if query.start is not None:
        found.append(c.start_time >= query.start)
    if query.end is not None:
        found.append(c.start_time < query.end)
    return found


def _insert_sql(paramstyle: str) -> str:
    """`INSERT … ON CONFLICT DO NOTHING` in the driver's own parameter style (`?` or `$1`)."""
    count = len(_COLUMNS)
    if paramstyle == "numeric_dollar":
        marks = ", ".join(f"${n}" for n in range(1, count + 1))
    else:
        marks = ", ".join("?" * count)
    columns = ", ".join(f'"{name}"' for name in _COLUMNS)
    return f"INSERT INTO {spend_logs.name} ({columns}) VALUES ({marks}) ON CONFLICT (request_id) DO NOTHING"


def _driver_values(row: SpendRow, sqlite: bool) -> tuple[Any, ...]:
    """A row as the driver takes it, in the table's column order (`_DRIVER_ORDER`): UTC times (text on SQLite),
    JSON as text. Spelled out, without a Python loop: this runs once per response (~2.7 µs; it was 4.2)."""
    start, end = _utc(row.start_time), _utc(row.end_time)
    metadata = row.metadata
    return (
        row.request_id,
        row.call_type,
        row.session_id,
        row.api_key,
        row.key_alias,
        row.user_id,
        row.team_id,
        row.model_group,
        row.model,
        row.status,
        row.spend,
        *map(row.tokens.get, TOKEN_FIELDS, _ZEROS),
        _sqlite_time(start) if sqlite else start,
        _sqlite_time(end) if sqlite else end,
        (end - start).total_seconds(),
        row.turns,
        row.close_code,
        row.close_reason,
        row.user_transcript,
        row.assistant_transcript,
        orjson.dumps(metadata).decode() if metadata else "{}",
    )


_ZEROS = (0,) * len(TOKEN_FIELDS)  # a token count the row does not have


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is dt.UTC else moment.astimezone(dt.UTC)


def _sqlite_time(moment: dt.datetime) -> str:
    """SQLAlchemy's SQLite DATETIME text for a UTC time: no zone, microseconds always (the column is compared as
    text)."""
    return moment.isoformat(" ", "microseconds")[:26]


_DRIVER_ORDER = (
    "request_id", "call_type", "session_id", "api_key", "key_alias", "user_id", "team_id", "model_group", "model",
    "status", "spend", *TOKEN_FIELDS, "start_time", "end_time", "duration_s", "turns", "close_code", "close_reason",
    "user_transcript", "assistant_transcript", "meta",
)  # fmt: skip
if _DRIVER_ORDER != _KEYS:  # a column added to tables.py must be added above too
    raise RuntimeError(f"spend_logs columns {_KEYS} do not match the driver order {_DRIVER_ORDER}")


class SpendStore:
    """The spend log table, and the spend column of the keys table."""

    def __init__(self, database: Database) -> None:
        self._db = database  # the shared engine

    async def write(self, rows: Sequence[SpendRow], *, retry: bool = True) -> list[KeySpend]:
        """Insert rows not yet stored and add their spend to their keys, in one transaction.

        `retry`: some rows may be stored already (an earlier attempt's commit may have landed unseen), so the
        stored ones are looked up and skipped. A first attempt (`retry=False`) skips that look-up.
        """
        if self._db.sqlite_thread is not None:
            return await self._db.sqlite_thread.run(_write_sqlite, list(rows), retry)
        added: dict[str, float] = defaultdict(float)
        async with self._db.engine.begin() as connection:
            existing: set[str] = set()
            for start in range(0, len(rows), _MAX_BATCH) if retry else ():
                ids = [row.request_id for row in rows[start : start + _MAX_BATCH]]
                request_id = spend_logs.c.request_id
                found = await connection.execute(select(request_id).where(request_id.in_(ids)))
                existing.update(found.scalars())
            new = [row for row in rows if row.request_id not in existing]
            if new:
                sqlite, insert = connection.dialect.name == "sqlite", _insert_sql(connection.dialect.paramstyle)
                await connection.exec_driver_sql(insert, [_driver_values(r, sqlite) for r in new])
            for token, amount in _charges(new).items():
                added[token] += amount
            totals = []
            for token, amount in added.items():
                result = await connection.execute(
                    update(keys)
                    .where(keys.c.token == token)
                    .values(spend=keys.c.spend + amount)
                    .returning(keys.c.spend, keys.c.budget_reset_at)
                )
                stored = result.first()
                if stored is not None:
                    totals.append(KeySpend(token, amount, stored.spend, stored.budget_reset_at))
        return totals

    async def logs(self, query: SpendQuery, *, page: int, size: int) -> tuple[list[dict[str, Any]], int]:
        """One page (1-based) of rows, newest first, and how many match."""
        conditions = query_conditions(query)
        async with self._db.engine.connect() as connection:
            count = select(func.count()).select_from(spend_logs).where(*conditions)
            total = (await connection.execute(count)).scalar_one()
            rows = await connection.execute(
                select(spend_logs)
                .where(*conditions)
                .order_by(spend_logs.c.start_time.desc(), spend_logs.c.request_id)
                .limit(size)
                .offset((page - 1) * size)
            )
            return [_as_json(row) for row in rows.mappings()], int(total)

    async def totals(self, token: str) -> dict[str, Any]:
        """A key's lifetime usage (every budget period): responses, sessions, USD and tokens by modality."""
        c = spend_logs.c
        sums = [func.coalesce(func.sum(getattr(c, name)), 0).label(name) for name in TOKEN_FIELDS]
        query = select(
            func.count().label("responses"), func.coalesce(func.sum(c.spend), 0.0).label("spend"), *sums
        ).where(c.api_key == token, c.call_type != SESSION)
        sessions = select(func.count()).where(c.api_key == token, c.call_type == SESSION)
        async with self._db.engine.connect() as connection:
            row = (await connection.execute(query)).mappings().one()
            session_count = (await connection.execute(sessions)).scalar_one()
        return {**{k: (float(v) if k == "spend" else int(v)) for k, v in row.items()}, "sessions": int(session_count)}


def _charges(rows: Sequence[SpendRow]) -> dict[str, float]:
    """What the rows add to each key's spend."""
    added: dict[str, float] = defaultdict(float)
    for row in rows:
        if row.charged and row.api_key and row.spend:
            added[row.api_key] += row.spend
    return added


_SQLITE_INSERT = _insert_sql("qmark")
_SQLITE_LOOKUP = f"SELECT request_id FROM {spend_logs.name} WHERE request_id IN "
_SQLITE_CHARGE = f"UPDATE {keys.name} SET spend = spend + ? WHERE token = ? RETURNING spend, budget_reset_at"


def _write_sqlite(connection: sqlite3.Connection, rows: list[SpendRow], retry: bool) -> list[KeySpend]:
    """`SpendStore.write` on the SQLite thread: the same statements, in one transaction, in one hop."""
    connection.execute("BEGIN IMMEDIATE")  # the write lock from the start: the look-up and the insert agree
    try:
        stored: set[str] = set()
        for start in range(0, len(rows), _MAX_BATCH) if retry else ():
            ids = [row.request_id for row in rows[start : start + _MAX_BATCH]]
            found = connection.execute(f"{_SQLITE_LOOKUP}({', '.join('?' * len(ids))})", ids)
            stored.update(request_id for (request_id,) in found)
        new = [row for row in rows if row.request_id not in stored]
        if new:
            connection.executemany(_SQLITE_INSERT, [_driver_values(row, True) for row in new])
        totals = []
        for token, amount in _charges(new).items():
            found_row = connection.execute(_SQLITE_CHARGE, (amount, token)).fetchone()
            if found_row is not None:
                reset_at = found_row[1]  # SQLAlchemy's DATETIME text, UTC without a zone (tables.UtcDateTime)
                reset = None if reset_at is None else dt.datetime.fromisoformat(reset_at).replace(tzinfo=dt.UTC)
                totals.append(KeySpend(token, amount, found_row[0], reset))
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return totals


def _as_json(row: Any) -> dict[str, Any]:
    """A row with LiteLLM's field names where it has them (startTime, endTime, user)."""
    out = {name: row[name] for name in ("request_id", "call_type", "session_id", "api_key", "key_alias", "team_id")}
    out |= {
        "user": row["user_id"],
        "model_group": row["model_group"],
        "model": row["model"],
        "status": row["status"],
        "spend": row["spend"],
        "startTime": row["start_time"].isoformat(),
        "endTime": row["end_time"].isoformat(),
        "duration_s": row["duration_s"],
        "turns": row["turns"],
        "close_code": row["close_code"],
        "close_reason": row["close_reason"],
        "messages": row["user_transcript"],
        "response": row["assistant_transcript"],
        "metadata": row["meta"],
    }
    return out | {name: row[name] for name in TOKEN_FIELDS}
