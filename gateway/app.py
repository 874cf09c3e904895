"""The Starlette app: routes from each room (transports, ops), and the lifespan that owns the built-in emulator,
the Google token sources and the session sweeper."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute

from gateway.accounts.admission import SessionCounter
from gateway.accounts.auth import KeyGate
from gateway.config import GatewayConfig
from gateway.ops.health import health, models
from gateway.ops.logs import redact_server_logs
from gateway.sweeper import sweep_sessions
from gateway.transports.calls import create_call, hangup
from gateway.transports.channel import TransportAbort
from gateway.transports.cors import browser_cors
from gateway.transports.passthrough import vertex_live
from gateway.transports.realtime import realtime
from gateway.transports.rtc_home import WebRTCHome
from gateway.upstream.dial import UpstreamContext
from gateway.upstream.google_auth import GoogleAuth
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
                    await app.state.calls.close()
                    sweeper.cancel()
        finally:
            auth.close()

    app = Starlette(
        routes=[
            WebSocketRoute("/v1/realtime", realtime),
            WebSocketRoute("/realtime", realtime),
            WebSocketRoute("/v1/vertex-ai/live", vertex_live),
            WebSocketRoute("/vertex-ai/live", vertex_live),
            *_call_routes(browser_cors(None)),
            Route("/health", health),
            Route("/v1/models", models),
        ],
        middleware=[Middleware(TransportAbort)],  # a client that takes nothing can be dropped (issue #16 item 8)
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.gate = KeyGate(config.master_key)
    app.state.limits = limits
    app.state.sessions = SessionCounter(limits)
    app.state.live_sessions = set()  # open Session objects, drained on graceful shutdown
    app.state.calls = WebRTCHome(config.webrtc, limits)  # WebRTC calls, by call id (aiortc loads with the first)
    return app


def _call_routes(cors: Middleware) -> list[Route]:
    """WebRTC calls (OPENAI_REALTIME.md §10); browsers post offers from their own origin (CORS)."""
    routes = []
    for prefix in ("/v1/realtime/calls", "/realtime/calls"):
        routes.append(Route(prefix, create_call, methods=["POST", "OPTIONS"], middleware=[cors]))
        routes.append(Route(prefix + "/{call_id}/hangup", hangup, methods=["POST", "OPTIONS"], middleware=[cors]))
    for legacy in ("/v1/realtime", "/realtime"):  # the beta-era samples post their offer here (beta events)
        routes.append(Route(legacy, create_call, methods=["POST", "OPTIONS"], middleware=[cors]))
    return routes
