"""The OpenAI Realtime WebSocket endpoint (`/v1/realtime`, `/realtime`): the handshake checks (key or client
secret, model, admission, budget) before any upstream dial, then one `Session` pump for the connection."""

from __future__ import annotations

import logging
import time

from starlette.datastructures import State
from starlette.websockets import WebSocket

from gateway import codecs
from gateway.accounts.access import Accounts, Caller, Refusal
from gateway.accounts.client_secrets import Grant, grant_preset
from gateway.accounts.credentials import Credentials
from gateway.close_codes import HandshakeRefusal
from gateway.config import Deployment, GatewayConfig
from gateway.ops import logs
from gateway.transports.channel import ClientChannel, WebSocketChannel
from gateway.transports.handshake import chosen_subprotocol, dialect_of, presented_key
from gateway.transports.linger import close_refused
from gateway.transports.rtc_home import WebRTCHome
from gateway.transports.sideband import attach_sideband
from gateway.transports.watched import client_address, watched_session
from schemas.openai import Dialect
from schemas.profiles import ModelProfile
from translators.commands import SendClient
from translators.context import SessionKind
from translators.emit import Emitter
from translators.errors import ClientProtocolError
from translators.ids import IdFactory
from translators.session_config import SessionConfig

log = logging.getLogger("livegate.realtime")


async def reject(websocket: WebSocket, dialect: Dialect, refusal: Refusal) -> None:
    """An `error` event, then the close: the upgrade itself has already succeeded (§1.2). Logged and counted."""
    state: State = websocket.app.state
    logs.connection_refused(websocket.url.path, refusal.reason, refusal.close_code, client_address(websocket))
    state.metrics.refused.labels(refusal.code or "missing_key").inc()
    emitted = Emitter(dialect, IdFactory()).error(refusal.code, refusal.message, error_type=refusal.error_type)
    for command in emitted:
        if isinstance(command, SendClient):
            await websocket.send_json(command.event)
    await close_refused(websocket, refusal)


def session_kind(transcription: bool, profile: ModelProfile) -> SessionKind | None:
    """A transcription model serves transcription sessions only, whatever the URL says; `?intent=transcription`
    on another model is refused (None): a conversational model answers every turn it hears."""
    if profile.transcription_only:
        return SessionKind.TRANSCRIPTION
    return None if transcription else SessionKind.REALTIME


def _target(websocket: WebSocket, config: GatewayConfig, grant: Grant | None) -> tuple[str, SessionKind] | Refusal:
    """The alias and the kind of session the URL asks for (`?model=`, `?intent=transcription`); a client secret
    names its alias, so `?model=` may be left out, but not changed."""
    transcription = websocket.query_params.get("intent") == "transcription"
    alias = websocket.query_params.get("model") or (grant.alias if grant else None)
    alias = alias or (config.transcription_alias if transcription else None)
    if grant is not None and alias != grant.alias:
        values = {"minted": grant.alias, "alias": str(alias)}
        return Refusal(HandshakeRefusal.SECRET_OTHER_MODEL, "client secret for another model", values)
    if not alias:
        missing = HandshakeRefusal.NO_TRANSCRIPTION_MODEL if transcription else HandshakeRefusal.MISSING_MODEL
        return Refusal(missing, "no model")
    deployments = config.deployments.get(alias)
    if not deployments:
        known = ", ".join(sorted(config.deployments))
        return Refusal(HandshakeRefusal.INVALID_MODEL, "unknown model", {"alias": alias, "known": known})
    kind = session_kind(transcription, deployments[0].profile)
    if kind is None:
        return Refusal(HandshakeRefusal.NOT_TRANSCRIPTION_MODEL, "not a transcription model", {"alias": alias})
    return alias, kind


async def realtime(websocket: WebSocket) -> None:
    state: State = websocket.app.state
    config: GatewayConfig = state.config
    accounts: Accounts = state.accounts
    credentials: Credentials = state.credentials
    subprotocols = list(websocket.scope.get("subprotocols") or [])
    dialect = dialect_of(websocket.headers, subprotocols)
    await websocket.accept(subprotocol=chosen_subprotocol(subprotocols))
    if state.draining:
        await reject(websocket, dialect, Refusal(HandshakeRefusal.DRAINING, "draining"))
        return
    principal = await credentials.authenticate(presented_key(websocket.headers, subprotocols), time.time())
    if isinstance(principal, Refusal):
        await reject(websocket, dialect, principal)
        return
    call_id = websocket.query_params.get("call_id")
    if call_id is not None:
        if principal.grant is not None:  # a sideband is the app server's, with its own key (§10)
            await reject(websocket, dialect, Refusal(HandshakeRefusal.SIDEBAND_SECRET, "client secret on a sideband"))
            return
        await _sideband(websocket, dialect, call_id, principal.caller)
        return
    target = _target(websocket, config, principal.grant)
    if isinstance(target, Refusal):
        await reject(websocket, dialect, target)
        return
    alias, kind = target
    preset = _preset(principal.grant, kind)
    if isinstance(preset, Refusal):
        await reject(websocket, dialect, preset)
        return
    ticket = await accounts.admit(principal.caller, alias)  # the minting key's models, budget and caps
    if isinstance(ticket, Refusal):
        await reject(websocket, dialect, ticket)
        return
    try:
        deployments = config.deployments[alias]
        await run_session(websocket, WebSocketChannel(websocket), principal.caller, deployments, dialect, kind, preset)
    finally:
        await accounts.release(ticket)


def _preset(grant: Grant | None, kind: SessionKind) -> SessionConfig | Refusal | None:
    """A client secret's session, to start from (a conversation's: mint refuses transcription-only aliases)."""
    if grant is None or kind is not SessionKind.REALTIME:
        return None
    try:
        return grant_preset(grant)
    except ClientProtocolError as exc:  # minted by a replica whose checks differ from ours
        return Refusal(HandshakeRefusal.SECRET_SESSION, "client secret's session refused", {"detail": exc.message})


async def run_session(
    websocket: WebSocket,
    channel: ClientChannel,
    caller: Caller,
    deployments: list[Deployment],
    dialect: Dialect,
    kind: SessionKind,
    preset: SessionConfig | None = None,
) -> None:
    """One admitted session on `channel`, metered to `caller` (a secret's minting key) and watched."""
    state: State = websocket.app.state
    if codecs.preset_wants_codecs(preset):
        await codecs.load()  # off the loop: the preset's G.711 decoder is made with the session
    session = watched_session(state, channel, caller, deployments, dialect, kind, client_address(websocket), preset)
    try:
        await session.run()
    finally:
        state.live_sessions.discard(session)


async def _sideband(websocket: WebSocket, dialect: Dialect, call_id: str, caller: Caller) -> None:
    """`?call_id=`: attach to a WebRTC call's session instead of starting one (OPENAI_REALTIME.md §10). Only
    the key that opened the call may: to any other the call does not exist."""
    state: State = websocket.app.state
    calls: WebRTCHome = state.calls
    call = calls.get(call_id)
    if call is None or call.key_id != caller.key_id:
        await reject(websocket, dialect, Refusal(HandshakeRefusal.CALL_NOT_FOUND, "unknown call", {"call_id": call_id}))
        return
    if call.dialect is not dialect:
        spoken = {"spoken": call.dialect.name}
        await reject(websocket, dialect, Refusal(HandshakeRefusal.CALL_DIALECT, "sideband dialect", spoken))
        return
    await attach_sideband(websocket, call, calls, state.limits.max_client_backlog_bytes)
