"""A migrated database (SQLite file or Postgres) per test, closed afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateway.accounts.database import Database


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    await db.upgrade()
    yield db
    await db.close()
