"""The Starlette app: `/v1/realtime` (and `/realtime`), health and model listing, emulator lifespan."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from gateway.auth import KeyGate, chosen_subprotocol, dialect_of, presented_key
from gateway.config import GatewayConfig
from gateway.session import Session
from gateway.upstream import UpstreamContext
from schemas.openai import Dialect
from translators.emit import Emitter
from translators.ids import IdFactory

log = logging.getLogger("livegate.app")

# Handshake failures, as the real server reports them (OPENAI_REALTIME.md §1.1, §1.2, §4.2).
AUTH_CLOSE = 3000
REQUEST_CLOSE = 4000


async def _reject(websocket: WebSocket, dialect: Dialect, code: str | None, message: str, close: int) -> None:
    """An `error` event, then the close: the upgrade itself has already succeeded (§1.2)."""
    for command in Emitter(dialect, IdFactory()).error(code, message):
        await websocket.send_json(command.event)
    await websocket.close(close, f"invalid_request_error.{code}" if code else "invalid_request_error")


async def realtime(websocket: WebSocket) -> None:
    config: GatewayConfig = websocket.app.state.config
    gate: KeyGate = websocket.app.state.gate
    subprotocols = list(websocket.scope.get("subprotocols") or [])
    dialect = dialect_of(websocket.headers, subprotocols)
    await websocket.accept(subprotocol=chosen_subprotocol(subprotocols))

    key = presented_key(websocket.headers, subprotocols)
    if not gate.allows(key):
        if key is None:
            message = "Missing bearer or basic authentication in header."
            await _reject(websocket, dialect, None, message, AUTH_CLOSE)
        else:
            await _reject(websocket, dialect, "invalid_api_key", "Incorrect API key provided.", AUTH_CLOSE)
        return
    alias = websocket.query_params.get("model")
    if not alias:
        message = "Missing required parameter: 'model'. Connect to /v1/realtime?model=<alias>."
        await _reject(websocket, dialect, "missing_model", message, REQUEST_CLOSE)
        return
    deployments = config.deployments.get(alias)
    if not deployments:
        known = ", ".join(sorted(config.deployments))
        message = f"Invalid model: '{alias}'. This gateway serves: {known}."
        await _reject(websocket, dialect, "invalid_model", message, REQUEST_CLOSE)
        return
    ctx = UpstreamContext(emulator_url=websocket.app.state.emulator_url)
    await Session(websocket, deployments, ctx, dialect).run()


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def models(request: Request) -> JSONResponse:
    config: GatewayConfig = request.app.state.config
    data = [{"id": alias, "object": "model", "owned_by": "livegate"} for alias in sorted(config.deployments)]
    return JSONResponse({"object": "list", "data": data})


def create_app(config: GatewayConfig) -> Starlette:
    """The gateway for one validated config; starts the built-in emulator if an alias uses it."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.emulator_url = None
        if not config.uses_emulator:
            yield
            return
        from gateway.emulator.server import EmulatorServer

        async with EmulatorServer(host="127.0.0.1", port=0, record_messages=False) as emulator:
            app.state.emulator_url = emulator.url
            log.info("built-in Gemini Live emulator at %s", emulator.url)
            yield

    app = Starlette(
        routes=[
            WebSocketRoute("/v1/realtime", realtime),
            WebSocketRoute("/realtime", realtime),
            Route("/health", health),
            Route("/v1/models", models),
        ],
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.gate = KeyGate(config.master_key)
    return app
