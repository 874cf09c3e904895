"""The Starlette app: routes from each room (transports, accounts, ops), and the lifespan that owns the database
and spend queue, the built-in emulator, the Google token sources and the session sweeper."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute

from gateway.accounts import admin
from gateway.accounts.client_secrets import ClientSecrets
from gateway.accounts.counters import Counters
from gateway.accounts.credentials import Credentials
from gateway.accounts.origins import OriginGate
from gateway.accounts.secret_routes import create_beta_session, create_client_secret
from gateway.accounts.services import account_services
from gateway.config import GatewayConfig
from gateway.ops.health import health, liveliness, models, readiness
from gateway.ops.logs import redact_server_logs
from gateway.ops.metrics import Metrics, metrics_endpoint
from gateway.sweeper import sweep_sessions
from gateway.transports.calls import create_call, hangup
from gateway.transports.channel import TransportAbort
from gateway.transports.cors import browser_cors
from gateway.transports.passthrough import vertex_live
from gateway.transports.realtime import realtime
from gateway.transports.rtc_home import WebRTCHome
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


def create_app(
    config: GatewayConfig,
    limits: Limits | None = None,
    *,
    google_auth: GoogleAuth | None = None,
    counters: Counters | None = None,
) -> Starlette:
    """The gateway for one validated config; starts the built-in emulator if an alias uses it.

    `google_auth` replaces the Google token sources (tests inject a clock or stand-in ADC); `counters` the
    in-process admission counters (a shared store for several processes).
    """
    redact_server_logs()
    limits = limits or config.limits

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        auth = google_auth or GoogleAuth()  # one token cache for every session (gateway/upstream/google_auth.py)
        app.state.google_auth = auth
        try:
            async with account_services(config, limits, counters) as services, _builtin_emulator(config) as emulator:
                log.debug(services.describe())  # the start-up lines say it once the gateway listens (banner.py)
                app.state.database, app.state.accounts = services.database, services.accounts
                app.state.credentials = Credentials(services.accounts, app.state.client_secrets)
                app.state.stores, app.state.spend_queue = services.stores, services.queue
                app.state.shared = services.shared  # Valkey/Redis counters (readiness pings them), or None
                app.state.metrics.watch_spend_queue(lambda: services.queue.pending, lambda: services.queue.dropped)
                app.state.emulator_url = emulator
                app.state.upstream = UpstreamContext(emulator_url=emulator, token_for=auth.token_for)
                # Everything built so far (modules, config, SQLAlchemy and Alembic objects) lives as long as the
                # process: out of the collector's sight it no longer makes every full collection slower. Measured
                # (bench --keys): without it a gateway with a database paid ~4 % more CPU per audio append.
                gc.collect()
                gc.freeze()
                sweeper = asyncio.create_task(sweep_sessions(app.state.live_sessions, app.state.limits))
                try:
                    yield
                finally:
                    await app.state.calls.close()
                    sweeper.cancel()
        finally:
            auth.close()

    origins = config.accounts.allowed_origins
    app = Starlette(
        routes=[
            WebSocketRoute("/v1/realtime", realtime),
            WebSocketRoute("/realtime", realtime),
            WebSocketRoute("/api/gemini/ws", simple_ws),  # seed 003's simple protocol
            WebSocketRoute("/v1/vertex-ai/live", vertex_live),
            WebSocketRoute("/vertex-ai/live", vertex_live),
            *_browser_routes(browser_cors(origins)),
            Route("/health", health),
            Route("/health/liveliness", liveliness),
            Route("/health/readiness", readiness),
            Route("/metrics", metrics_endpoint),
            Route("/v1/models", models),
            *admin.routes(),
            *console_routes(),
        ],
        # A client that takes nothing can be dropped (issue #16 item 8); browser Origins are checked before anything.
        middleware=[
            Middleware(TransportAbort),
            *([Middleware(OriginGate, allowed=origins)] if origins is not None else []),
        ],
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.client_secrets = ClientSecrets(config.client_secret_keys, config.master_key)
    if app.state.client_secrets.per_process:
        log.info("no master_key or client_secret_keys: ek_ client secrets are valid on this process only")
    app.state.limits = limits
    app.state.metrics = Metrics()
    app.state.draining = False  # set on SIGTERM: readiness answers 503, new sessions are refused
    app.state.live_sessions = set()  # open Session objects, drained on graceful shutdown
    app.state.calls = WebRTCHome(config.webrtc, limits)  # WebRTC calls, by call id (aiortc loads with the first)
    return app


def _browser_routes(cors: Middleware) -> list[Route]:
    """What browser pages call from their own origin (CORS): minting client secrets and WebRTC calls
    (OPENAI_REALTIME.md §10)."""
    routes = [
        Route("/v1/realtime/client_secrets", create_client_secret, methods=["POST", "OPTIONS"], middleware=[cors]),
        Route("/v1/realtime/sessions", create_beta_session, methods=["POST", "OPTIONS"], middleware=[cors]),
    ]
    for prefix in ("/v1/realtime/calls", "/realtime/calls"):
        routes.append(Route(prefix, create_call, methods=["POST", "OPTIONS"], middleware=[cors]))
        routes.append(Route(prefix + "/{call_id}/hangup", hangup, methods=["POST", "OPTIONS"], middleware=[cors]))
    for legacy in ("/v1/realtime", "/realtime"):  # the beta-era samples post their offer here (beta events)
        routes.append(Route(legacy, create_call, methods=["POST", "OPTIONS"], middleware=[cors]))
    return routes
