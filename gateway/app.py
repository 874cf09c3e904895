"""The Starlette app: routes from each room (transports, ops), and the lifespan that owns the built-in emulator,
the Google token sources and the session sweeper."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute, request_response

from gateway.accounts.admission import SessionCounter
from gateway.accounts.auth import KeyGate
from gateway.accounts.client_secrets import ClientSecrets
from gateway.accounts.credentials import Credentials
from gateway.accounts.secret_routes import create_beta_session, create_client_secret, with_cors
from gateway.config import GatewayConfig
from gateway.ops.health import health, models
from gateway.ops.logs import redact_server_logs
from gateway.sweeper import sweep_sessions
from gateway.transports.channel import TransportAbort
from gateway.transports.passthrough import vertex_live
from gateway.transports.realtime import realtime
from gateway.transports.simple import simple_ws
from gateway.upstream.dial import UpstreamContext
from gateway.upstream.google_auth import GoogleAuth
from gateway.web.console import console_routes
from schemas.limits import Limits

log = logging.getLogger("livegate.app")


@contextlib.asynccontextmanager
async def _builtin_emulator(config: GatewayConfig) -> AsyncIterator[str | None]:
    """The built-in emulator's URL while the app runs, if an alias uses it."""
    if not config.uses_emulator:
        yield None
        return
    from gateway.emulator.server import EmulatorServer

    async with EmulatorServer(host="127.0.0.1", port=0, record_messages=False, quiet=True) as emulator:
        log.debug("built-in Gemini Live emulator at %s (internal)", emulator.url)
        yield emulator.url


def _cors(endpoint: Any) -> Any:
    """An HTTP endpoint that browser pages on other origins may call (preflights answered)."""
    return with_cors(request_response(endpoint), None)


def create_app(
    config: GatewayConfig, limits: Limits | None = None, *, google_auth: GoogleAuth | None = None
) -> Starlette:
    """The gateway for one validated config; starts the built-in emulator if an alias uses it.

    `google_auth` replaces the Google token sources (tests inject a clock or stand-in ADC).
    """
    redact_server_logs()
    limits = limits or config.limits

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        auth = google_auth or GoogleAuth()  # one token cache for every session (gateway/upstream/google_auth.py)
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
            WebSocketRoute("/api/gemini/ws", simple_ws),  # seed 003's simple protocol
            WebSocketRoute("/v1/vertex-ai/live", vertex_live),
            WebSocketRoute("/vertex-ai/live", vertex_live),
            Route("/v1/realtime/client_secrets", _cors(create_client_secret), methods=["POST", "OPTIONS"]),
            Route("/v1/realtime/sessions", _cors(create_beta_session), methods=["POST", "OPTIONS"]),
            Route("/health", health),
            Route("/v1/models", models),
            *console_routes(),
        ],
        middleware=[Middleware(TransportAbort)],  # a client that takes nothing can be dropped (issue #16 item 8)
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.gate = KeyGate(config.master_key)
    app.state.client_secrets = ClientSecrets(config.client_secret_keys, config.master_key)
    app.state.credentials = Credentials(app.state.gate, app.state.client_secrets)
    if app.state.client_secrets.per_process:
        log.info("no master_key or client_secret_keys: ek_ client secrets are valid on this process only")
    app.state.limits = limits
    app.state.sessions = SessionCounter(limits)
    app.state.live_sessions = set()  # open Session objects, drained on graceful shutdown
    return app
