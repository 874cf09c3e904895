"""gateway/accounts/database.py: URLs, Alembic migrations at start-up and `livegate db upgrade`, reachability."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from gateway.accounts.database import HEAD_REVISION, MIGRATIONS, VERSION_TABLE, Database, default_url, normalize_url
from gateway.accounts.tables import metadata
from gateway.cli import main
from tests.support.databases import PostgresServer


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///spend.db", "sqlite+aiosqlite:////cfg/spend.db"),
        ("sqlite+aiosqlite:////var/lib/lg.db", "sqlite+aiosqlite:////var/lib/lg.db"),
        ("sqlite+aiosqlite:///:memory:", "sqlite+aiosqlite:///:memory:"),
        ("postgres://u:pw@db:5432/lg", "postgresql+asyncpg://u:pw@db:5432/lg"),
        ("postgresql://u@db/lg", "postgresql+asyncpg://u@db/lg"),
    ],
)
def test_urls_get_async_drivers_and_sqlite_paths_from_the_config_dir(url: str, expected: str) -> None:
    """Plain driver names get their async driver; a relative SQLite file sits beside the config."""
    assert normalize_url(url, Path("/cfg")) == expected
    assert default_url(Path("/cfg")) == "sqlite+aiosqlite:////cfg/livegate.db"


@pytest.mark.parametrize("url", ["mysql://db/x", "not a url"])
def test_unsupported_urls_are_refused(url: str) -> None:
    """Only SQLite and Postgres are supported; the message says which to use."""
    with pytest.raises(ValueError, match="sqlite"):
        normalize_url(url, Path("/cfg"))


async def test_migrations_build_exactly_the_tables(database_url: str) -> None:
    """Upgrading twice is a no-op, and the migrated schema matches tables.py (no autogenerate diff)."""
    database = Database(database_url)
    try:
        await database.upgrade()
        await database.upgrade()
        assert await database.current_revision() == "0001"
        async with database.engine.connect() as connection:
            diff = await connection.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), metadata))
        assert [d for d in diff if not (d[0] == "remove_table" and d[1].name == VERSION_TABLE)] == []
        assert await database.ping()
    finally:
        await database.close()


def test_head_revision_is_alembics_head() -> None:
    """HEAD_REVISION, what start-up compares the stored revision with, is the newest migration's."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD_REVISION]


_START_AT_HEAD = """
import asyncio, sys
from gateway.accounts.database import Database
async def main():
    database = Database(sys.argv[1])
    await database.upgrade()
    print(await database.current_revision(), "alembic" in sys.modules)
    await database.close()
asyncio.run(main())
"""


def test_a_database_at_head_starts_without_alembic(tmp_path: Path) -> None:
    """A fresh file is migrated through Alembic; once at head, start-up reads the revision and leaves Alembic
    unimported (its ~16 MB of RSS, issue #15)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'lg.db'}"
    runs = [subprocess.run([sys.executable, "-c", _START_AT_HEAD, url], capture_output=True, text=True, timeout=60)
            for _ in range(2)]
    assert [run.stdout.split() for run in runs] == [[HEAD_REVISION, "True"], [HEAD_REVISION, "False"]], runs[1].stderr


def test_db_upgrade_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`livegate db upgrade --config` migrates the config's database (the default SQLite file) and says so."""
    path = tmp_path / "config.yaml"
    path.write_text(
        "model_list:\n  - {model_name: a, litellm_params: {model: emulator/gemini-3.1-flash-live-preview}}\n"
        "general_settings: {master_key: sk-m}\n"
    )
    assert main(["db", "upgrade", "--config", str(path)]) == 0
    assert "livegate.db is at revision 0001" in capsys.readouterr().out
    assert (tmp_path / "livegate.db").exists()


def test_db_upgrade_without_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No master key and no database_url: there is nothing to migrate, and the command says why."""
    path = tmp_path / "config.yaml"
    path.write_text("model_list:\n  - {model_name: a, litellm_params: {model: emulator/gemini-2.0-flash-live-001}}\n")
    assert main(["db", "upgrade", "--config", str(path)]) == 2
    assert "no database configured" in capsys.readouterr().err


async def test_ping_is_false_when_postgres_refuses(postgres: PostgresServer) -> None:
    """A database that refuses connections is reported unreachable, without its URL in the log."""
    name, url = postgres.new_database()
    database = Database(url)
    try:
        await database.upgrade()
        postgres.psql(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false;")
        postgres.psql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';")
        assert not await database.ping()
        postgres.psql(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true;")
        assert await database.ping()
    finally:
        await database.close()
