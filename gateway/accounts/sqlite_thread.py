"""A SQLite file's own thread: work that takes several statements runs there in one hop, on a plain `sqlite3`
connection that thread alone uses; and timestamps as SQLAlchemy keeps them in SQLite, for that work to read and
write.

Through SQLAlchemy's async engine each statement is its own round trip to aiosqlite's thread, plus the pool's
checkout and reset: a spend batch (BEGIN, look-up, INSERT, an UPDATE per key, COMMIT) cost ~1.5 ms beyond its
rows (bench --keys, issue #10). Postgres has no such thread (asyncpg), and `:memory:` cannot have one (a second
connection would see another, empty database): both keep the engine alone.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Concatenate, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


def sqlite_pragmas(connection: Any) -> None:
    """Every connection to the file: WAL (readers such as the admin API never wait for the spend writer) and
    NORMAL sync (safe with WAL: a power cut may lose the last commits, never corrupt the file)."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def sqlite_time(moment: dt.datetime) -> str:
    """A time as `tables.UtcDateTime` stores it on SQLite: UTC text without a zone, microseconds always (the
    columns are compared as text: a budget reset's compare-and-set, the spend logs' date filters)."""
    if moment.tzinfo is not dt.UTC:
        moment = moment.astimezone(dt.UTC)
    return moment.isoformat(" ", "microseconds")[:26]


def from_sqlite_time(stored: str) -> dt.datetime:
    """Such a text read back timezone-aware, as `tables.UtcDateTime` reads it."""
    return dt.datetime.fromisoformat(stored).replace(tzinfo=dt.UTC)


class SqliteThread:
    """One worker thread and its connection to one SQLite file; calls run one at a time, in order."""

    def __init__(self, path: str, name: str = "livegate-sqlite") -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._connection: sqlite3.Connection | None = None  # opened on the thread, at its first call

    async def run(self, work: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`work(connection, …)` on the thread. The connection is in autocommit mode (`isolation_level=None`):
        `work` writes its own BEGIN and COMMIT. A cancelled call still finishes on the thread; the next waits."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: work(self._connect(), *args, **kwargs))

    async def close(self) -> None:
        """After any call still running: close the connection and let the thread go."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._disconnect)
        self._executor.shutdown(wait=False)

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            # timeout: wait up to 5 s for another process's write lock (replicas sharing one file), as the
            # engine's connections do.
            connection = sqlite3.connect(self._path, timeout=5, isolation_level=None)
            sqlite_pragmas(connection)
            self._connection = connection
        return self._connection

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
