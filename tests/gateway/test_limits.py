"""Limits from config: concurrency caps, idle and maximum duration, slow clients, graceful shutdown."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.live import MASTER_KEY, GatewayThread

AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}


async def frames_until_closed(ws: ClientConnection, timeout: float = 5) -> list[dict[str, Any]]:
    seen = []
    with pytest.raises(ConnectionClosed):
        while True:
            seen.append(json.loads(await asyncio.wait_for(ws.recv(), timeout)))
    return seen


def live(tmp_path: Path, **limits: object) -> GatewayThread:
    return GatewayThread(tmp_path, general={"limits": limits})


async def test_per_key_cap_refuses_with_1013(tmp_path: Path) -> None:
    """max_sessions_per_key: the second session for one key gets an error and close 1013."""
    thread = live(tmp_path, max_sessions_per_key=1)
    gw = thread.start()
    try:
        url = f"{gw.ws_base}/realtime?model=gemini-live"
        async with connect(url, additional_headers=AUTH) as first:
            assert json.loads(await first.recv())["type"] == "session.created"
            async with connect(url, additional_headers=AUTH) as second:
                (error,) = await frames_until_closed(second)
                assert error["error"]["code"] == "rate_limit_exceeded" and second.close_code == 1013
        # The slot is free again once the server has ended the first session, which may finish just after
        # the close handshake the client waited for: a refused attempt is retried, within 5 s.
        for _ in range(50):
            async with connect(url, additional_headers=AUTH) as third:
                if json.loads(await third.recv())["type"] == "session.created":
                    break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the first session's slot was never released")
    finally:
        thread.stop()


@pytest.mark.parametrize(
    ("limits", "code"),
    [({"idle_timeout_seconds": 0.3}, "idle_timeout"), ({"max_session_seconds": 0.4}, "session_expired")],
)
async def test_idle_and_duration_limits_end_the_session(tmp_path: Path, limits: dict[str, float], code: str) -> None:
    """An idle or too-long session ends with one error naming why, then a clean close."""
    thread = live(tmp_path, **limits)
    gw = thread.start()
    try:
        async with connect(f"{gw.ws_base}/realtime?model=gemini-live", additional_headers=AUTH) as ws:
            seen = await frames_until_closed(ws)
            assert [e["type"] for e in seen] == ["session.created", "error"]
            assert seen[1]["error"]["code"] == code and ws.close_code == 1000
    finally:
        thread.stop()


async def test_slow_client_cannot_grow_memory(tmp_path: Path) -> None:
    """A client that stops reading: once its backlog stays over the cap for slow_client_seconds, the session
    ends (client_too_slow, close 1008); a client that reads again in time still gets the error and the close."""
    thread = live(tmp_path, max_client_backlog_bytes=256 * 1024, slow_client_seconds=2)
    gw = thread.start()
    try:
        url = f"{gw.ws_base}/realtime?model=gemini-live"
        async with connect(url, additional_headers=AUTH, max_queue=1) as ws:
            big = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x" * 60_000}]}
            await ws.send(json.dumps({"type": "conversation.item.create", "item": {**big, "id": "big"}}))
            for _ in range(400):
                await ws.send(json.dumps({"type": "conversation.item.retrieve", "item_id": "big"}))
            await asyncio.sleep(3.0)  # over the cap for more than 2 s, and back before the close's own 2 s run out
            seen = await frames_until_closed(ws, timeout=10)
            errors = [e for e in seen if e["type"] == "error"]
            assert errors and errors[-1]["error"]["code"] == "client_too_slow" and ws.close_code == 1008
            assert len(seen) < 400
        async with httpx.AsyncClient() as http:  # the operator sees it in /metrics
            metrics = (await http.get(gw.http_base.removesuffix("/v1") + "/metrics")).text
        assert 'livegate_backlog_overflows_total{direction="client"} 1.0' in metrics.splitlines()
    finally:
        thread.stop()


async def test_graceful_shutdown_closes_idle_sessions_with_1001(tmp_path: Path) -> None:
    """On shutdown an idle session is told why and closed with 1001 (not uvicorn's 1012)."""
    thread = live(tmp_path, shutdown_grace_seconds=2)
    gw = thread.start()
    try:
        async with connect(f"{gw.ws_base}/realtime?model=gemini-live", additional_headers=AUTH) as ws:
            assert json.loads(await ws.recv())["type"] == "session.created"
            thread.shutdown()
            seen = await frames_until_closed(ws)
            assert seen[-1]["error"]["code"] == "server_shutdown" and ws.close_code == 1001
    finally:
        thread.stop()
