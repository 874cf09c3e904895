"""The native Vertex AI Live passthrough (seed 000): `/v1/vertex-ai/live`, Gemini Live frames both ways untouched.

livegate checks the gateway key, injects Vertex credentials (GEMINI_LIVE.md §1.2), completes the setup's model
name with the project and location (§1.3), and bills every `usageMetadata` (§7, relay_meter.py): a key whose
budget it spends is closed at the end of that turn (1008 insufficient_quota), as on /v1/realtime.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from gateway import close_codes
from gateway.accounts.access import Accounts, Caller, Refusal
from gateway.accounts.meter import SessionMeter
from gateway.config import GatewayConfig, PassthroughSettings
from gateway.ids import new_ids
from gateway.ops import logs
from gateway.transports.handshake import chosen_subprotocol, presented_key
from gateway.transports.relay_meter import ALIAS, RelayMeter
from gateway.transports.relay_watch import RelayWatch
from gateway.upstream.dial import dial_websockets
from gateway.upstream.endpoints import DEFAULT_VERTEX_LOCATION, Endpoint, vertex_url
from gateway.upstream.google_auth import CredentialsError, GoogleAuth
from schemas.config import check_location
from translators.errors import SessionEnd

log = logging.getLogger("livegate.passthrough")

_PROJECT = re.compile(r"^[a-z0-9][a-z0-9.:-]{0,99}$")  # project ids, and legacy domain-scoped ones (a.com:p)
_UNSENDABLE = {1005, 1006, 1015}  # close codes that never go on the wire (RFC 6455 §7.4.1)
_MAX_REASON = 123  # bytes in a close frame's reason (§2)
TRY_LATER_CLOSE = 1013  # RFC 6455: try again later (a cap, a rate, keys that cannot be checked now)


@dataclass(frozen=True)
class _Target:
    project: str
    location: str


@dataclass(frozen=True)
class _Refusal:
    code: int
    reason: str


def _target(query: Mapping[str, str], settings: PassthroughSettings) -> _Target | _Refusal:
    """Project and location: the client's query first, then the config and environment (seed 000)."""
    project = query.get("project_id") or settings.project
    location = query.get("location") or settings.location or DEFAULT_VERTEX_LOCATION
    if not project:
        reason = "Project ID not provided: pass ?project_id= or set DEFAULT_VERTEXAI_PROJECT"
        return _Refusal(close_codes.PASSTHROUGH_NO_PROJECT, reason)
    if not _PROJECT.match(project):
        return _Refusal(close_codes.PASSTHROUGH_BAD_QUERY, "project_id is not a Google Cloud project id")
    try:
        check_location(location)
    except ValueError:
        return _Refusal(close_codes.PASSTHROUGH_BAD_QUERY, "location is not a Vertex AI location")
    return _Target(project, location)


def _reason(text: str) -> str:
    """A close reason: redacted and cut to 123 bytes on a character boundary."""
    return close_codes.redact(text).encode()[:_MAX_REASON].decode(errors="ignore")


async def vertex_live(websocket: WebSocket) -> None:
    """`/v1/vertex-ai/live`: gate, accept, resolve the target, dial Vertex, relay until either side closes."""
    accounts: Accounts = websocket.app.state.accounts
    subprotocols = list(websocket.scope.get("subprotocols") or [])
    caller = await accounts.authenticate(presented_key(websocket.headers, subprotocols))
    if isinstance(caller, Refusal):
        unavailable = caller.close_code == TRY_LATER_CLOSE  # the key store is unreachable: not the client's fault
        _refused(websocket, caller.reason, 503 if unavailable else 401, caller.code)
        await _deny(websocket, unavailable)
        return
    await websocket.accept(subprotocol=chosen_subprotocol(subprotocols))
    if not accounts.required:  # never lend Google credentials to an unauthenticated client
        log.warning("vertex passthrough refused: no general_settings.master_key is configured")
        await websocket.close(close_codes.PASSTHROUGH_CREDENTIALS, close_codes.PASSTHROUGH_NEEDS_GATEWAY_KEY)
        return
    if websocket.app.state.draining:
        _refused(websocket, "draining", 1001, "server_shutdown")
        await websocket.close(1001, "The server is shutting down")
        return
    ticket = await accounts.admit(caller, None)  # passthrough sessions count against the same caps and budget
    if isinstance(ticket, Refusal):
        code = TRY_LATER_CLOSE if ticket.close_code == TRY_LATER_CLOSE else 1008  # bare codes (seed 000): policy
        _refused(websocket, ticket.reason, code, ticket.code)
        await websocket.close(code, ticket.message.encode()[:_MAX_REASON].decode(errors="ignore"))
        return
    try:
        await _serve(websocket, caller)
    finally:
        await accounts.release(ticket)


def _refused(websocket: WebSocket, reason: str, close: int, code: str | None) -> None:
    client = websocket.client
    where = f"{client.host}:{client.port}" if client else None
    logs.connection_refused(websocket.url.path, reason, close, where)
    websocket.app.state.metrics.refused.labels(code or "missing_key").inc()


async def _serve(websocket: WebSocket, caller: Caller) -> None:
    config: GatewayConfig = websocket.app.state.config
    target = _target(websocket.query_params, config.passthrough)
    if isinstance(target, _Refusal):
        await websocket.close(target.code, target.reason)
        return
    try:
        upstream = await _open(config.passthrough, target, websocket.app.state.google_auth)
    except _Refused as refused:
        level = logging.WARNING if refused.code == close_codes.PASSTHROUGH_CREDENTIALS else logging.INFO
        log.log(level, "vertex passthrough refused (close %d): %s", refused.code, refused.reason)
        await websocket.close(refused.code, _reason(refused.reason))
        return
    state = websocket.app.state
    session_id = new_ids().new("sess")
    spend = SessionMeter(caller, ALIAS, session_id, ledger=state.accounts.ledger, queue=state.spend_queue)
    meter = RelayMeter(target.project, target.location, spend, state.metrics)
    meter.opened()
    watch = RelayWatch(state.limits)  # the same limits and drain as /v1/realtime (issue #16 item 9)
    live: set[Any] = state.live_sessions
    live.add(watch)
    close: tuple[int, str] | None = None
    try:
        close = await _relay(websocket, upstream, meter, watch)
    finally:
        live.discard(watch)
        meter.log(*(close or (None, None)))


async def _deny(websocket: WebSocket, unavailable: bool = False) -> None:
    """A wrong or missing gateway key: HTTP 401 before the upgrade, as /v1/realtime's handshake check; 503 when
    keys cannot be checked right now."""
    status = 503 if unavailable else 401
    message = "The gateway cannot check API keys right now." if unavailable else "Incorrect or missing gateway API key."
    error = {"code": status, "message": message, "status": "UNAVAILABLE" if unavailable else "UNAUTHENTICATED"}
    body = {"error": error}  # Google's error shape, for a Gemini client
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(JSONResponse(body, status_code=status))
    else:
        await websocket.close(1008)  # the server answers 403


class _Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


async def _open(settings: PassthroughSettings, target: _Target, auth: GoogleAuth) -> ClientConnection:
    """Credentials, then the Vertex socket: 4001 when credentials fail, 1011 when Vertex is unreachable."""
    try:
        token = await auth.token(settings.credentials)
    except CredentialsError as exc:
        raise _Refused(close_codes.PASSTHROUGH_CREDENTIALS, str(exc)) from None
    url = vertex_url(settings.api_base, target.location, settings.api_version)
    try:
        return await dial_websockets(Endpoint(url, "", token.headers()))
    except InvalidStatus as exc:
        status = exc.response.status_code
        if status in (401, 403):
            code, what = close_codes.PASSTHROUGH_CREDENTIALS, "refused the credentials"
        else:
            code, what = close_codes.PASSTHROUGH_INTERNAL, "refused the connection"
        raise _Refused(code, f"Vertex AI {what} (HTTP {status})") from None
    except (OSError, InvalidHandshake, TimeoutError):
        raise _Refused(close_codes.PASSTHROUGH_INTERNAL, "Could not connect to Vertex AI") from None


async def _relay(
    client: WebSocket, upstream: ClientConnection, meter: RelayMeter, watch: RelayWatch
) -> tuple[int, str]:
    """Both directions until one ends (or a limit or the shutdown ends both); the client then gets the close."""
    watch.start(asyncio.get_running_loop().time())
    up = asyncio.create_task(_client_to_upstream(client, upstream, meter, watch))
    down = asyncio.create_task(_upstream_to_client(upstream, client, meter, watch))
    ended = asyncio.create_task(watch.ended.wait())
    try:
        done, _ = await asyncio.wait({up, down, ended}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (up, down, ended):
            task.cancel()
        await asyncio.gather(up, down, ended, return_exceptions=True)
    errors = [exc for task in done if not task.cancelled() and (exc := task.exception()) is not None]
    for exc in errors:
        log.error("vertex passthrough failed", exc_info=exc)
    if watch.close is None:  # a side ended: Vertex's close (once complete) decides the client's
        await upstream.close()
    code, reason = watch.close or _client_close(upstream, bool(errors))
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await client.close(code, reason)
    await upstream.close()  # a limit or the shutdown: the client was told first, without waiting on Vertex
    return code, reason


def _client_close(upstream: ClientConnection, failed: bool) -> tuple[int, str]:
    """Vertex's own close code and reason for the client; 1011 when the gateway failed (seed 000)."""
    if failed:
        return close_codes.PASSTHROUGH_INTERNAL, "Internal error in the gateway"
    code = upstream.close_code
    if code is None or code in _UNSENDABLE:
        return close_codes.PASSTHROUGH_INTERNAL, "The connection to Vertex AI was lost"
    return code, _reason(upstream.close_reason or "")


async def _client_to_upstream(
    client: WebSocket, upstream: ClientConnection, meter: RelayMeter, watch: RelayWatch
) -> None:
    first = True
    loop = asyncio.get_running_loop()
    while True:
        message = await client.receive()
        if message["type"] == "websocket.disconnect":
            return
        watch.client_frame(loop.time())
        frame: str | bytes | None = message.get("text")
        if frame is None:
            frame = message.get("bytes") or b""
        if first:
            frame, first = meter.setup(frame), False
        meter.seen(frame, upstream=False)
        try:
            await upstream.send(frame)  # str → text frame, bytes → binary frame, as the client sent it
        except ConnectionClosed:
            return


async def _upstream_to_client(
    upstream: ClientConnection, client: WebSocket, meter: RelayMeter, watch: RelayWatch
) -> None:
    # A client gone mid-send is a normal end: the other task sees its disconnect.
    with contextlib.suppress(ConnectionClosed, WebSocketDisconnect, OSError):
        async for frame in upstream:
            charge = meter.seen(frame, upstream=True)
            if isinstance(frame, str):
                await client.send_text(frame)
            else:
                await client.send_bytes(frame)
            watch.upstream_frame(frame)  # after the send: a close it triggers follows this frame
            if charge is not None and charge.over_budget:
                watch.end_after_turn(SessionEnd.BUDGET_EXCEEDED)
