"""gateway/accounts/origins.py: browser Origins outside allowed_origins are refused before anything else runs."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

from gateway.accounts.origins import OriginGate


async def _hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


async def _ws(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("hello")
    await websocket.close()


def gated(*allowed: str) -> TestClient:
    app = Starlette(routes=[Route("/h", _hello), WebSocketRoute("/ws", _ws)])
    return TestClient(OriginGate(app, allowed))


def test_listed_and_absent_origins_pass() -> None:
    """A listed Origin (any case, trailing slash) and a request with no Origin (an SDK) reach the app."""
    client = gated("https://app.example.com")
    assert client.get("/h", headers={"Origin": "HTTPS://app.example.com/"}).text == "hello"
    assert client.get("/h").text == "hello"
    with client.websocket_connect("/ws", headers={"Origin": "https://app.example.com"}) as ws:
        assert ws.receive_text() == "hello"


def test_other_origins_get_403(caplog: pytest.LogCaptureFixture) -> None:
    """Another Origin: HTTP 403 with an OpenAI-shaped error, a refused WebSocket upgrade, a log line each."""
    caplog.set_level("INFO", logger="livegate.sessions")
    client = gated("https://app.example.com")
    answer = client.get("/h", headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "origin_not_allowed"
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws", headers={"Origin": "https://evil.example"}):
        pass
    lines = [r.getMessage() for r in caplog.records if r.name == "livegate.sessions"]
    assert len(lines) == 2 and all("origin not allowed" in line and "evil.example" in line for line in lines)


def test_star_allows_any() -> None:
    """["*"] lets every Origin through."""
    assert gated("*").get("/h", headers={"Origin": "https://any.example"}).text == "hello"
