"""gateway/accounts/spend_queue.py: batched writes, a real database outage ridden out, a bounded queue, the
shutdown flush, and the budget ledger kept in step."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import sqlite3
from pathlib import Path

import pytest

from gateway.accounts.database import Database
from gateway.accounts.keys import KeyRecord, KeyStore
from gateway.accounts.ledger import SpendLedger
from gateway.accounts.spend import KeySpend, SpendQuery, SpendStore
from gateway.accounts.spend_queue import SpendQueue
from schemas.admin import KeyGenerate
from tests.accounts.test_spend import row
from tests.support.databases import PostgresServer
from tests.support.waits import eventually


async def test_outage_keeps_rows_and_writes_them_once_back(
    postgres: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Postgres refuses connections: rows stay queued (one warning), then are written once it is back."""
    name, url = postgres.new_database()
    database = Database(url)
    await database.upgrade()
    _, key = await KeyStore(database).create(KeyGenerate(max_budget=10))
    ledger = SpendLedger()
    store = SpendStore(database)
    queue = SpendQueue(store, interval=0.05, max_rows=100, on_written=ledger.written)
    writer = asyncio.create_task(queue.run())
    try:
        postgres.psql(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false;")
        postgres.psql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';")
        for n in range(3):
            queue.put(row(f"resp_{n}", key.token, 0.5))
            ledger.charge(key.token, 0.5)
        def warned() -> list[logging.LogRecord]:
            return [r for r in caplog.records if "cannot be written" in r.getMessage()]

        await eventually(lambda: bool(warned()), "a failed write attempt was logged")
        await asyncio.sleep(0.5)  # more attempts (every 0.05 s) fail meanwhile: still one warning
        assert queue.pending == 3 and ledger.spent(key.token) == 1.5
        warnings = warned()
        assert len(warnings) == 1 and url not in warnings[0].getMessage()
        postgres.psql(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true;")
        for _ in range(200):
            if queue.pending == 0:
                break
            await asyncio.sleep(0.05)
        assert queue.pending == 0 and queue.written == 3
        assert (await store.logs(SpendQuery(), page=1, size=10))[1] == 3
        assert (await KeyStore(database).get(key.token)).spend == 1.5  # type: ignore[union-attr]
        assert ledger.spent(key.token) == 1.5  # stored now, no longer unwritten: counted once
    finally:
        writer.cancel()
        await queue.close(timeout=2)
        await database.close()


async def test_full_queue_drops_oldest_and_says_what(database: Database, caplog: pytest.LogCaptureFixture) -> None:
    """Past max_rows the oldest waiting row is dropped, and its line names it (never the key)."""
    queue = SpendQueue(SpendStore(database), interval=60, max_rows=100)
    for n in range(102):
        queue.put(row(f"resp_{n}", "d" * 64, 0.01))
    assert queue.pending == 100 and queue.dropped == 2
    lost = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(lost) == 2 and "resp_0 " in lost[0] and "resp_1 " in lost[1] and "d" * 64 not in lost[0]
    await queue.close()
    assert queue.written == 100


async def test_close_logs_rows_it_cannot_write(postgres: PostgresServer, caplog: pytest.LogCaptureFixture) -> None:
    """Shutdown with the database gone: every queued row gets an error line, nothing hangs."""
    name, url = postgres.new_database()
    database = Database(url)
    await database.upgrade()
    queue = SpendQueue(SpendStore(database), interval=0.05, max_rows=100)
    postgres.psql(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false;")
    postgres.psql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';")
    queue.put(row("resp_a", "", 0.1))
    queue.put(row("resp_b", "", 0.1))
    await queue.close(timeout=0.5)
    lost = [r.getMessage() for r in caplog.records if "lost at shutdown" in r.getMessage()]
    assert len(lost) == 2 and "resp_a" in lost[0] and "resp_b" in lost[1] and queue.pending == 0
    postgres.psql(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true;")
    await database.close()


def test_ledger_counts_unwritten_spend_once() -> None:
    """Stored + unwritten; a write moves spend from one to the other; a new budget period starts from 0."""
    ledger = SpendLedger()
    ledger.seen("k", 1.0, None)
    assert ledger.charge("k", 0.5) == 1.5
    ledger.seen("k", 0.8, None)  # a stale read cannot lower it
    assert ledger.spent("k") == 1.5
    ledger.written([row("r", "k", 0.5)], [KeySpend("k", 0.5, 1.5, None)])
    assert ledger.spent("k") == 1.5
    ledger.seen("k", 0.0, dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    assert ledger.spent("k") == 0.0


async def test_a_write_cancelled_at_shutdown_is_written_once(postgres: PostgresServer) -> None:
    """Shutdown cancels the writer task while its batch waits on the database (here: on a table lock another
    connection holds); close() writes that batch, once, instead of logging it lost."""
    from sqlalchemy import text

    database = Database(postgres.new_database()[1])
    try:
        key, queue = await _three_rows_queued(database)
        async with database.engine.connect() as locker:
            await locker.execute(text("LOCK TABLE livegate_spend_logs IN ACCESS EXCLUSIVE MODE"))
            await _cancel_mid_write(queue)  # the INSERT waits on the lock
            await locker.rollback()  # the lock goes
        await _written_once(database, queue, key)
    finally:
        await database.close()


async def test_a_sqlite_write_cancelled_at_shutdown_is_written_once(tmp_path: Path) -> None:
    """The same on a SQLite file, whose batches run on the database's own thread: the cancelled call goes on
    there, waiting for another connection's write lock, and commits once the lock goes; close() then finds its
    rows stored and writes nothing twice."""
    path = tmp_path / "spend.db"
    database = Database(f"sqlite+aiosqlite:///{path}")
    locker = sqlite3.connect(path, isolation_level=None)
    try:
        key, queue = await _three_rows_queued(database)
        locker.execute("BEGIN IMMEDIATE")  # another writer holds the file's write lock
        await _cancel_mid_write(queue)  # its BEGIN waits on the lock, on the SQLite thread
        locker.execute("ROLLBACK")  # the lock goes: the cancelled call commits
        await _written_once(database, queue, key)
    finally:
        locker.close()
        await database.close()


async def _three_rows_queued(database: Database) -> tuple[KeyRecord, SpendQueue]:
    """A migrated database, a key with a budget, and a queue holding three of its rows ($1.50 in all)."""
    await database.upgrade()
    _, key = await KeyStore(database).create(KeyGenerate(max_budget=10))
    queue = SpendQueue(SpendStore(database), interval=0.05, max_rows=100)
    for n in range(3):
        queue.put(row(f"resp_{n}", key.token, 0.5))
    return key, queue


async def _cancel_mid_write(queue: SpendQueue) -> None:
    """Start the writer, and cancel it while its batch waits on a lock someone else holds."""
    writer = asyncio.create_task(queue.run())
    await eventually(lambda: bool(queue._inflight), "the batch is being written")
    await asyncio.sleep(0.2)  # the write is waiting on the lock
    writer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await writer


async def _written_once(database: Database, queue: SpendQueue, key: KeyRecord) -> None:
    """close() writes what is queued: three rows stored and $1.50 charged, once."""
    await queue.close(timeout=10)
    assert queue.pending == 0 and queue.written == 3
    assert (await SpendStore(database).logs(SpendQuery(), page=1, size=10))[1] == 3
    assert (await KeyStore(database).get(key.token)).spend == 1.5  # type: ignore[union-attr]
