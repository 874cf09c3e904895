"""Client secrets minted by virtual keys (a real SQLite database, keys from /key/generate, openai-python): the
secret acts for the key that minted it — that key's model restriction, budget and blocking apply at mint and at
connect, and the session's spend lands on it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from openai import AsyncOpenAI, NotFoundError
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.accounts.test_virtual_keys import TEXT_MODEL, Keyed, text_turn
from tests.support.databases import sqlite_url
from tests.support.live import MASTER_KEY, EmulatorThread, GatewayThread, LiveGateway, alias_on

MASTER = {"Authorization": f"Bearer {MASTER_KEY}"}


@pytest.fixture(scope="module")
def secrets_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveGateway, EmulatorThread]]:
    tmp = tmp_path_factory.mktemp("secret-keys")
    emulator = EmulatorThread()
    emulator.start()
    models = [alias_on(emulator.url, "live", TEXT_MODEL), alias_on(emulator.url, "other", TEXT_MODEL)]
    thread = GatewayThread(tmp, models, general={"database_url": sqlite_url(tmp), "proxy_batch_write_at": 0.05})
    yield thread.start(), emulator
    thread.stop()
    emulator.stop()


@pytest.fixture
async def keyed(secrets_gateway: tuple[LiveGateway, EmulatorThread]) -> AsyncIterator[Keyed]:
    gateway, emulator = secrets_gateway
    async with httpx.AsyncClient(base_url=gateway.http_base.removesuffix("/v1"), headers=MASTER, timeout=10) as admin:
        yield Keyed(gateway, emulator, admin)


def client(keyed: Keyed, key: str) -> AsyncOpenAI:
    return AsyncOpenAI(api_key=key, base_url=keyed.gateway.http_base, websocket_base_url=keyed.gateway.ws_base)


async def first_event(keyed: Keyed, secret: str, query: str = "") -> tuple[dict[str, Any], int | None]:
    """Connect with the secret; the first event, and the close code if the gateway closed after it."""
    async with connect(
        f"{keyed.gateway.ws_base}/realtime{query}", additional_headers={"Authorization": f"Bearer {secret}"}
    ) as ws:
        event = json.loads(await ws.recv())
        if event["type"] == "session.created":
            return event, None
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    return event, ws.close_code


async def test_a_restricted_key_mints_and_opens_only_its_models(keyed: Keyed) -> None:
    """A key limited to `live`: minting for `other` is model_not_found (404); without a model the secret is for
    `live`; that secret cannot open `other`, and nothing is dialled for the refusal."""
    key = await keyed.key(models=["live"])
    with pytest.raises(NotFoundError) as refused:
        await client(keyed, key).realtime.client_secrets.create(session={"type": "realtime", "model": "other"})
    assert "`other`" in str(refused.value)
    secret = await client(keyed, key).realtime.client_secrets.create()
    assert secret.session.model == "live"  # type: ignore[union-attr]
    before = keyed.upstream_sockets
    error, code = await first_event(keyed, secret.value, "?model=other")
    assert error["error"]["code"] == "invalid_model" and code == 4000
    created, _ = await first_event(keyed, secret.value)
    assert created["session"]["model"] == "live" and keyed.upstream_sockets == before


async def test_the_session_is_billed_to_the_minting_key(keyed: Keyed) -> None:
    """A session on a secret writes its spend rows under the virtual key that minted it: the same tokens the
    client saw, and /key/info totals that count the session; the secret itself is in no row."""
    key = await keyed.key(key_alias="browser-app", models=["live"])
    secret = await client(keyed, key).realtime.client_secrets.create(
        session={"type": "realtime", "model": "live", "output_modalities": ["text"]}
    )
    async with client(keyed, secret.value).realtime.connect(model="live") as connection:
        done = (await text_turn(connection, "Hello from a browser"))[-1]
    assert done.type == "response.done" and done.response.status == "completed"
    usage = done.response.usage.to_dict()
    rows = await keyed.spend_rows(2, key_alias="browser-app")
    (row,) = [r for r in rows if r["request_id"] == done.response.id]
    assert (row["prompt_tokens"], row["completion_tokens"]) == (usage["input_tokens"], usage["output_tokens"])
    assert row["model_group"] == "live" and row["spend"] > 0
    assert secret.value not in json.dumps(rows) and key not in json.dumps(rows)
    info = (await keyed.admin.get("/key/info", params={"key": key})).json()["info"]
    assert info["usage"]["sessions"] == 1 and info["usage"]["total_tokens"] == usage["total_tokens"]


async def test_blocking_or_spending_the_key_stops_its_secrets(keyed: Keyed) -> None:
    """A secret lives no longer than its key's standing: once the key is blocked it is refused like the key
    (3000); a key whose budget is spent mints, but its secret's sessions get insufficient_quota."""
    key = await keyed.key()
    secret = (await client(keyed, key).realtime.client_secrets.create()).value
    assert (await first_event(keyed, secret))[0]["type"] == "session.created"
    assert (await keyed.admin.post("/key/block", json={"key": key})).status_code == 200
    error, code = await first_event(keyed, secret)
    assert error["error"]["message"] == "This API key has been blocked." and code == 3000
    broke = await keyed.key(max_budget=0)
    secret = (await client(keyed, broke).realtime.client_secrets.create()).value
    error, code = await first_event(keyed, secret)
    assert error["error"]["code"] == "insufficient_quota" and code == 1008
