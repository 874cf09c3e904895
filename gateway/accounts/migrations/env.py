"""Alembic environment: runs on the connection `gateway/accounts/database.py` hands over (sync, via run_sync)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from gateway.accounts.database import VERSION_TABLE
from gateway.accounts.tables import metadata

# Replicas starting together on one Postgres: one migrates, the others wait for it (a transaction-scoped lock).
_MIGRATION_LOCK = 7_402_513_310


def run() -> None:
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK})
        context.run_migrations()


run()
