"""The database's stores, each made at its first use, so that SQLAlchemy is imported only then: a gateway on a
SQLite file serves sessions, on its master key or on virtual keys, without it until an admin call (`database.py`;
issue #15)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.accounts.database import Database
from gateway.accounts.key_records import Clock, KeyRecord, utcnow
from gateway.accounts.spend_queue import SpendWriter

if TYPE_CHECKING:
    from gateway.accounts.keys import KeyStore
    from gateway.accounts.spend import SpendStore


class Stores:
    """Virtual keys and spend logs in one database."""

    def __init__(self, database: Database, clock: Clock = utcnow) -> None:
        self.database = database
        self._clock = clock  # UTC now, for budget periods (tests move it)
        self._keys: KeyStore | None = None
        self._spend: SpendStore | None = None

    @property
    def keys(self) -> KeyStore:
        if self._keys is None:
            from gateway.accounts.keys import KeyStore

            self._keys = KeyStore(self.database, self._clock)
        return self._keys

    @property
    def spend(self) -> SpendStore:
        if self._spend is None:
            from gateway.accounts.spend import SpendStore

            self._spend = SpendStore(self.database)
        return self._spend

    async def key(self, token: str) -> KeyRecord | None:
        """A key's record as a session start reads it (budget reset first if due): on a SQLite file through its
        reading thread without SQLAlchemy (`sqlite_keys.py`), else through the key store."""
        thread = self.database.sqlite_reader
        if thread is None:
            return await self.keys.get(token)
        from gateway.accounts.sqlite_keys import read_key

        return await thread.run(read_key, token, self._clock())

    def spend_writer(self) -> SpendWriter:
        """What the spend queue writes through: a SQLite file's writer thread (no SQLAlchemy), else the store."""
        if self.database.sqlite_thread is not None:
            from gateway.accounts.spend_sql import SqliteSpendWriter

            return SqliteSpendWriter(self.database)
        return self.spend
