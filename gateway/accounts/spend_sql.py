"""Spend rows as the database driver takes them, and the SQLite file's batch write: plain SQL, no SQLAlchemy.

The batch insert goes to the driver's executemany with values it takes as they are (SQLAlchemy's per-value
processing cost ~35 µs a row; measured with bench --keys): one statement per parameter style, with the table's
columns in order (`spend.py` checks them against `tables.py` when it is imported). On a SQLite file the whole
batch is one call on the file's own thread (`sqlite_thread.py` says why), so a gateway used with its master
key writes its spend rows without loading SQLAlchemy at all (`database.py`).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from gateway.accounts.spend_rows import TOKEN_FIELDS, KeySpend, SpendRow
from gateway.accounts.sqlite_keys import KEYS_TABLE
from gateway.accounts.sqlite_thread import from_sqlite_time, sqlite_time

if TYPE_CHECKING:
    from gateway.accounts.database import Database

SPEND_TABLE = "livegate_spend_logs"  # tables.spend_logs
# The spend table's columns in table order, by attribute (`tables.spend_logs.columns` keys) …
DRIVER_ORDER = (
    "request_id", "call_type", "session_id", "api_key", "key_alias", "user_id", "team_id", "model_group", "model",
    "status", "spend", *TOKEN_FIELDS, "start_time", "end_time", "duration_s", "turns", "close_code", "close_reason",
    "user_transcript", "assistant_transcript", "meta",
)  # fmt: skip
COLUMN_NAMES = (*DRIVER_ORDER[:-1], "metadata")  # … and by SQL name (the JSON column's attribute is `meta`)
MAX_LOOKUP = 500  # request ids per look-up (bound-parameter limits)


def insert_sql(paramstyle: str) -> str:
    """`INSERT … ON CONFLICT DO NOTHING` in the driver's own parameter style (`?` or `$1`)."""
    count = len(COLUMN_NAMES)
    if paramstyle == "numeric_dollar":
        marks = ", ".join(f"${n}" for n in range(1, count + 1))
    else:
        marks = ", ".join("?" * count)
    columns = ", ".join(f'"{name}"' for name in COLUMN_NAMES)
    return f"INSERT INTO {SPEND_TABLE} ({columns}) VALUES ({marks}) ON CONFLICT (request_id) DO NOTHING"


def driver_values(row: SpendRow, sqlite: bool) -> tuple[Any, ...]:
    """A row as the driver takes it, in DRIVER_ORDER: UTC times (text on SQLite), JSON as text. Spelled out,
    without a Python loop: this runs once per response (~2.7 µs; it was 4.2)."""
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
        sqlite_time(start) if sqlite else start,
        sqlite_time(end) if sqlite else end,
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


def charges(rows: Sequence[SpendRow]) -> dict[str, float]:
    """What the rows add to each key's spend."""
    added: dict[str, float] = defaultdict(float)
    for row in rows:
        if row.charged and row.api_key and row.spend:
            added[row.api_key] += row.spend
    return added


_SQLITE_INSERT = insert_sql("qmark")
_SQLITE_LOOKUP = f"SELECT request_id FROM {SPEND_TABLE} WHERE request_id IN "
_SQLITE_CHARGE = f"UPDATE {KEYS_TABLE} SET spend = spend + ? WHERE token = ? RETURNING spend, budget_reset_at"


class SqliteSpendWriter:
    """`SpendStore.write` for a SQLite file, on the file's own thread, without SQLAlchemy."""

    def __init__(self, database: Database) -> None:
        assert database.sqlite_thread is not None, "a SQLite file's database"
        self._thread = database.sqlite_thread

    async def write(self, rows: Sequence[SpendRow], *, retry: bool = True) -> list[KeySpend]:
        """Insert rows not yet stored and add their spend to their keys, in one transaction (see SpendStore)."""
        return await self._thread.run(write_sqlite, list(rows), retry)


def write_sqlite(connection: sqlite3.Connection, rows: list[SpendRow], retry: bool) -> list[KeySpend]:
    """The batch on the SQLite thread: the same statements as SpendStore's engine path, one transaction."""
    connection.execute("BEGIN IMMEDIATE")  # the write lock from the start: the look-up and the insert agree
    try:
        stored: set[str] = set()
        for start in range(0, len(rows), MAX_LOOKUP) if retry else ():
            ids = [row.request_id for row in rows[start : start + MAX_LOOKUP]]
            found = connection.execute(f"{_SQLITE_LOOKUP}({', '.join('?' * len(ids))})", ids)
            stored.update(request_id for (request_id,) in found)
        new = [row for row in rows if row.request_id not in stored]
        if new:
            connection.executemany(_SQLITE_INSERT, [driver_values(row, True) for row in new])
        totals = []
        for token, amount in charges(new).items():
            found_row = connection.execute(_SQLITE_CHARGE, (amount, token)).fetchone()
            if found_row is not None:
                reset = None if found_row[1] is None else from_sqlite_time(found_row[1])
                totals.append(KeySpend(token, amount, found_row[0], reset))
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return totals
