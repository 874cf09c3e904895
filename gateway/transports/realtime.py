"""The OpenAI Realtime WebSocket endpoint (`/v1/realtime`, `/realtime`): the handshake checks (key, model,
admission), then one `Session` pump for the connection."""

from __future__ import annotations

import logging

from starlette.websockets import WebSocket

from gateway.accounts.admission import SessionCounter
from gateway.accounts.auth import KeyGate
from gateway.close_codes import HandshakeRefusal
from gateway.config import GatewayConfig
from gateway.session import Session
from gateway.transports.channel import WebSocketChannel
from gateway.transports.handshake import chosen_subprotocol, dialect_of, presented_key
from gateway.upstream.dial import UpstreamContext
from schemas.openai import Dialect
from schemas.profiles import ModelProfile
from translators.commands import SendClient
from translators.context import SessionKind
from translators.emit import Emitter
from translators.ids import IdFactory

log = logging.getLogger("livegate.realtime")


async def _reject(websocket: WebSocket, dialect: Dialect, refusal: HandshakeRefusal, **values: str) -> None:
    """An `error` event, then the close: the upgrade itself has already succeeded (§1.2)."""
    refused = refusal.value
    for command in Emitter(dialect, IdFactory()).error(refused.error_code, refused.text(**values)):
        if isinstance(command, SendClient):
            await websocket.send_json(command.event)
    await websocket.close(refused.close_code, refused.reason)


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
        await _reject(websocket, dialect, HandshakeRefusal.MISSING_KEY if key is None else HandshakeRefusal.INVALID_KEY)
        return
    transcription = websocket.query_params.get("intent") == "transcription"
    alias = websocket.query_params.get("model") or (config.transcription_alias if transcription else None)
    if not alias:
        missing = HandshakeRefusal.NO_TRANSCRIPTION_MODEL if transcription else HandshakeRefusal.MISSING_MODEL
        await _reject(websocket, dialect, missing)
        return
    deployments = config.deployments.get(alias)
    if not deployments:
        known = ", ".join(sorted(config.deployments))
        await _reject(websocket, dialect, HandshakeRefusal.INVALID_MODEL, alias=alias, known=known)
        return
    kind = session_kind(transcription, deployments[0].profile)
    if kind is None:
        await _reject(websocket, dialect, HandshakeRefusal.NOT_TRANSCRIPTION_MODEL, alias=alias)
        return
    counter: SessionCounter = websocket.app.state.sessions
    refusal = counter.try_acquire(key)
    if refusal is not None:
        await _reject(websocket, dialect, HandshakeRefusal.OVER_CAPACITY, detail=refusal)
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
