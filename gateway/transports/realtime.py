"""The OpenAI Realtime WebSocket endpoint (`/v1/realtime`, `/realtime`): the handshake checks (key, model,
admission), then one `Session` pump for the connection."""

from __future__ import annotations

import logging
import time

from starlette.websockets import WebSocket

from gateway.accounts.admission import SessionCounter
from gateway.accounts.client_secrets import grant_preset
from gateway.accounts.credentials import Credentials, Refusal
from gateway.config import GatewayConfig
from gateway.session import Session
from gateway.transports.channel import WebSocketChannel
from gateway.transports.handshake import chosen_subprotocol, dialect_of, presented_key
from gateway.upstream.dial import UpstreamContext
from schemas.openai import Dialect
from translators.commands import SendClient
from translators.emit import Emitter
from translators.errors import ClientProtocolError
from translators.ids import IdFactory

log = logging.getLogger("livegate.realtime")

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
    credentials: Credentials = websocket.app.state.credentials
    subprotocols = list(websocket.scope.get("subprotocols") or [])
    dialect = dialect_of(websocket.headers, subprotocols)
    await websocket.accept(subprotocol=chosen_subprotocol(subprotocols))

    principal = credentials.authenticate(presented_key(websocket.headers, subprotocols), time.time())
    if isinstance(principal, Refusal):
        await _reject(websocket, dialect, principal.code, principal.message, AUTH_CLOSE)
        return
    grant = principal.grant
    alias = websocket.query_params.get("model") or (grant.alias if grant else None)
    if grant is not None and alias != grant.alias:
        message = f"This client secret was minted for model '{grant.alias}'; the URL asks for '{alias}'."
        await _reject(websocket, dialect, "invalid_model", message, REQUEST_CLOSE)
        return
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
    refusal = counter.try_acquire(principal.key_id)
    if refusal is not None:
        await _reject(websocket, dialect, "rate_limit_exceeded", refusal, TRY_LATER_CLOSE)
        return
    try:
        preset = grant_preset(grant) if grant is not None else None
    except ClientProtocolError as exc:  # minted by a replica whose checks differ from ours
        counter.release(principal.key_id)
        await _reject(websocket, dialect, exc.code, exc.message, REQUEST_CLOSE)
        return
    ctx: UpstreamContext = websocket.app.state.upstream
    session = Session(WebSocketChannel(websocket), deployments, ctx, dialect, websocket.app.state.limits, preset)
    live: set[Session] = websocket.app.state.live_sessions
    live.add(session)
    try:
        await session.run()
    finally:
        live.discard(session)
        counter.release(principal.key_id)
