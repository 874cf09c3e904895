"""Seed 003's simple protocol at `/api/gemini/ws`: a `ClientChannel` that speaks ai-proxy-core's messages to the
client and OpenAI events to the one session pump (translators/simple.py maps between them).

Auth as on `/v1/realtime` (Bearer, `api-key`, the browser sub-protocol), plus `?key=` in the URL, since the
seed's clients set no headers (an `ek_…` client secret is the safe thing to put there). The session starts at
the client's first message: a `config` picks the alias and generation settings; anything else starts the
default alias with text replies, as ai-proxy-core does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from typing import Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from gateway.accounts.access import Accounts, Refusal
from gateway.accounts.client_secrets import grant_preset
from gateway.accounts.credentials import Credentials, Principal
from gateway.close_codes import HandshakeRefusal
from gateway.config import GatewayConfig
from gateway.ops import logs
from gateway.transports.channel import ClientGone, Frame, WebSocketChannel
from gateway.transports.handshake import chosen_subprotocol, presented_key
from gateway.transports.linger import close_refused
from gateway.transports.realtime import run_session
from gateway.transports.watched import client_address
from schemas.openai import Dialect
from schemas.simple import ConfigData, parse_simple
from translators.context import SessionKind
from translators.errors import ClientProtocolError
from translators.session_config import SessionConfig
from translators.simple import CONNECTED, SimpleTranslator, apply_config, initial_config, resolve_model

log = logging.getLogger("livegate.simple")
URL_KEY = "key"  # ?key=…, the Gemini API's own spelling


class SimpleChannel:
    """The session pump's view of a seed-003 client: OpenAI frames in and out, the simple protocol on the wire.

    The socket's own I/O (frames, close, abort) is a `WebSocketChannel`'s; this adds the translation."""

    def __init__(self, websocket: WebSocket, translator: SimpleTranslator, pending: list[dict[str, Any]]) -> None:
        self._socket = WebSocketChannel(websocket)  # accepted, authenticated, its first message already read
        self._translator = translator  # maps both ways, tracks whether a response is open
        self._pending: deque[str] = deque(orjson.dumps(e).decode() for e in pending)  # OpenAI frames to hand out
        self._write = asyncio.Lock()  # the pump's writes and this channel's own replies share the socket

    def encode(self, event: dict[str, Any]) -> str | None:
        message = self._translator.server_message(event)
        return orjson.dumps(message).decode() if message is not None else None

    async def receive(self) -> str | bytes | None:
        while not self._pending:
            raw = await self._socket.receive()
            if raw is None:
                return None
            try:
                events = self._translator.client_events(parse_simple(raw))
            except ClientProtocolError as exc:
                await self._reply({"type": "error", "data": exc.message})
                continue
            self._pending.extend(orjson.dumps(e).decode() for e in events)
        return self._pending.popleft()

    async def send(self, frame: Frame) -> None:
        async with self._write:
            await self._socket.send(frame if isinstance(frame, str) else frame.decode())

    async def close(self, code: int, reason: str) -> None:
        await self._socket.close(code, reason)

    def abort(self) -> None:
        self._socket.abort()

    async def _reply(self, message: dict[str, Any]) -> None:
        with contextlib.suppress(ClientGone):
            await self.send(orjson.dumps(message).decode())


async def _read(websocket: WebSocket) -> str | bytes | None:
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        return None
    text = message.get("text")
    return text if text is not None else (message.get("bytes") or b"")


async def _send(websocket: WebSocket, message: dict[str, Any]) -> None:
    await websocket.send_text(orjson.dumps(message).decode())


async def _opening(
    websocket: WebSocket, config: GatewayConfig, principal: Principal, translator: SimpleTranslator
) -> tuple[str, SessionConfig, list[dict[str, Any]]] | None:
    """Read until the first usable message: the alias, the preset session and the OpenAI events to start with."""
    record = principal.caller.record
    aliases = {  # conversations only (a transcription-only model answers nothing), first the key may use
        alias: deployments[0].model_id
        for alias, deployments in config.deployments.items()
        if not deployments[0].profile.transcription_only
    }
    usable = [alias for alias in aliases if record is None or record.allows(alias)]
    aliases = {alias: aliases[alias] for alias in usable + [a for a in aliases if a not in usable]}
    grant = principal.grant
    while True:
        raw = await _read(websocket)
        if raw is None:
            return None
        try:
            message = parse_simple(raw)
            data = ConfigData.model_validate(message.get("data") or {}) if message["type"] == "config" else ConfigData()
            alias = resolve_model(data.model, aliases, grant.alias if grant else None)
            preset = initial_config(alias, grant_preset(grant) if grant else None)
            if message["type"] != "config":
                return alias, preset, translator.client_events(message)
            preset = apply_config(preset, data)
        except ClientProtocolError as exc:
            await _send(websocket, {"type": "error", "data": exc.message})
            continue
        await _send(websocket, {"type": "config_success", "message": "Configuration acknowledged", "model": alias})
        return alias, preset, []


async def simple_ws(websocket: WebSocket) -> None:
    """`/api/gemini/ws`: authenticate, greet, read the opening message, admit, then one `Session` pump."""
    state = websocket.app.state
    credentials: Credentials = state.credentials
    accounts: Accounts = state.accounts
    subprotocols = list(websocket.scope.get("subprotocols") or [])
    await websocket.accept(subprotocol=chosen_subprotocol(subprotocols))
    if state.draining:
        await _refuse(websocket, Refusal(HandshakeRefusal.DRAINING, "draining"))
        return
    key = presented_key(websocket.headers, subprotocols) or websocket.query_params.get(URL_KEY)
    principal = await credentials.authenticate(key, time.time())
    if isinstance(principal, Refusal):
        await _refuse(websocket, principal)
        return
    with contextlib.suppress(WebSocketDisconnect):
        await _send(websocket, {"type": "system", "data": CONNECTED})
        translator = SimpleTranslator()
        limits = state.limits
        wait = limits.idle_timeout_seconds or limits.max_session_seconds  # the same patience as a live session
        try:
            opening = await asyncio.wait_for(_opening(websocket, state.config, principal, translator), wait)
        except TimeoutError:
            await _send(websocket, {"type": "error", "data": f"No message within {wait:g} s; closing."})
            await websocket.close(1000, "idle_timeout")
            return
        if opening is None:
            return
        alias, preset, events = opening
        ticket = await accounts.admit(principal.caller, alias)  # the key's models, budget and caps
        if isinstance(ticket, Refusal):
            await _refuse(websocket, ticket)
            return
        try:
            channel = SimpleChannel(websocket, translator, events)
            deployments = state.config.deployments[alias]
            await run_session(
                websocket, channel, principal.caller, deployments, Dialect.GA, SessionKind.REALTIME, preset
            )
        finally:
            await accounts.release(ticket)


_NO_KEY = "Missing API key: put it in the URL as ?key=<key> (a gateway key, or an ek_ secret from a browser)."


def _words(refusal: Refusal) -> str:
    """The refusal's words; with no key, where this protocol's clients put one (they set no headers)."""
    return _NO_KEY if refusal.kind is HandshakeRefusal.MISSING_KEY else refusal.message


async def _refuse(websocket: WebSocket, refusal: Refusal) -> None:
    """The same refusals as /v1/realtime (close codes and words, logged), as this protocol's `error` message."""
    logs.connection_refused(websocket.url.path, refusal.reason, refusal.close_code, client_address(websocket))
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await _send(websocket, {"type": "error", "data": _words(refusal)})
        await close_refused(websocket, refusal)
