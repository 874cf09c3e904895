"""`POST /v1/realtime/calls` (a WebRTC offer in, the gateway's SDP answer out) and
`POST /v1/realtime/calls/{call_id}/hangup` (OPENAI_REALTIME.md §10; openai-python `realtime.calls`).

The offer arrives as `application/sdp`, or as `multipart/form-data` with an `sdp` part and an optional
`session` part (a GA session config, checked like a `session.update`). Answer: 201, `application/sdp`,
`Location: /v1/realtime/calls/{call_id}`. Errors are OpenAI-shaped JSON.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson
from starlette.datastructures import State, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.accounts.access import Accounts, Caller, Refusal
from gateway.accounts.client_secrets import Grant, grant_preset
from gateway.accounts.credentials import Credentials, Principal
from gateway.close_codes import HandshakeRefusal
from gateway.config import Deployment, GatewayConfig
from gateway.ops import logs
from gateway.session import Session
from gateway.transports.handshake import dialect_of, presented_key
from gateway.transports.rtc_home import WebRTCHome
from gateway.transports.watched import client_address, watched_session
from schemas.openai import Dialect, parse_client_event
from translators.context import SessionKind
from translators.errors import ClientProtocolError
from translators.session_config import SessionConfig

if TYPE_CHECKING:  # aiortc loads with the first call (rtc_home.py)
    from gateway.transports.call_channel import CallChannel
    from gateway.transports.webrtc import Call

log = logging.getLogger("livegate.calls")

MAX_OFFER_BYTES = 1024 * 1024  # an SDP offer is a few KiB; a session part with many tools stays far below this


# A handshake refusal (gateway/close_codes.py) as an HTTP status: OpenAI's for the same errors.
_STATUS: dict[HandshakeRefusal, int] = {
    HandshakeRefusal.MISSING_KEY: 401,
    HandshakeRefusal.INVALID_KEY: 401,
    HandshakeRefusal.BLOCKED_KEY: 401,
    HandshakeRefusal.EXPIRED_KEY: 401,
    HandshakeRefusal.KEYS_UNAVAILABLE: 503,
    HandshakeRefusal.MODEL_NOT_ALLOWED: 404,
    HandshakeRefusal.OVER_CAPACITY: 429,
    HandshakeRefusal.BUDGET_SPENT: 429,
    HandshakeRefusal.DRAINING: 503,
}


class CallRefused(Exception):
    """A request that gets no call: the HTTP status and OpenAI's error fields."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None,
        param: str | None = None,
        error_type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.param, self.error_type = status, message, code, param, error_type

    @classmethod
    def of(cls, refusal: Refusal) -> CallRefused:
        status = _STATUS.get(refusal.kind, 400)
        return cls(status, refusal.message, refusal.code, error_type=refusal.error_type)

    def response(self) -> JSONResponse:
        error = {"message": self.message, "type": self.error_type, "param": self.param, "code": self.code}
        return JSONResponse({"error": error}, status_code=self.status)


async def create_call(request: Request) -> Response:
    try:
        return await _create(request)
    except CallRefused as refused:
        state: State = request.app.state
        reason, client = refused.code or "missing key", client_address(request)
        logs.connection_refused(request.url.path, reason, refused.status, client)
        state.metrics.refused.labels(refused.code or "missing_key").inc()
        return refused.response()


async def _create(request: Request) -> Response:
    state: State = request.app.state
    if state.draining:
        raise CallRefused.of(Refusal(HandshakeRefusal.DRAINING, "draining"))
    accounts: Accounts = state.accounts
    principal = await _principal(request)
    caller, grant = principal.caller, principal.grant
    offer, session = await _read_offer(request)
    alias, deployments = _target(request, state.config, session, grant)
    dialect = grant.dialect if grant is not None else _dialect(request)
    preset = _preset(alias, grant, session, dialect)
    ticket = await accounts.admit(caller, alias)  # a secret's minting key: its models, budget and caps
    if isinstance(ticket, Refusal):
        raise CallRefused.of(ticket)
    make_session = _session_maker(request, caller, deployments, dialect, preset)

    async def on_end(call: Call) -> None:
        state.live_sessions.discard(call.session)
        await accounts.release(ticket)

    registry = state.calls.registry()
    from gateway.transports.webrtc import InvalidOffer  # loaded by registry()

    try:
        call, answer = await registry.open(offer, dialect, make_session, on_end)
    except InvalidOffer as exc:
        await accounts.release(ticket)
        raise CallRefused(400, str(exc), "invalid_offer", "sdp") from None
    call.key_id = caller.key_id
    log.info("call %s opened for model %s", call.call_id, alias)
    location = f"/v1/realtime/calls/{call.call_id}"
    return Response(answer, status_code=201, media_type="application/sdp", headers={"Location": location})


def _target(
    request: Request, config: GatewayConfig, session: dict[str, Any], grant: Grant | None
) -> tuple[str, list[Deployment]]:
    """The alias: `?model=`, else the session part's model, else the client secret's (which it must match)."""
    alias = request.query_params.get("model") or session.get("model") or (grant.alias if grant else None)
    if grant is not None and alias != grant.alias:
        other = {"minted": grant.alias, "alias": str(alias)}
        raise CallRefused.of(Refusal(HandshakeRefusal.SECRET_OTHER_MODEL, "secret for another model", other))
    if not isinstance(alias, str) or not alias:
        message = "Missing required parameter: 'model'. Pass ?model=<alias> or a 'session' part with a model."
        raise CallRefused(400, message, "missing_model", "model")
    deployments = config.deployments.get(alias)
    if not deployments:
        known = ", ".join(sorted(config.deployments))
        raise CallRefused(400, f"Invalid model: '{alias}'. This gateway serves: {known}.", "invalid_model", "model")
    if deployments[0].profile.transcription_only:
        message = f"'{alias}' is a transcription model: it serves WebSocket sessions (?intent=transcription)."
        raise CallRefused(400, message, "invalid_model", "model")
    return alias, deployments


def _session_maker(
    request: Request, caller: Caller, deployments: list[Deployment], dialect: Dialect, preset: SessionConfig | None
) -> Callable[[CallChannel], Session]:
    """The call's session, metered and watched like a WebSocket session (spend, metrics, log lines)."""
    state: State = request.app.state
    client = client_address(request)

    def make(channel: CallChannel) -> Session:
        return watched_session(state, channel, caller, deployments, dialect, SessionKind.REALTIME, client, preset)

    return make


async def hangup(request: Request) -> Response:
    """Ends the call (its session closes, its upstream is freed); 404 for a call that is not open (or not the
    caller's)."""
    try:
        caller = (await _principal(request)).caller
    except CallRefused as refused:
        return refused.response()
    home: WebRTCHome = request.app.state.calls
    call_id = request.path_params["call_id"]
    call = home.get(call_id)
    if call is None or call.key_id != caller.key_id:
        message = f"Call '{call_id}' not found (it has ended, or never existed on this gateway)."
        return CallRefused(404, message, "call_not_found", "call_id").response()
    call.hangup("hung up by POST /hangup")
    return Response(status_code=200)


async def _principal(request: Request) -> Principal:
    """The presented key or `ek_` client secret, checked as on `/v1/realtime` (OPENAI_REALTIME.md §1.2, §10)."""
    credentials: Credentials = request.app.state.credentials
    principal = await credentials.authenticate(presented_key(request.headers, ()), time.time())
    if isinstance(principal, Refusal):
        raise CallRefused.of(principal)
    return principal


async def _read_offer(request: Request) -> tuple[str, dict[str, Any]]:
    """The SDP offer and the session part (empty when none was sent)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        return await _read_form(request)
    if kind not in ("application/sdp", "text/plain", ""):
        message = f"Unsupported Content-Type '{kind}': send the offer as application/sdp or multipart/form-data."
        raise CallRefused(415, message, "unsupported_content_type")
    body = bytearray()
    async for chunk in request.stream():  # read no further than the cap, whatever the body's size
        body += chunk
        if len(body) > MAX_OFFER_BYTES:
            raise CallRefused(413, f"The offer is larger than {MAX_OFFER_BYTES} bytes.", "request_too_large", "sdp")
    return _offer_text(bytes(body)), {}


async def _read_form(request: Request) -> tuple[str, dict[str, Any]]:
    try:
        form = await request.form(max_files=2, max_fields=2, max_part_size=MAX_OFFER_BYTES)
    except Exception:  # python-multipart's parse errors, Starlette's limits
        raise CallRefused(400, "The multipart body could not be read.", "invalid_request_body") from None
    sdp, session = await _part(form.get("sdp")), await _part(form.get("session"))
    if sdp is None:
        raise CallRefused(400, "Missing required parameter: 'sdp'.", "missing_required_parameter", "sdp")
    if session is None or not session.strip():
        return _offer_text(sdp), {}
    try:
        parsed = orjson.loads(session)
    except orjson.JSONDecodeError:
        raise CallRefused(400, "The 'session' part is not valid JSON.", "invalid_json", "session") from None
    if not isinstance(parsed, dict):
        raise CallRefused(400, "The 'session' part must be a JSON object.", "invalid_type", "session")
    return _offer_text(sdp), parsed


async def _part(value: UploadFile | str | None) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, UploadFile):
        return await value.read()
    return value.encode()


def _offer_text(raw: bytes) -> str:
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise CallRefused(400, "The SDP offer is not UTF-8 text.", "invalid_offer", "sdp") from None
    if not text.lstrip().startswith("v=0"):
        raise CallRefused(400, "The body is not an SDP offer (it must start with 'v=0').", "invalid_offer", "sdp")
    return text


def _preset(alias: str, grant: Grant | None, session: dict[str, Any], dialect: Dialect) -> SessionConfig | None:
    """The session's starting config: a client secret's session, then the `session` part over it (checked
    exactly as a `session.update` carrying it); None when there is neither."""
    if grant is None and not session:
        return None
    if session.get("type") == "transcription":
        message = "Transcription sessions are not available on WebRTC calls through this gateway yet."
        raise CallRefused(400, message, "invalid_value", "session.type")
    try:
        base = grant_preset(grant) if grant is not None else SessionConfig(model=alias)
    except ClientProtocolError as exc:  # minted by a replica whose checks differ from ours
        detail = {"detail": exc.message}
        raise CallRefused.of(Refusal(HandshakeRefusal.SECRET_SESSION, "secret's session", detail)) from None
    if not session:
        return base
    try:
        parse_client_event(orjson.dumps({"type": "session.update", "session": session}), dialect)
        fields = {name: value for name, value in session.items() if name != "model"}  # the alias stays the model
        return base.apply(fields, dialect)
    except ClientProtocolError as exc:
        raise CallRefused(400, exc.message, exc.code, exc.param) from None


def _dialect(request: Request) -> Dialect:
    """GA on `/v1/realtime/calls` unless marked beta (§1.4); beta on the beta era's `POST /v1/realtime`."""
    if not request.url.path.endswith("/calls"):
        return Dialect.BETA
    return dialect_of(request.headers, ())

