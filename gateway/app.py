"""The Starlette app: `/v1/realtime` (and `/realtime`), the native `/v1/vertex-ai/live` passthrough, health and
model listing; the lifespan owns the built-in emulator and the Google token sources."""

from __future__ import annotations

import asyncio
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
from gateway.google_auth import GoogleAuth
from gateway.limits import SessionCounter, sweep_sessions
from gateway.passthrough import vertex_live
from gateway.session import Session
from gateway.upstream import UpstreamContext
from schemas.limits import Limits
from schemas.openai import Dialect
from translators.commands import SendClient
from translators.emit import Emitter
from translators.ids import IdFactory

log = logging.getLogger("livegate.app")

# Handshake failures, as the real server reports them (OPENAI_REALTIME.md §1.1, §1.2, §4.2).
AUTH_CLOSE = 3000
REQUEST_CLOSE = 4000
TRY_LATER_CLOSE = 1013  # RFC 6455: try again later (a concurrency cap)


async def _reject(websocket: WebSocket, dialect: Dialect, code: str | None, message: str, close: int) -> None:
    """An `error` event, then the close: the upgrade itself has already succeeded (§1.2)."""
    for command in Emitter(dialect, IdFactory()).error(code, message):
        if isinstance(command, SendClient):
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
    counter: SessionCounter = websocket.app.state.sessions
    refusal = counter.try_acquire(key)
    if refusal is not None:
        await _reject(websocket, dialect, "rate_limit_exceeded", refusal, TRY_LATER_CLOSE)
        return
    ctx: UpstreamContext = websocket.app.state.upstream
    session = Session(websocket, deployments, ctx, dialect, websocket.app.state.limits)
    live: set[Session] = websocket.app.state.live_sessions
    live.add(session)
    try:
        await session.run()
    finally:
        live.discard(session)
        counter.release(key)


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def models(request: Request) -> JSONResponse:
    config: GatewayConfig = request.app.state.config
    data = [{"id": alias, "object": "model", "owned_by": "livegate"} for alias in sorted(config.deployments)]
    return JSONResponse({"object": "list", "data": data})


class _RedactKeyHeaders(logging.Filter):
    """uvicorn's websockets layer logs every handshake header at DEBUG: keep the client's key out of it."""

    _HEADERS = frozenset({"authorization", "api-key", "x-goog-api-key", "sec-websocket-protocol"})

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.msg == "< %s: %s" and isinstance(args, tuple) and str(args[0]).lower() in self._HEADERS:
            record.args = (args[0], "[redacted]")
        return True


def _redact_server_logs() -> None:
    server_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _RedactKeyHeaders) for f in server_log.filters):
        server_log.addFilter(_RedactKeyHeaders())


@contextlib.asynccontextmanager
async def _builtin_emulator(config: GatewayConfig) -> AsyncIterator[str | None]:
    """The built-in emulator's URL while the app runs, if an alias uses it."""
    if not config.uses_emulator:
        yield None
        return
    from gateway.emulator.server import EmulatorServer

    async with EmulatorServer(host="127.0.0.1", port=0, record_messages=False) as emulator:
        log.info("built-in Gemini Live emulator at %s", emulator.url)
        yield emulator.url


def create_app(
    config: GatewayConfig, limits: Limits | None = None, *, google_auth: GoogleAuth | None = None
) -> Starlette:
    """The gateway for one validated config; starts the built-in emulator if an alias uses it.

    `google_auth` replaces the Google token sources (tests inject a clock or stand-in ADC).
    """
    _redact_server_logs()
    limits = limits or config.limits

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        auth = google_auth or GoogleAuth()  # one token cache for every session (gateway/google_auth.py)
        app.state.google_auth = auth
        try:
            async with _builtin_emulator(config) as emulator_url:
                app.state.emulator_url = emulator_url
                app.state.upstream = UpstreamContext(emulator_url=emulator_url, token_for=auth.token_for)
                sweeper = asyncio.create_task(sweep_sessions(app.state.live_sessions, app.state.limits))
                try:
                    yield
                finally:
                    sweeper.cancel()
        finally:
            auth.close()

    app = Starlette(
        routes=[
            WebSocketRoute("/v1/realtime", realtime),
            WebSocketRoute("/realtime", realtime),
            WebSocketRoute("/v1/vertex-ai/live", vertex_live),
            WebSocketRoute("/vertex-ai/live", vertex_live),
            Route("/health", health),
            Route("/v1/models", models),
        ],
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.gate = KeyGate(config.master_key)
    app.state.limits = limits
    app.state.sessions = SessionCounter(limits)
    app.state.live_sessions = set()  # open Session objects, drained on graceful shutdown
    return app
