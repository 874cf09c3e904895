"""The database connection: which URL, one async engine, Alembic migrations at start-up, a reachability probe.

SQLite (aiosqlite) by default, a file beside the config; Postgres through asyncpg for several replicas.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from gateway.accounts.sqlite_thread import SqliteThread, sqlite_pragmas

log = logging.getLogger("livegate.database")

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration's revision (tests/accounts/test_database.py checks it against Alembic's own head): a
# database already there is not handed to Alembic, which would cost ~16 MB of RSS for the process's life.
HEAD_REVISION = "0001"
VERSION_TABLE = "livegate_alembic_version"  # not alembic_version: the database may be shared with another app
DEFAULT_FILE = "livegate.db"
# Drivers people write in DATABASE_URL → the async driver we ship.
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


def default_url(config_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{config_dir / DEFAULT_FILE}"


def normalize_url(url: str, config_dir: Path) -> str:
    """An async SQLAlchemy URL: `postgres://` and `sqlite://` get their async driver, and a relative SQLite
    path is taken from the config's directory (not the working directory)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError("expected a URL such as sqlite+aiosqlite:///livegate.db or postgresql+asyncpg://…") from None
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ValueError(f"unsupported database {parsed.drivername!r}: use sqlite+aiosqlite or postgresql+asyncpg")
    if driver.startswith("sqlite"):
        database = parsed.database or ":memory:"
        if database != ":memory:" and not Path(database).is_absolute():
            database = str(config_dir / database)
        return f"{driver}:///{database}"
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def _engine(url: str) -> AsyncEngine:
    parsed: URL = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    if parsed.database in (None, "", ":memory:"):
        # One shared connection, or every pooled connection would see its own empty database.
        return create_async_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    engine = create_async_engine(url, connect_args={"timeout": 5})

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        sqlite_pragmas(dbapi_connection)

    return engine


def _sqlite_file(url: str) -> str | None:
    """The file of a SQLite URL; None for Postgres and for `:memory:`."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


class Database:
    """One engine for the process; stores take connections from it."""

    def __init__(self, url: str) -> None:
        self.url = url  # may hold a password: never logged (see `describe`)
        self.engine = _engine(url)
        file = _sqlite_file(url)
        # A SQLite file's own thread for multi-statement writes in one hop (spend batches); None otherwise.
        self.sqlite_thread = SqliteThread(file) if file is not None else None

    @property
    def backend(self) -> str:
        return self.engine.dialect.name  # "sqlite" or "postgresql"

    def describe(self) -> str:
        """For start-up lines: the URL without its password."""
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
        try:
            async with self.engine.connect() as connection:
                rows = (await connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))).all()
        except DBAPIError:  # no version table yet: a new database
            return None
        return str(rows[0][0]) if len(rows) == 1 else None

    async def ping(self, timeout: float = 2.0) -> bool:
        """Reachable within `timeout` seconds (readiness)."""
        try:
            async with asyncio.timeout(timeout), self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as exc:  # any driver or network error means "not ready"; say which, never the URL
            log.warning("database unreachable: %s", type(exc).__name__)
            return False
        return True

    async def close(self) -> None:
        if self.sqlite_thread is not None:
            await self.sqlite_thread.close()
        await self.engine.dispose()


def _alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    from alembic import command

    command.upgrade(_alembic_config(connection), "head")
