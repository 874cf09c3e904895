"""A real livegate server on a loopback port, in a background thread, for tests with real clients."""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvloop
import yaml

from gateway.app import create_app
from gateway.config import load_config
from gateway.serve import GracefulServer, server_config

MASTER_KEY = "sk-test-master-key"
START_LIMIT_S = 30.0  # a gateway's start-up (migrations included): about 0.5 s, much longer on a busy machine
LOOPBACK_WEBRTC = {"host_addresses": ["127.0.0.1"]}  # WebRTC calls in tests: ICE on loopback only

DEFAULT_MODELS = [
    {
        "model_name": "gemini-live",
        "litellm_params": {"model": "emulator/gemini-2.5-flash-native-audio-preview-12-2025"},
    },
    {"model_name": "gemini-3.1-live", "litellm_params": {"model": "emulator/gemini-3.1-flash-live-preview"}},
    {"model_name": "gemini-3.8-thinking", "litellm_params": {"model": "emulator/gemini-3.8-live-extended-thinking"}},
    {"model_name": "gemini-3.8-live", "litellm_params": {"model": "emulator/gemini-3.8-live"}},
    {
        "model_name": "gemini-transcribe",
        "litellm_params": {"model": "emulator/gemini-3.5-transcribe-live"},
        "model_info": {"mode": "realtime_transcription"},
    },
    {
        "model_name": "gemini-live-text",
        "litellm_params": {
            "model": "emulator/gemini-2.0-flash-live-preview-04-09",
            "vertex_project": "demo-project",
            "vertex_location": "us-central1",
        },
    },
]


class HandshakeLog:
    """ASGI wrapper recording every WebSocket handshake the gateway receives (path, query, headers,
    sub-protocols), so a test can check on the gateway's side what credentials reached it."""

    def __init__(self, app: Any) -> None:
        self.app = app  # the gateway
        self.seen: list[dict[str, Any]] = []  # one entry per WebSocket handshake, in arrival order

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            self.seen.append(
                {
                    "path": scope["path"],
                    "query": scope["query_string"].decode("latin-1"),
                    "headers": headers,
                    "subprotocols": list(scope.get("subprotocols") or []),
                }
            )
        await self.app(scope, receive, send)


@dataclass
class LiveGateway:
    """A running gateway: `http_base` for SDK base URLs, `ws_base` for raw sockets."""

    port: int
    scheme: str

    @property
    def http_base(self) -> str:
        host = "localhost" if self.scheme == "https" else "127.0.0.1"
        return f"{self.scheme}://{host}:{self.port}/v1"

    @property
    def ws_base(self) -> str:
        return self.http_base.replace("http", "ws", 1)


class GatewayThread:
    """Runs uvicorn with a config written to `tmp_path` until `stop()`."""

    def __init__(
        self,
        tmp_path: Path,
        models: list[dict[str, object]] | None = None,
        *,
        master_key: str | None = MASTER_KEY,
        general: dict[str, object] | None = None,
        certfile: str | None = None,
        keyfile: str | None = None,
    ) -> None:
        document: dict[str, object] = {"model_list": models or DEFAULT_MODELS}
        settings: dict[str, object] = {"webrtc": LOOPBACK_WEBRTC, **(general or {})}
        if master_key:
            settings["master_key"] = master_key
        if settings:
            document["general_settings"] = settings
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(document))
        config = load_config(path, {})
        app = create_app(config)
        options = {"log_level": "warning", "ssl_certfile": certfile, "ssl_keyfile": keyfile, "lifespan": "on"}
        uv_config = server_config(app, "127.0.0.1", 0, **options)
        self.handshakes = HandshakeLog(app)  # every WebSocket handshake, as the gateway received it
        uv_config.app = self.handshakes
        self._server = GracefulServer(uv_config, app)
        self._scheme = "https" if certfile else "http"
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        uvloop.run(self._server.serve())  # the loop `livegate serve` runs on (uvicorn's "auto" picks uvloop)

    def start(self) -> LiveGateway:
        self._thread.start()
        deadline = time.monotonic() + START_LIMIT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"gateway did not start within {START_LIMIT_S:g} s")
            threading.Event().wait(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        return LiveGateway(port, self._scheme)

    def shutdown(self) -> None:
        """Ask the server to exit as SIGTERM would, without waiting."""
        self._server.should_exit = True

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def client_ssl_context(ca_pem: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.load_verify_locations(cadata=ca_pem)
    return ctx


class EmulatorThread:
    """A scripted Gemini Live emulator on its own loop thread, for gateway tests that need its knobs."""

    def __init__(self, script: object | None = None) -> None:
        self._script = script
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self.url = ""
        self.server: Any = None  # the EmulatorServer: `connections` counts upstream sockets
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._main(),), daemon=True)

    async def _main(self) -> None:
        from gateway.emulator.server import EmulatorServer

        self._stop = asyncio.Event()
        async with EmulatorServer(script=self._script, record_messages=False) as server:  # type: ignore[arg-type]
            self.url, self.server = server.url, server
            self._ready.set()
            await self._stop.wait()

    def start(self) -> str:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("emulator did not start")
        return self.url

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)


def alias_on(url: str, alias: str, model: str) -> dict[str, object]:
    """A model_list entry reaching an external emulator as if it were the Gemini API."""
    return {
        "model_name": alias,
        "litellm_params": {"model": f"gemini/{model}", "api_key": "k", "api_base": url.replace("ws://", "http://")},
    }
