"""Issue #16 items 14-15 on a live server: handshakes are bounded in size and time, /v1/models needs the key,
a key in a query string stays out of the logs, and a turn longer than the shutdown grace is told why."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openai import AsyncOpenAI
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from gateway.emulator.script import Script
from tests.faults.support import AUDIO_MODEL, user_item
from tests.support.live import MASTER_KEY, EmulatorThread, GatewayThread, LiveGateway, alias_on

AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}
HANDSHAKE_S = 0.5


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    limits = {"limits": {"handshake_timeout_seconds": HANDSHAKE_S, "max_header_bytes": 8192}}
    thread = GatewayThread(tmp_path_factory.mktemp("guarded"), general=limits)
    yield thread.start()
    thread.stop()


def raw_exchange(port: int, request: bytes, *, wait: float = 5.0) -> tuple[bytes, float]:
    """Send `request` on a fresh TCP connection; what came back before the server closed, and when it closed."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer, time.monotonic() - started


def upgrade(path: str = "/v1/realtime?model=gemini-live", extra: str = "") -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    ).encode()


@pytest.mark.parametrize(
    "extra",
    [f"X-Big: {'a' * 60_000}\r\n", "".join(f"X-H{n}: v\r\n" for n in range(200)), f"X-Line: {'b' * 9000}\r\n"],
    ids=["60KB-header", "200-headers", "one-9KB-line"],
)
async def test_oversized_handshakes_get_431_and_are_closed(guarded: LiveGateway, extra: str) -> None:
    """Item 14: headers over the caps are answered 431 and the socket is closed (not held without an answer)."""
    answer, _ = await asyncio.to_thread(raw_exchange, guarded.port, upgrade(extra=extra))
    assert answer.startswith(b"HTTP/1.1 431 ")


@pytest.mark.parametrize("request_bytes", [b"", b"GET /v1/realtime?model=gemini-live HTTP/1.1\r\nHost: x\r\n"])
async def test_slow_handshakes_get_408_and_are_closed(guarded: LiveGateway, request_bytes: bytes) -> None:
    """Item 14: a connection that sends nothing, or stops in the middle of its headers (slowloris), is answered
    408 and closed at handshake_timeout_seconds."""
    answer, took = await asyncio.to_thread(raw_exchange, guarded.port, request_bytes)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert HANDSHAKE_S * 0.8 <= took < HANDSHAKE_S + 3


async def test_normal_handshakes_and_requests_still_work(guarded: LiveGateway) -> None:
    """The caps leave ordinary clients alone: a WebSocket session and two HTTP requests on one connection."""
    async with connect(f"{guarded.ws_base}/realtime?model=gemini-live", additional_headers=AUTH) as ws:
        assert json.loads(await ws.recv())["type"] == "session.created"
    base = guarded.http_base.removesuffix("/v1")
    async with httpx.AsyncClient() as client:
        for _ in range(2):
            await asyncio.sleep(HANDSHAKE_S)  # a kept-alive connection's next request gets its own deadline
            assert (await client.get(f"{base}/health")).status_code == 200


async def test_models_listing_needs_the_key(gateway: LiveGateway) -> None:
    """Item 15: /v1/models answers 401 in OpenAI's shape without the key or with a wrong one."""
    async with httpx.AsyncClient() as client:
        missing = await client.get(f"{gateway.http_base}/models")
        wrong = await client.get(f"{gateway.http_base}/models", headers={"Authorization": "Bearer nope"})
        right = await client.get(f"{gateway.http_base}/models", headers=AUTH)
    assert missing.status_code == wrong.status_code == 401 and right.status_code == 200
    assert missing.json()["error"]["type"] == "invalid_request_error" and missing.json()["error"]["code"] is None
    assert wrong.json()["error"]["code"] == "invalid_api_key"
    listed = await AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base).models.list()
    assert "gemini-live" in [model.id for model in listed.data]


async def test_a_key_in_the_query_string_is_not_logged(gateway: LiveGateway, caplog: pytest.LogCaptureFixture) -> None:
    """Item 15: uvicorn logs each path with its query; a key a client put there is redacted."""
    secret = "sk-in-the-query-0123456789"
    caplog.set_level(logging.INFO)
    for name in ("uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).setLevel(logging.INFO)
    try:
        url = f"{gateway.ws_base}/realtime?model=gemini-live&api_key={secret}"
        async with connect(url, additional_headers=AUTH) as ws:
            await ws.recv()
        async with httpx.AsyncClient() as client:
            await client.get(f"{gateway.http_base}/models?key={secret}", headers=AUTH)
    finally:
        for name in ("uvicorn.error", "uvicorn.access"):
            logging.getLogger(name).setLevel(logging.WARNING)
    ours = ("uvicorn", "livegate")  # the test's own httpx client logs its URL: not the gateway's log
    lines = [record.getMessage() for record in caplog.records if record.name.startswith(ours)]
    assert any("[redacted]" in line for line in lines), lines
    assert not [line for line in lines if secret in line]
    assert any("model=gemini-live&[redacted]" in line for line in lines), lines  # the whole pair, name too


async def test_a_turn_longer_than_the_grace_is_told_before_the_close(tmp_path: Path) -> None:
    """Item 15: on shutdown, a turn still streaming when the grace runs out gets server_shutdown, then 1001."""
    emulator = EmulatorThread(Script(reply_chunk_interval_s=0.3))
    url = emulator.start()
    limits = {"limits": {"shutdown_grace_seconds": 0.5}}
    thread = GatewayThread(tmp_path, [alias_on(url, "slow", AUDIO_MODEL)], general=limits)
    live = thread.start()
    seen = []
    try:
        client = AsyncOpenAI(api_key=MASTER_KEY, base_url=live.http_base)
        with pytest.raises(ConnectionClosed):
            async with client.realtime.connect(model="slow") as connection:
                await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
                await connection.conversation.item.create(item=user_item("one two three four five six seven"))
                await connection.response.create()
                async with asyncio.timeout(15):
                    while True:
                        event = (await connection.recv()).to_dict()
                        seen.append(event)
                        if event["type"] == "response.output_text.delta" and len(seen) < 50:
                            thread.shutdown()
        close = connection._connection
    finally:
        thread.stop()
        emulator.stop()
    assert "response.done" not in [e["type"] for e in seen]  # the turn was longer than the grace
    assert seen[-1]["type"] == "error" and seen[-1]["error"]["code"] == "server_shutdown"
    assert close.close_code == 1001
