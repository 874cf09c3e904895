"""gateway/accounts/keys.py on SQLite and Postgres: keys stored as hashes, updates, pages, budget periods."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.accounts.database import Database
from gateway.accounts.keys import KeyConflict, KeyStore, hash_key, token_of
from gateway.accounts.stores import Stores
from gateway.accounts.tables import keys
from schemas.admin import KeyFields, KeyGenerate, KeyUpdate

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


async def test_a_key_is_stored_only_as_its_hash(database: Database) -> None:
    """The key is returned once; no column of its row holds it, and it is found by its sha256."""
    store = KeyStore(database)
    key, record = await store.create(KeyGenerate(key_alias="app", models=["gemini-live"], max_budget=5))
    assert key.startswith("sk-") and len(key) > 30 and record.token == hash_key(key) == token_of(key)
    assert record.key_name == f"sk-...{key[-4:]}" and record.models == ("gemini-live",) and record.spend == 0
    async with database.engine.connect() as connection:
        row = (await connection.execute(select(keys))).mappings().one()
    assert all(key not in str(value) for value in row.values())
    assert (await store.get(record.token)) == record and token_of(record.token) == record.token


async def test_aliases_are_unique(database: Database) -> None:
    """A second key with the same key_alias is refused, by generate and by update."""
    store = KeyStore(database)
    await store.create(KeyGenerate(key_alias="app"))
    _, other = await store.create(KeyGenerate(key_alias="other"))
    with pytest.raises(KeyConflict):
        await store.create(KeyGenerate(key_alias="app"))
    with pytest.raises(KeyConflict):
        await store.update(other.token, KeyUpdate(key=other.token, key_alias="app"))


async def test_update_changes_only_named_fields(database: Database) -> None:
    """Named fields change (null clears a limit), others stay; durations become timestamps from now."""
    clock = Clock()
    store = KeyStore(database, clock)
    _, record = await store.create(KeyGenerate(rpm_limit=5, max_budget=1.0, user_id="u1", metadata={"team": "x"}))
    clock.now = T0 + dt.timedelta(minutes=1)
    updated = await store.update(record.token, KeyUpdate(key="k", rpm_limit=None, duration="1h", budget_duration="30d"))
    assert updated is not None
    assert updated.rpm_limit is None and updated.max_budget == 1.0 and updated.user_id == "u1"
    assert updated.expires == clock.now + dt.timedelta(hours=1)
    assert updated.budget_reset_at == clock.now + dt.timedelta(days=30) and updated.metadata == {"team": "x"}
    assert updated.updated_at == clock.now and updated.created_at == T0
    assert not updated.expired(clock.now) and updated.expired(clock.now + dt.timedelta(hours=1))
    assert (await store.set_blocked(record.token, True)).blocked  # type: ignore[union-attr]
    assert await store.update("0" * 64, KeyFields(rpm_limit=1)) is None


async def test_pages_filters_and_delete(database: Database) -> None:
    """Keys page newest first with a total; filters by user/team/alias; delete returns what existed."""
    clock = Clock()
    store = KeyStore(database, clock)
    made = []
    for n in range(5):
        clock.now = T0 + dt.timedelta(seconds=n)
        made.append((await store.create(KeyGenerate(key_alias=f"k{n}", user_id="u" if n % 2 else None)))[1])
    first, total = await store.page(page=1, size=2, filters={})
    assert total == 5 and [r.key_alias for r in first] == ["k4", "k3"]
    third, _ = await store.page(page=3, size=2, filters={})
    assert [r.key_alias for r in third] == ["k0"]
    mine, total = await store.page(page=1, size=10, filters={"user_id": "u", "team_id": None})
    assert total == 2 and {r.key_alias for r in mine} == {"k1", "k3"}
    assert await store.tokens_for_aliases(["k2", "nope"]) == [made[2].token]
    assert await store.delete([made[0].token, "f" * 64]) == [made[0].token]
    assert await store.get(made[0].token) is None


async def test_budget_period_resets_once(database: Database) -> None:
    """Past budget_reset_at the spend returns to 0 and the next reset moves past now, however late the read;
    two gateways reading at once reset it once (compare-and-set)."""
    clock = Clock()
    store, replica = KeyStore(database, clock), KeyStore(database, clock)
    _, record = await store.create(KeyGenerate(max_budget=1.0, budget_duration="1h"))
    async with database.engine.begin() as connection:
        await connection.execute(keys.update().values(spend=0.75))
    assert (await store.get(record.token)).spend == 0.75  # type: ignore[union-attr]
    clock.now = T0 + dt.timedelta(hours=3, minutes=10)
    first, second = await store.get(record.token), await replica.get(record.token)
    assert first is not None and second is not None
    assert first.spend == second.spend == 0.0
    assert first.budget_reset_at == second.budget_reset_at == T0 + dt.timedelta(hours=4)


async def test_a_session_start_reads_the_same_record_as_the_key_store(database: Database) -> None:
    """`Stores.key`, the look-up of every session start, reads a SQLite file without SQLAlchemy (its own thread,
    sqlite_keys.py): the record equals the key store's, field for field, and a due budget period is reset once,
    the same way (compare-and-set on the stored text of the old reset time)."""
    clock = Clock()
    store, stores = KeyStore(database, clock), Stores(database, clock)
    _, full = await store.create(
        KeyGenerate(key_alias="full", models=["gemini-live", "other"], max_budget=2.5, budget_duration="1h",
                    max_parallel_requests=3, rpm_limit=60, duration="2h", user_id="u", team_id="t",
                    metadata={"env": "prod", "n": 1})
    )
    _, bare = await store.create(KeyGenerate())
    await store.update(bare.token, KeyUpdate(key=bare.token, blocked=True))
    for token in (full.token, bare.token):
        assert await stores.key(token) == await store.get(token)
    assert await stores.key("f" * 64) is None
    async with database.engine.begin() as connection:
        await connection.execute(keys.update().where(keys.c.token == full.token).values(spend=0.75))
    clock.now = T0 + dt.timedelta(hours=3, minutes=10)
    first = await stores.key(full.token)
    assert first is not None and first.spend == 0.0 and first.budget_reset_at == T0 + dt.timedelta(hours=4)
    assert await store.get(full.token) == first == await stores.key(full.token)  # reset once, as SQLAlchemy stores


async def test_a_session_start_does_not_wait_behind_a_spend_batch(tmp_path: Path) -> None:
    """On a SQLite file the key look-up has a thread of its own: it answers while the spend writer's thread is
    busy (here: held until the look-up has returned; were they one thread, the look-up would time out)."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'keys.db'}")
    await database.upgrade()
    try:
        _, record = await KeyStore(database).create(KeyGenerate(key_alias="app"))
        assert database.sqlite_thread is not None
        started, release = threading.Event(), threading.Event()

        def busy(connection: object) -> None:
            started.set()
            release.wait(30)

        batch = asyncio.ensure_future(database.sqlite_thread.run(busy))
        try:
            while not started.is_set():
                await asyncio.sleep(0.01)
            async with asyncio.timeout(10):
                found = await Stores(database).key(record.token)
            assert found == record and not batch.done()
        finally:
            release.set()
            await batch
    finally:
        await database.close()
