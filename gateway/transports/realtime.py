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
from gateway.upstream.dial import UpstreamContext
from schemas.openai import Dialect
from schemas.profiles import ModelProfile
from translators.commands import SendClient
from translators.emit import Emitter
from translators.ids import IdFactory
from translators.state import SessionKind

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


def session_kind(transcription: bool, profile: ModelProfile) -> SessionKind | None:
    """A transcription model serves transcription sessions only, whatever the URL says; `?intent=transcription`
    on another model is refused (None): a conversational model answers every turn it hears."""
    if profile.transcription_only:
        return SessionKind.TRANSCRIPTION
    return None if transcription else SessionKind.REALTIME


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
    transcription = websocket.query_params.get("intent") == "transcription"
    alias = websocket.query_params.get("model") or (config.transcription_alias if transcription else None)
    if not alias:
        message = "Missing required parameter: 'model'. Connect to /v1/realtime?model=<alias>."
        if transcription:
            message = "No transcription model is configured (model_info.mode: realtime_transcription)."
        await _reject(websocket, dialect, "missing_model", message, REQUEST_CLOSE)
        return
    deployments = config.deployments.get(alias)
    if not deployments:
        known = ", ".join(sorted(config.deployments))
        message = f"Invalid model: '{alias}'. This gateway serves: {known}."
        await _reject(websocket, dialect, "invalid_model", message, REQUEST_CLOSE)
        return
    kind = session_kind(transcription, deployments[0].profile)
    if kind is None:
        message = f"Invalid model for a transcription session: '{alias}' is not a transcription model."
        await _reject(websocket, dialect, "invalid_model", message, REQUEST_CLOSE)
        return
    counter: SessionCounter = websocket.app.state.sessions
    refusal = counter.try_acquire(key)
    if refusal is not None:
        await _reject(websocket, dialect, "rate_limit_exceeded", refusal, TRY_LATER_CLOSE)
        return
    ctx: UpstreamContext = websocket.app.state.upstream
    session = Session(WebSocketChannel(websocket), deployments, ctx, dialect, websocket.app.state.limits, kind)
    live: set[Session] = websocket.app.state.live_sessions
    live.add(session)
    try:
        await session.run()
    finally:
        live.discard(session)
        counter.release(key)
