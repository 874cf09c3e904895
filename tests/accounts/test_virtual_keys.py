"""Virtual keys through the running gateway, on SQLite and on Postgres, with real clients: openai-python on a key
made by /key/generate, spend rows and /key/info matching the usage it saw, and every refusal made before any
upstream socket is opened (the emulator counts its connections)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from openai import AsyncOpenAI
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support.databases import PostgresServer, sqlite_url
from tests.support.live import MASTER_KEY, EmulatorThread, GatewayThread, LiveGateway, alias_on

TEXT_MODEL = "gemini-3.1-flash-live-preview"  # priced in schemas/pricing.py
MASTER = {"Authorization": f"Bearer {MASTER_KEY}"}


@dataclass
class Keyed:
    """A gateway with a database, the emulator behind it, and an admin client."""

    gateway: LiveGateway
    emulator: EmulatorThread
    admin: httpx.AsyncClient

    @property
    def upstream_sockets(self) -> int:
        return len(self.emulator.server.connections)

    async def key(self, **fields: Any) -> str:
        answer = await self.admin.post("/key/generate", json=fields)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["key"])

    async def spend_rows(self, want: int, **filters: str) -> list[dict[str, Any]]:
        """Rows matching the filters, once `want` of them are written (the queue flushes every 50 ms)."""
        for _ in range(200):
            rows = (await self.admin.get("/spend/logs", params=filters)).json()["data"]
            if len(rows) >= want:
                return list(rows)
            await asyncio.sleep(0.05)
        raise AssertionError(f"expected {want} spend rows for {filters}, got {len(rows)}")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def keyed_gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveGateway, EmulatorThread]]:
    tmp = tmp_path_factory.mktemp("keys")
    if request.param == "sqlite":
        url = sqlite_url(tmp)
    else:
        postgres: PostgresServer = request.getfixturevalue("postgres")
        url = postgres.new_database()[1]
    emulator = EmulatorThread()
    emulator.start()
    models = [alias_on(emulator.url, "live", TEXT_MODEL), alias_on(emulator.url, "other", TEXT_MODEL)]
    thread = GatewayThread(tmp, models, general={"database_url": url, "proxy_batch_write_at": 0.05})
    yield thread.start(), emulator
    thread.stop()
    emulator.stop()


@pytest.fixture
async def keyed(keyed_gateway: tuple[LiveGateway, EmulatorThread]) -> AsyncIterator[Keyed]:
    gateway, emulator = keyed_gateway
    base = gateway.http_base.removesuffix("/v1")
    async with httpx.AsyncClient(base_url=base, headers=MASTER, timeout=10) as admin:
        yield Keyed(gateway, emulator, admin)


def text_item(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


async def text_turn(connection: Any, text: str) -> list[Any]:
    await connection.conversation.item.create(item=text_item(text))
    await connection.response.create()
    seen = []
    async for event in connection:
        seen.append(event)
        if event.type in ("response.done", "error"):
            return seen
    return seen


async def refused(keyed: Keyed, key: str, alias: str = "live") -> tuple[dict[str, Any], int | None]:
    """Connect, try to talk, and return the error event and close code; asserts no upstream socket was opened."""
    before = keyed.upstream_sockets
    url = f"{keyed.gateway.ws_base}/realtime?model={alias}"
    async with connect(url, additional_headers={"Authorization": f"Bearer {key}"}) as ws:
        error = json.loads(await asyncio.wait_for(ws.recv(), 10))
        with pytest.raises(ConnectionClosed):
            await ws.send(json.dumps({"type": "conversation.item.create", "item": text_item("hi")}))
            await ws.send(json.dumps({"type": "response.create"}))
            await asyncio.wait_for(ws.recv(), 10)
    await asyncio.sleep(0.1)
    assert keyed.upstream_sockets == before
    return error, ws.close_code


async def test_openai_python_on_a_virtual_key_is_billed_to_the_token(keyed: Keyed) -> None:
    """A key from /key/generate works with openai-python; its spend rows, /key/info totals and /metrics match
    the usage the client saw in each response.done, to the token."""
    key = await keyed.key(key_alias="billing-app", models=["live"], user_id="alice", max_budget=100)
    metrics_before = (await keyed.admin.get("/metrics")).text
    client = AsyncOpenAI(api_key=key, base_url=keyed.gateway.http_base)
    usages = []
    async with client.realtime.connect(model="live") as connection:
        await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        for text in ("What is the capital of France?", "And of Spain?"):
            done = (await text_turn(connection, text))[-1]
            assert done.type == "response.done" and done.response.status == "completed"
            usages.append((done.response.id, done.response.usage.to_dict()))
    rows = await keyed.spend_rows(3, key_alias="billing-app")
    by_id = {row["request_id"]: row for row in rows}
    for response_id, usage in usages:
        row = by_id[response_id]
        inputs, outputs = usage["input_token_details"], usage["output_token_details"]
        assert (row["prompt_tokens"], row["completion_tokens"], row["total_tokens"]) == (
            usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]
        )
        assert (row["input_text_tokens"], row["input_audio_tokens"], row["output_text_tokens"]) == (
            inputs["text_tokens"], inputs["audio_tokens"], outputs["text_tokens"]
        )
        assert row["spend"] > 0 and row["user"] == "alice" and row["model_group"] == "live"
        assert row["model"] == f"gemini/{TEXT_MODEL}" and row["api_key"] != key and key not in json.dumps(row)
    (summary,) = [row for row in rows if row["call_type"] == "realtime_session"]
    assert summary["turns"] == 2 and summary["total_tokens"] == sum(u["total_tokens"] for _, u in usages)
    info = (await keyed.admin.get("/key/info", params={"key": key})).json()["info"]
    total = sum(u["total_tokens"] for _, u in usages)
    assert info["usage"]["total_tokens"] == total and info["usage"]["responses"] == 2
    assert info["usage"]["sessions"] == 1 and info["spend"] == pytest.approx(summary["spend"])
    metrics_after = (await keyed.admin.get("/metrics")).text
    responses = 'livegate_responses_total{alias="live",status="completed"}'
    assert _sample(metrics_after, responses) - _sample(metrics_before, responses) == 2
    tokens = 'livegate_tokens_total{alias="live",direction="output",modality="text"}'
    out_text = sum(u["output_token_details"]["text_tokens"] for _, u in usages)
    assert _sample(metrics_after, tokens) - _sample(metrics_before, tokens) == out_text


def _sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_model_restriction_refuses_before_dialling(keyed: Keyed) -> None:
    """An alias outside the key's `models`: model_not_found and close 4000, no upstream socket."""
    key = await keyed.key(models=["live"])
    error, code = await refused(keyed, key, alias="other")
    assert error["error"]["code"] == "model_not_found" and "`other`" in error["error"]["message"] and code == 4000


async def test_spent_budget_refuses_before_dialling(keyed: Keyed) -> None:
    """A key whose max_budget is spent: insufficient_quota and close 1008, no upstream socket."""
    key = await keyed.key(max_budget=0)
    error, code = await refused(keyed, key)
    assert error["error"]["type"] == error["error"]["code"] == "insufficient_quota" and code == 1008


async def test_rpm_limit_refuses_before_dialling(keyed: Keyed) -> None:
    """rpm_limit 1: the second session in a minute gets rate_limit_exceeded and close 1013, no upstream socket."""
    key = await keyed.key(rpm_limit=1)
    async with connect(f"{keyed.gateway.ws_base}/realtime?model=live", additional_headers={"api-key": key}) as ws:
        assert json.loads(await ws.recv())["type"] == "session.created"
    error, code = await refused(keyed, key)
    assert error["error"]["code"] == "rate_limit_exceeded" and "rpm_limit" in error["error"]["message"] and code == 1013


async def test_parallel_limit_refuses_before_dialling(keyed: Keyed) -> None:
    """max_parallel_requests 1: a second open session is refused (1013, no upstream socket); once the first
    closes, a new one is let in."""
    key = await keyed.key(max_parallel_requests=1)
    url = f"{keyed.gateway.ws_base}/realtime?model=live"
    async with connect(url, subprotocols=["realtime", f"openai-insecure-api-key.{key}"]) as first:  # type: ignore[list-item]
        assert json.loads(await first.recv())["type"] == "session.created"
        error, code = await refused(keyed, key)
        assert error["error"]["code"] == "rate_limit_exceeded" and code == 1013
    # The slot comes back once the gateway has wound the first session down, just after its close handshake:
    # until then a new session is refused the same way. It must be let in well within the deadline.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        async with connect(url, additional_headers={"Authorization": f"Bearer {key}"}) as again:
            first_event = json.loads(await again.recv())
        if first_event["type"] == "session.created":
            break
        assert first_event["error"]["code"] == "rate_limit_exceeded", first_event
        assert loop.time() < deadline, "the first session's slot was never given back"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("change", ["block", "expire", "delete", "unknown"])
async def test_blocked_expired_deleted_and_unknown_keys(keyed: Keyed, change: str) -> None:
    """Blocked, expired, deleted or never-made keys get invalid_api_key and close 3000, no upstream socket."""
    key = await keyed.key()
    if change == "block":
        assert (await keyed.admin.post("/key/block", json={"key": key})).json()["blocked"] is True
    elif change == "expire":
        await keyed.admin.post("/key/update", json={"key": key, "duration": "1s"})
        await asyncio.sleep(1.1)
    elif change == "delete":
        await keyed.admin.post("/key/delete", json={"keys": [key]})
    else:
        key = "sk-never-made-by-this-gateway"
    error, code = await refused(keyed, key)
    assert error["error"]["code"] == "invalid_api_key" and code == 3000
    listing = await keyed.admin.get("/v1/models", headers={"Authorization": f"Bearer {key}"})  # same words over HTTP
    listed = listing.json()["error"]
    assert listing.status_code == 401 and (listed["code"], listed["message"]) == (error["error"]["code"],
                                                                                   error["error"]["message"])
    if change == "block":
        await keyed.admin.post("/key/unblock", json={"key": key})
        async with connect(f"{keyed.gateway.ws_base}/realtime?model=live", additional_headers={"api-key": key}) as ws:
            assert json.loads(await ws.recv())["type"] == "session.created"


async def test_budget_crossed_mid_session_finishes_the_response_then_closes(keyed: Keyed) -> None:
    """The first response crosses a tiny budget: it completes, then one insufficient_quota error and close 1008;
    the next session of the key is refused."""
    key = await keyed.key(max_budget=1e-9)
    client = AsyncOpenAI(api_key=key, base_url=keyed.gateway.http_base)
    async with client.realtime.connect(model="live") as connection:
        await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        seen = await text_turn(connection, "Hello")
        assert seen[-1].type == "response.done" and seen[-1].response.status == "completed"
        text = "".join(e.delta for e in seen if e.type == "response.output_text.delta")
        assert text == "You said: Hello"
        error = await connection.recv()
        assert error.type == "error" and error.error.code == "insufficient_quota"
        with pytest.raises(ConnectionClosed):
            await connection.recv()
        assert connection._connection.close_code == 1008
    error_event, code = await refused(keyed, key)
    assert error_event["error"]["code"] == "insufficient_quota" and code == 1008


async def test_transcripts_only_when_opted_in(keyed: Keyed, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Off by default: spend rows hold no words. With store_transcripts the row has the user's text and the
    assistant's reply."""
    key = await keyed.key(key_alias="quiet")
    client = AsyncOpenAI(api_key=key, base_url=keyed.gateway.http_base)
    async with client.realtime.connect(model="live") as connection:
        await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        await text_turn(connection, "secret plans")
    (row,) = [r for r in await keyed.spend_rows(2, key_alias="quiet") if r["call_type"] == "realtime"]
    assert row["messages"] is None and row["response"] is None
    tmp = tmp_path_factory.mktemp("transcripts")
    models = [alias_on(keyed.emulator.url, "live", TEXT_MODEL)]
    settings = {"store_transcripts": True, "proxy_batch_write_at": 0.05}
    thread = GatewayThread(tmp, models, general=settings)
    gateway = thread.start()
    try:
        client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
        async with client.realtime.connect(model="live") as connection:
            await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
            await text_turn(connection, "open plans")
        other = Keyed(gateway, keyed.emulator, httpx.AsyncClient(base_url=gateway.http_base.removesuffix("/v1"),
                                                                 headers=MASTER))
        (row,) = [r for r in await other.spend_rows(2) if r["call_type"] == "realtime"]
        await other.admin.aclose()
    finally:
        thread.stop()
    assert (row["messages"], row["response"], row["key_alias"]) == ("open plans", "You said: open plans", "master")
