"""The database connection: one async engine, made when first needed; Alembic migrations at start-up; a
reachability probe.

SQLite (aiosqlite) by default, a file beside the config; Postgres through asyncpg for several replicas. A SQLite
file also has two threads of its own (`sqlite_thread.py`), each with its connection: one writes the spend
batches; the other reads a session's key, the start-up revision and the readiness probe, so a session start never
waits behind a batch (WAL: readers do not wait for the writer). Through them a gateway serving sessions never
imports SQLAlchemy (~20 MB of RSS, issue #15); the engine, and SQLAlchemy with it, comes with the first admin
call or migration.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.accounts.database_url import (  # re-exported: the names this module always had
    DEFAULT_FILE,
    SQLITE_PREFIX,
    default_url,
    normalize_url,
    sqlite_file_of,
)
from gateway.accounts.sqlite_thread import SqliteThread, sqlite_pragmas

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["DEFAULT_FILE", "HEAD_REVISION", "MIGRATIONS", "VERSION_TABLE", "Database", "default_url", "normalize_url"]

log = logging.getLogger("livegate.database")

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration's revision (tests/accounts/test_database.py checks it against Alembic's own head): a
# database already there is not handed to Alembic, which would cost ~16 MB of RSS for the process's life.
HEAD_REVISION = "0001"
VERSION_TABLE = "livegate_alembic_version"  # not alembic_version: the database may be shared with another app
_REVISION_SQL = f"SELECT version_num FROM {VERSION_TABLE}"


def _engine(url: str) -> AsyncEngine:
    from sqlalchemy import event
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import StaticPool

    if not url.startswith(SQLITE_PREFIX):
        return create_async_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    if sqlite_file_of(url) is None:
        # One shared connection, or every pooled connection would see its own empty database.
        return create_async_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    engine = create_async_engine(url, connect_args={"timeout": 5})

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        sqlite_pragmas(dbapi_connection)

    return engine


class Database:
    """One engine for the process (made at first use); stores take connections from it."""

    def __init__(self, url: str) -> None:
        self.url = url  # normalized (database_url.py); may hold a password: never logged (see `describe`)
        self._engine: AsyncEngine | None = None
        file = sqlite_file_of(url)
        # A SQLite file's own threads: spend batches, each written in one hop; and look-ups. None otherwise.
        self.sqlite_thread = SqliteThread(file, "livegate-sqlite-writes") if file is not None else None
        self.sqlite_reader = SqliteThread(file, "livegate-sqlite-reads") if file is not None else None

    @property
    def engine(self) -> AsyncEngine:
        """The async engine; the first use imports SQLAlchemy."""
        if self._engine is None:
            self._engine = _engine(self.url)
        return self._engine

    @property
    def backend(self) -> str:
        return "sqlite" if self.url.startswith(SQLITE_PREFIX) else "postgresql"

    def describe(self) -> str:
        """For start-up lines: the URL without its password."""
        if self.url.startswith(SQLITE_PREFIX):
            return self.url  # a path: no password to hide
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)

    async def upgrade(self) -> None:
        """Apply every Alembic migration not yet applied (start-up and `livegate db upgrade`); Alembic is
        imported only when the stored revision is not HEAD_REVISION."""
        if await self.current_revision() == HEAD_REVISION:
            return
        async with self.engine.begin() as connection:
            await connection.run_sync(_upgrade)

    async def current_revision(self) -> str | None:
        """The revision stored in VERSION_TABLE, read with one plain query; None before the first migration."""
        if self.sqlite_reader is not None:
            rows = await self.sqlite_reader.run(_revision_rows)
        else:
            from sqlalchemy import text
            from sqlalchemy.exc import DBAPIError

            try:
                async with self.engine.connect() as connection:
                    rows = [tuple(row) for row in (await connection.execute(text(_REVISION_SQL))).all()]
            except DBAPIError:  # no version table yet: a new database
                rows = None
        return str(rows[0][0]) if rows is not None and len(rows) == 1 else None

    async def ping(self, timeout: float = 2.0) -> bool:
        """Reachable within `timeout` seconds (readiness)."""
        try:
            async with asyncio.timeout(timeout):
                if self.sqlite_reader is not None:
                    await self.sqlite_reader.run(lambda connection: connection.execute("SELECT 1").fetchall())
                else:
                    from sqlalchemy import text

                    async with self.engine.connect() as connection:
                        await connection.execute(text("SELECT 1"))
        except Exception as exc:  # any driver or network error means "not ready"; say which, never the URL
            log.warning("database unreachable: %s", type(exc).__name__)
            return False
        return True

    async def close(self) -> None:
        for thread in (self.sqlite_reader, self.sqlite_thread):
            if thread is not None:
                await thread.close()
        if self._engine is not None:
            await self._engine.dispose()


def _revision_rows(connection: sqlite3.Connection) -> list[tuple[Any, ...]] | None:
    try:
        return connection.execute(_REVISION_SQL).fetchall()
    except sqlite3.OperationalError:  # no version table yet: a new file
        return None


def _alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    from alembic import command

    command.upgrade(_alembic_config(connection), "head")
