"""The accounts room, assembled for one app: database (migrated), key and spend stores, the spend queue and
its writer task, counters (this process's, or shared through Valkey/Redis) and admission, and the `Accounts`
gate the transports ask."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway.accounts.access import Accounts
from gateway.accounts.admission import Admission
from gateway.accounts.counters import Counters, MemoryCounters
from gateway.accounts.ledger import SpendLedger
from gateway.accounts.shared import Shared, shared_state
from gateway.accounts.spend_queue import SpendQueue
from gateway.accounts.sqlite_file import sqlite_file_problem
from gateway.config import GatewayConfig
from schemas.limits import Limits

if TYPE_CHECKING:  # SQLAlchemy (~20 MB) is imported only when something needs it (stores.py; issue #15: idle RSS)
    from gateway.accounts.database import Database
    from gateway.accounts.stores import Stores

log = logging.getLogger("livegate.accounts")


class StorageError(Exception):
    """The database could not be opened or migrated at start-up; the message names the backend, never a password."""


@dataclass
class AccountServices:
    database: Database | None  # None: no database (master key alone; spend in logs and /metrics only)
    accounts: Accounts
    stores: Stores | None  # None: no database
    queue: SpendQueue
    shared: Shared | None = None  # counters and running spend in Valkey/Redis; None: this process's own

    def describe(self) -> str:
        """The start-up line about storage."""
        if self.database is None:
            return "storage: none (no database): master key only, spend in logs and /metrics only"
        return f"storage: {self.database.backend} at {self.database.describe()}: virtual keys and spend logs"


async def open_database(url: str) -> Database:
    """Connect and apply migrations (`livegate db upgrade` does only this)."""
    from gateway.accounts.database import Database

    problem = sqlite_file_problem(url)
    if problem is not None:
        raise StorageError(problem)
    database = Database(url)
    try:
        await database.upgrade()
    except Exception as exc:
        await database.close()
        raise StorageError(f"cannot open the database {database.describe()}: {type(exc).__name__}: {exc}") from None
    return database


@contextlib.asynccontextmanager
async def account_services(
    config: GatewayConfig, limits: Limits, counters: Counters | None = None
) -> AsyncIterator[AccountServices]:
    """Everything open while the app runs; on exit the spend queue is flushed before the database closes."""
    settings = config.accounts
    database = await open_database(settings.database_url) if settings.database_url else None
    stores: Stores | None = None
    if database is not None:
        from gateway.accounts.stores import Stores

        stores = Stores(database)
    async with shared_state(settings) as shared:
        ledger = SpendLedger(shared.spend if shared is not None else None)
        queue = SpendQueue(
            stores.spend_writer() if stores is not None else None,
            interval=settings.batch_write_seconds,
            max_rows=settings.max_spend_queue,
            on_written=ledger.written,
        )
        chosen = counters or (shared.counters if shared is not None else MemoryCounters())
        admission = Admission(chosen, limits)
        accounts = Accounts(config.master_key, stores, admission, ledger)
        services = AccountServices(database, accounts, stores, queue, shared)
        writer = asyncio.create_task(queue.run())
        try:
            yield services
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            await queue.close()
            if database is not None:
                await database.close()
