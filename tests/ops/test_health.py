"""Liveness and readiness: 503 while draining (SIGTERM) and while the database is unreachable, during which
live sessions go on and their spend waits in memory, to be written once the database is back."""

from __future__ import annotations

import asyncio
import contextlib
import json

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support.databases import PostgresServer
from tests.support.live import MASTER_KEY, GatewayThread

AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}


async def text_turn(ws: object, text: str) -> dict[str, object]:
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))  # type: ignore[attr-defined]
    await ws.send(json.dumps({"type": "response.create"}))  # type: ignore[attr-defined]
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), 10))  # type: ignore[attr-defined]
        if event["type"] in ("response.done", "error"):
            return dict(event)


async def test_database_outage_flips_readiness_and_spares_live_sessions(tmp_path, postgres: PostgresServer) -> None:  # type: ignore[no-untyped-def]
    """Postgres refuses connections: readiness 503 (liveliness 200), the open session still answers, and its
    spend rows are written when the database is back."""
    name, url = postgres.new_database()
    thread = GatewayThread(tmp_path, general={"database_url": url, "proxy_batch_write_at": 0.05})
    gateway = thread.start()
    base = gateway.http_base.removesuffix("/v1")
    try:
        async with httpx.AsyncClient(base_url=base, headers=AUTH) as http, connect(
            f"{gateway.ws_base}/realtime?model=gemini-live", additional_headers=AUTH
        ) as ws:
            ready = await http.get("/health/readiness")
            assert ready.status_code == 200 and ready.json()["db"] == "connected"
            assert json.loads(await ws.recv())["type"] == "session.created"
            seen, unseen = [(await http.post("/key/generate", json={})).json()["key"] for _ in range(2)]
            first = connect(f"{gateway.ws_base}/realtime?model=gemini-live", additional_headers={"api-key": seen})
            async with first as read:
                assert json.loads(await read.recv())["type"] == "session.created"  # the key was read: it is known
            postgres.psql(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false;")
            postgres.psql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';")
            down = await http.get("/health/readiness")
            assert down.status_code == 503 and down.json()["db"] == "unreachable"
            assert (await http.get("/health/liveliness")).status_code == 200
            assert (await http.get("/health")).status_code == 200
            done = [await text_turn(ws, f"turn {n}") for n in range(2)]
            assert all(event["type"] == "response.done" for event in done)
            url = f"{gateway.ws_base}/realtime?model=gemini-live"
            async with connect(url, additional_headers={"api-key": seen}) as known:  # read before: still works
                assert json.loads(await known.recv())["type"] == "session.created"
            async with connect(url, additional_headers={"api-key": unseen}) as unknown:  # cannot be checked
                error = json.loads(await unknown.recv())
                with contextlib.suppress(ConnectionClosed):
                    await unknown.recv()
            assert error["error"]["code"] == "key_check_unavailable" and unknown.close_code == 1013
            postgres.psql(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true;")
            assert (await http.get("/health/readiness")).status_code == 200
            ids = {event["response"]["id"] for event in done}  # type: ignore[index]
            for _ in range(300):
                rows = (await http.get("/spend/logs")).json().get("data", [])
                if ids <= {row["request_id"] for row in rows}:
                    break
                await asyncio.sleep(0.1)
            assert ids <= {row["request_id"] for row in rows}
    finally:
        thread.stop()


async def test_draining_answers_503_and_refuses_new_sessions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """From SIGTERM on, readiness is 503 and a new session is told the server is shutting down (1001), while
    the open turn finishes before its session is closed."""
    thread = GatewayThread(tmp_path, general={"limits": {"shutdown_grace_seconds": 5}})
    gateway = thread.start()
    base = gateway.http_base.removesuffix("/v1")
    url = f"{gateway.ws_base}/realtime?model=gemini-live"

    async def read_all(ws: object) -> list[str]:
        kinds = []
        with contextlib.suppress(ConnectionClosed):
            while True:
                kinds.append(json.loads(await ws.recv())["type"])  # type: ignore[attr-defined]
        return kinds

    try:
        async with httpx.AsyncClient(base_url=base) as http, connect(url, additional_headers=AUTH) as ws:
            assert json.loads(await ws.recv())["type"] == "session.created"
            item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x " * 200}]}
            await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
            await ws.send(json.dumps({"type": "response.create"}))
            reader = asyncio.create_task(read_all(ws))
            thread.shutdown()
            for _ in range(250):
                answer = await http.get("/health/readiness")
                if answer.status_code == 503:
                    break
                await asyncio.sleep(0.02)
            assert answer.status_code == 503 and answer.json()["draining"] is True, answer.text
            async with connect(url, additional_headers=AUTH) as late:
                kinds = await read_all(late)
            assert kinds == ["error"] and late.close_code == 1001
            kinds = await asyncio.wait_for(reader, 10)
            assert "response.done" in kinds and kinds[-1] == "error" and ws.close_code == 1001
    finally:
        thread.stop()
