"""gateway/accounts/spend.py on SQLite and Postgres: idempotent writes that charge keys once, logs, totals."""

from __future__ import annotations

import dataclasses
import datetime as dt

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
