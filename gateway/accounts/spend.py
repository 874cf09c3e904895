"""Spend logs: the row of one response or session, idempotent batch writes that also add to each key's spend,
and the queries behind `/spend/logs` and `/key/info` totals.

`request_id` is the primary key, so a batch retried after a timeout is counted once: rows already stored are
skipped, and only the others add to a key's spend, in the same transaction.

Rows reach the driver as plain tuples (`spend_sql.py`, which also writes a SQLite file's batches on its own
thread); this module keeps the engine path (Postgres, `:memory:`) and the queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
from gateway.accounts.spend_sql import (
    COLUMN_NAMES,
    DRIVER_ORDER,
    MAX_LOOKUP,
    SPEND_TABLE,
    SqliteSpendWriter,
    charges,
    driver_values,
    insert_sql,
)
from gateway.accounts.sqlite_keys import KEYS_TABLE
from gateway.accounts.tables import keys, spend_logs

__all__ = ["PASSTHROUGH", "RESPONSE", "SESSION", "TOKEN_FIELDS", "KeySpend", "SpendQuery", "SpendRow", "SpendStore",
           "query_conditions"]

_COLUMNS = tuple(column.name for column in spend_logs.columns)  # in table order; "metadata" is the JSON one
_KEYS = tuple(column.key for column in spend_logs.columns)  # the same, as SpendRow.columns() names them
# spend_sql.py writes rows without SQLAlchemy, from its own copy of the names: a column added to tables.py must be
# added there too.
if (_KEYS, _COLUMNS, spend_logs.name, keys.name) != (DRIVER_ORDER, COLUMN_NAMES, SPEND_TABLE, KEYS_TABLE):
    raise RuntimeError(f"spend_logs columns {_KEYS} do not match spend_sql.DRIVER_ORDER {DRIVER_ORDER}")


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


class SpendStore:
    """The spend log table, and the spend column of the keys table."""

    def __init__(self, database: Database) -> None:
        self._db = database  # the shared engine
        self._sqlite = SqliteSpendWriter(database) if database.sqlite_thread is not None else None

    async def write(self, rows: Sequence[SpendRow], *, retry: bool = True) -> list[KeySpend]:
        """Insert rows not yet stored and add their spend to their keys, in one transaction.

        `retry`: some rows may be stored already (an earlier attempt's commit may have landed unseen), so the
        stored ones are looked up and skipped. A first attempt (`retry=False`) skips that look-up.
        """
        if self._sqlite is not None:  # a SQLite file: one hop to its own thread
            return await self._sqlite.write(rows, retry=retry)
        async with self._db.engine.begin() as connection:
            existing: set[str] = set()
            for start in range(0, len(rows), MAX_LOOKUP) if retry else ():
                ids = [row.request_id for row in rows[start : start + MAX_LOOKUP]]
                request_id = spend_logs.c.request_id
                found = await connection.execute(select(request_id).where(request_id.in_(ids)))
                existing.update(found.scalars())
            new = [row for row in rows if row.request_id not in existing]
            if new:
                sqlite, insert = connection.dialect.name == "sqlite", insert_sql(connection.dialect.paramstyle)
                await connection.exec_driver_sql(insert, [driver_values(r, sqlite) for r in new])
            totals = []
            for token, amount in charges(new).items():
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
