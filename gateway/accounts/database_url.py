"""Database URLs: which one a config means, in the async driver's form, read without SQLAlchemy for SQLite.

A gateway on the default SQLite file imports SQLAlchemy only when the admin API or a migration needs it (`database.py`),
so reading its URL must not (issue #15: idle RSS). Postgres URLs are read by SQLAlchemy itself (a Postgres
gateway loads it anyway).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

SQLITE_PREFIX = "sqlite+aiosqlite:///"  # every SQLite URL, normalized
DEFAULT_FILE = "livegate.db"
MEMORY = ":memory:"
# Drivers people write in DATABASE_URL → the async driver we ship.
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}
_EXAMPLE = "expected a URL such as sqlite+aiosqlite:///livegate.db or postgresql+asyncpg://…"


def default_url(config_dir: Path) -> str:
    return f"{SQLITE_PREFIX}{config_dir / DEFAULT_FILE}"


def normalize_url(url: str, config_dir: Path) -> str:
    """An async SQLAlchemy URL: `postgres://` and `sqlite://` get their async driver, and a relative SQLite
    path is taken from the config's directory (not the working directory)."""
    scheme, separator, rest = url.partition("://")
    if not separator or not scheme or any(c.isspace() for c in url):
        raise ValueError(_EXAMPLE)
    driver = _ASYNC_DRIVERS.get(scheme.lower())
    if driver is None:
        raise ValueError(f"unsupported database {scheme!r}: use sqlite+aiosqlite or postgresql+asyncpg")
    if driver.startswith("sqlite"):
        # As SQLAlchemy reads it: sqlite:///relative.db, sqlite:////absolute.db, sqlite:// (memory); no host.
        host, _, database = rest.partition("/")
        if host:
            raise ValueError(f"a SQLite URL has no host: {_EXAMPLE}")
        database = unquote(database.partition("?")[0]) or MEMORY
        if database != MEMORY and not Path(database).is_absolute():
            database = str(config_dir / database)
        return f"{SQLITE_PREFIX}{database}"
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(_EXAMPLE) from None
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def sqlite_file_of(url: str) -> str | None:
    """The file of a normalized SQLite URL; None for Postgres and for `:memory:`."""
    if not url.startswith(SQLITE_PREFIX):
        return None
    name = url.removeprefix(SQLITE_PREFIX)
    return None if name in ("", MEMORY) else name
