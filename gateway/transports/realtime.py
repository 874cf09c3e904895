"""The OpenAI Realtime WebSocket endpoint (`/v1/realtime`, `/realtime`): the handshake checks (key, model,
admission), then one `Session` pump for the connection."""

from __future__ import annotations

import logging

from starlette.websockets import WebSocket

from gateway.accounts.admission import SessionCounter
from gateway.accounts.auth import KeyGate
from gateway.config import GatewayConfig
from gateway.session import Session
from gateway.transports.channel import WebSocketChannel
from gateway.transports.handshake import chosen_subprotocol, dialect_of, presented_key
from gateway.transports.sideband import attach_sideband
from gateway.transports.webrtc import CallRegistry
from gateway.upstream.dial import UpstreamContext
from schemas.openai import Dialect
from translators.commands import SendClient
from translators.emit import Emitter
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
    call_id = websocket.query_params.get("call_id")
    if call_id is not None:
        await _sideband(websocket, dialect, call_id)
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
    session = Session(WebSocketChannel(websocket), deployments, ctx, dialect, websocket.app.state.limits)
    live: set[Session] = websocket.app.state.live_sessions
    live.add(session)
    try:
        await session.run()
    finally:
        live.discard(session)
        counter.release(key)


async def _sideband(websocket: WebSocket, dialect: Dialect, call_id: str) -> None:
    """`?call_id=`: attach to a WebRTC call's session instead of starting one (OPENAI_REALTIME.md §10)."""
    registry: CallRegistry = websocket.app.state.calls
    call = registry.get(call_id)
    if call is None:
        message = f"Call '{call_id}' not found (it has ended, or never existed on this gateway)."
        await _reject(websocket, dialect, "call_not_found", message, REQUEST_CLOSE)
        return
    if call.dialect is not dialect:
        message = f"This call speaks the {call.dialect.name} dialect; connect the sideband in it too."
        await _reject(websocket, dialect, "invalid_value", message, REQUEST_CLOSE)
        return
    await attach_sideband(websocket, call, registry, websocket.app.state.limits.max_client_backlog_bytes)
