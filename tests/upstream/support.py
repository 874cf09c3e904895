"""Helpers for the upstream tests: a service account made on the spot, a gateway in the test's loop, a text turn."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from gateway.app import create_app
from gateway.config import load_config
from gateway.upstream.google_auth import GoogleAuth

MASTER_KEY = "sk-upstream-test-master"
AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}
TOKEN_URI = "https://oauth2.googleapis.com/token"
DEV_MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"  # Developer API only
VERTEX_MODEL = "gemini-live-2.5-flash-native-audio"  # Vertex only
TIMEOUT = 10.0


def service_account(project: str = "sa-project", email: str = "livegate-test") -> dict[str, str]:
    """A service-account key file's contents, with a freshly generated RSA key (google-auth signs with it)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "project_id": project,
        "private_key_id": "test-key-id",
        "private_key": pem,
        "client_email": f"{email}@{project}.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": TOKEN_URI,
    }


def token_response(token: str, expires_in: int = 3600) -> httpx.Response:
    return httpx.Response(200, json={"access_token": token, "expires_in": expires_in, "token_type": "Bearer"})


def free_port() -> int:
    """A loopback port nothing listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_base(ws_url: str) -> str:
    return ws_url.replace("ws://", "http://", 1).replace("wss://", "https://", 1)


@dataclass
class Gateway:
    port: int
    scheme: str = "ws"

    @property
    def base(self) -> str:
        host = "localhost" if self.scheme == "wss" else "127.0.0.1"
        return f"{self.scheme}://{host}:{self.port}"


@contextlib.asynccontextmanager
async def running_gateway(
    tmp_path: Path,
    document: Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
    google_auth: GoogleAuth | None = None,
    certfile: str | None = None,
    keyfile: str | None = None,
    log_level: str = "warning",
) -> AsyncIterator[Gateway]:
    """uvicorn serving `create_app` for this config document, in the test's own event loop."""
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(dict(document)))
    config = load_config(path, environ or {})
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config, google_auth=google_auth),
            host="127.0.0.1",
            port=0,
            lifespan="on",
            log_config=None,
            log_level=log_level,
            ssl_certfile=certfile,
            ssl_keyfile=keyfile,
        )
    )
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(TIMEOUT):
        while not server.started:
            await asyncio.sleep(0.005)
    try:
        yield Gateway(server.servers[0].sockets[0].getsockname()[1], "wss" if certfile else "ws")
    finally:
        server.should_exit = True
        await task


def document(*entries: dict[str, Any], **general: Any) -> dict[str, Any]:
    return {"model_list": list(entries), "general_settings": {"master_key": MASTER_KEY, **general}}


def entry(alias: str, model: str, **params: Any) -> dict[str, Any]:
    return {"model_name": alias, "litellm_params": {"model": model, **params}}


@dataclass
class Turn:
    """What an OpenAI client saw for one text turn: every event, and the close if the gateway closed."""

    events: list[dict[str, Any]]
    close_code: int | None
    close_reason: str | None

    @property
    def text(self) -> str:
        return "".join(e.get("delta", "") for e in self.events if e["type"] == "response.output_text.delta")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [e["error"] for e in self.events if e["type"] == "error"]


async def text_turn(gateway: Gateway, alias: str, text: str = "hello there") -> Turn:
    """A text-only OpenAI session: one user message and response.create, until response.done or the close."""
    url = f"{gateway.base}/v1/realtime?model={alias}"
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(TIMEOUT), connect(url, additional_headers=AUTH) as ws:
        session = {"type": "realtime", "output_modalities": ["text"]}
        await ws.send(json.dumps({"type": "session.update", "session": session}))
        item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
        await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
        await ws.send(json.dumps({"type": "response.create"}))
        try:
            while not events or events[-1]["type"] != "response.done":
                events.append(json.loads(await ws.recv()))
        except ConnectionClosed:
            pass
        if events and events[-1]["type"] == "response.done" and events[-1]["response"]["status"] == "failed":
            with contextlib.suppress(ConnectionClosed):
                while True:
                    events.append(json.loads(await ws.recv()))
    return Turn(events, ws.close_code, ws.close_reason)
