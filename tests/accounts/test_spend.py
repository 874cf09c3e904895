"""gateway/accounts/spend.py on SQLite and Postgres: idempotent writes that charge keys once, logs, totals."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import event

from gateway.accounts.database import Database
from gateway.accounts.keys import KeyStore
from gateway.accounts.spend import RESPONSE, SESSION, SpendQuery, SpendRow, SpendStore
from schemas.admin import KeyGenerate

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


def row(request_id: str, api_key: str, spend: float, minute: int = 0, **fields: object) -> SpendRow:
    start = T0 + dt.timedelta(minutes=minute)
    base = SpendRow(
        request_id=request_id,
        call_type=RESPONSE,
        session_id="sess_1",
        api_key=api_key,
        key_alias="app",
        user_id="u1",
        team_id=None,
        model_group="gemini-live",
        model="gemini/gemini-3.1-flash-live-preview",
        status="completed",
        spend=spend,
        start_time=start,
        end_time=start + dt.timedelta(seconds=2),
        tokens={
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "total_tokens": 15,
            "input_audio_tokens": 10,
            "output_audio_tokens": 5,
        },
    )
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


async def test_writes_are_idempotent_and_charge_keys_once(database: Database) -> None:
    """A batch written twice stores and charges once; a session summary is stored but never charged."""
    _, key = await KeyStore(database).create(KeyGenerate(key_alias="app"))
    store = SpendStore(database)
    batch = [row("resp_1", key.token, 0.25), row("resp_2", key.token, 0.5), row("resp_3", "", 1.0)]
    summary = row("sess_1", key.token, 0.75, call_type=SESSION, turns=2)
    (charged,) = await store.write([*batch, summary])
    assert (charged.token, charged.added, charged.spend) == (key.token, 0.75, 0.75)
    assert await store.write(batch) == []  # a retry after a lost commit acknowledgement
    assert (await KeyStore(database).get(key.token)).spend == 0.75  # type: ignore[union-attr]
    rows, total = await store.logs(SpendQuery(), page=1, size=10)
    assert total == 4 and {r["request_id"] for r in rows} == {"resp_1", "resp_2", "resp_3", "sess_1"}


async def test_logs_filter_and_page_newest_first(database: Database) -> None:
    """Filters by key, alias, user and time; pages newest first; LiteLLM's field names."""
    store = SpendStore(database)
    await store.write([row(f"resp_{n}", "a" * 64 if n < 3 else "b" * 64, 0.1, minute=n) for n in range(5)])
    rows, total = await store.logs(SpendQuery(api_key="a" * 64), page=1, size=2)
    assert total == 3 and [r["request_id"] for r in rows] == ["resp_2", "resp_1"]
    rows, _ = await store.logs(SpendQuery(api_key="a" * 64), page=2, size=2)
    assert [r["request_id"] for r in rows] == ["resp_0"]
    window = SpendQuery(start=T0 + dt.timedelta(minutes=1), end=T0 + dt.timedelta(minutes=3))
    assert [r["request_id"] for r in (await store.logs(window, page=1, size=10))[0]] == ["resp_2", "resp_1"]
    assert (await store.logs(SpendQuery(user_id="nobody"), page=1, size=10))[1] == 0
    first = (await store.logs(SpendQuery(request_id="resp_4"), page=1, size=1))[0][0]
    assert first["startTime"] == (T0 + dt.timedelta(minutes=4)).isoformat() and first["user"] == "u1"
    assert first["model_group"] == "gemini-live" and first["duration_s"] == 2.0 and first["total_tokens"] == 15


async def test_totals_count_responses_not_summaries(database: Database) -> None:
    """A key's totals add its responses' tokens by modality and cost; summaries only count sessions."""
    store = SpendStore(database)
    token = "c" * 64
    await store.write(
        [row("resp_1", token, 0.5), row("resp_2", token, 0.25), row("sess_1", token, 0.75, call_type=SESSION)]
    )
    totals = await store.totals(token)
    assert totals["responses"] == 2 and totals["sessions"] == 1 and totals["spend"] == 0.75
    assert totals["input_audio_tokens"] == 20 and totals["output_audio_tokens"] == 10 and totals["total_tokens"] == 30


async def test_a_key_total_comes_back_with_its_budget_period(database: Database) -> None:
    """The write returns each key's new spend and its period's end, timezone-aware (the ledger compares it)."""
    keys = KeyStore(database)
    _, key = await keys.create(KeyGenerate(max_budget=5, budget_duration="30d"))
    (charged,) = await SpendStore(database).write([row("resp_1", key.token, 0.5)], retry=False)
    assert charged.budget_reset_at is not None and charged.budget_reset_at.tzinfo is not None
    assert charged.budget_reset_at == (await keys.get(key.token)).budget_reset_at  # type: ignore[union-attr]


async def test_a_failing_batch_stores_and_charges_nothing(database: Database) -> None:
    """One bad row (a NOT NULL column empty) rolls the whole batch back: no row stored, no spend added; the
    same store writes the next batch."""
    _, key = await KeyStore(database).create(KeyGenerate())
    store = SpendStore(database)
    bad = row("resp_2", key.token, 0.5, model_group=None)
    try:
        await store.write([row("resp_1", key.token, 0.25), bad], retry=False)
    except Exception as exc:
        assert "null" in str(exc).lower()
    else:
        raise AssertionError("a NULL model_group was stored")
    assert (await store.logs(SpendQuery(), page=1, size=10))[1] == 0
    assert (await KeyStore(database).get(key.token)).spend == 0  # type: ignore[union-attr]
    await store.write([row("resp_1", key.token, 0.25)], retry=False)
    assert (await KeyStore(database).get(key.token)).spend == 0.25  # type: ignore[union-attr]


async def test_a_sqlite_file_writes_batches_on_its_own_thread(tmp_path: Path) -> None:
    """On a SQLite file a batch is one call on the database's SQLite thread, not statements through the engine
    (bench --keys: ~1.5 ms a batch less); `:memory:` has no such thread."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'spend.db'}")
    await database.upgrade()
    memory = Database("sqlite+aiosqlite:///:memory:")
    try:
        assert database.sqlite_thread is not None and memory.sqlite_thread is None
        engine_checkouts: list[object] = []
        event.listen(database.engine.sync_engine, "checkout", lambda *args: engine_checkouts.append(args))
        thread_names: list[str] = []
        real = database.sqlite_thread.run

        async def watched(work: Any, *args: Any) -> Any:
            def on_thread(connection: Any, *rest: Any) -> Any:
                thread_names.append(threading.current_thread().name)
                return work(connection, *rest)

            return await real(on_thread, *args)

        database.sqlite_thread.run = watched  # type: ignore[method-assign,assignment]
        store = SpendStore(database)
        await store.write([row("resp_1", "k" * 64, 0.25)], retry=True)
        await store.write([row("resp_2", "k" * 64, 0.25)], retry=False)
        assert engine_checkouts == []
        assert len(thread_names) == 2 and thread_names[0] == thread_names[1]
        assert thread_names[0].startswith("livegate-sqlite-writes")
        assert (await store.logs(SpendQuery(), page=1, size=10))[1] == 2  # the engine sees what the thread wrote
    finally:
        await database.close()
        await memory.close()
