"""`POST /v1/realtime/client_secrets` (GA) and `POST /v1/realtime/sessions` (beta): a key mints an `ek_…` secret
for one alias and a preset session (OPENAI_REALTIME.md §10). Errors are OpenAI-shaped JSON."""

from __future__ import annotations

import time
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from gateway.accounts.access import Caller, Refusal
from gateway.accounts.client_secrets import ClientSecrets, Grant, SecretTooLarge
from gateway.accounts.credentials import Credentials, Principal
from gateway.close_codes import NO_KEY_OVER_HTTP, HandshakeRefusal
from gateway.config import GatewayConfig
from gateway.ids import new_ids
from gateway.transports.handshake import presented_key
from schemas.client_secrets import (
    DEFAULT_TTL_S,
    BetaClientSecret,
    BetaClientSecretRequest,
    ClientSecretCreateRequest,
    ClientSecretCreateResponse,
    ErrorBody,
)
from schemas.openai import Dialect, parse_client_event
from translators.errors import ClientProtocolError
from translators.session_config import SessionConfig

_NOT_SESSION_FIELDS = ("type", "model", "client_secret")  # carried beside the preset, not in it
AUTH_CLOSE = 3000  # refusals of the key itself (OPENAI_REALTIME.md §1.2): HTTP 401 here


class MintError(Exception):
    """A request that cannot be answered with a secret: the HTTP status and OpenAI error body."""

    def __init__(self, status: int, error: ErrorBody) -> None:
        super().__init__(error.message)
        self.status = status
        self.error = error


def _bad(exc: ClientProtocolError, strip: str = "") -> MintError:
    param = exc.param.removeprefix(strip) if exc.param else None
    return MintError(400, ErrorBody(message=exc.message, param=param, code=exc.code))


def _validation(exc: ValidationError) -> MintError:
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in error["loc"])
    ctx = error.get("ctx") or {}
    if error["type"] == "extra_forbidden":
        body = ErrorBody(message=f"Unknown parameter: '{where}'.", param=where, code="unknown_parameter")
    elif error["type"] in ("greater_than_equal", "less_than_equal"):  # OpenAI's words for a range (§4.2)
        below = error["type"] == "greater_than_equal"
        words, bound = ("below minimum", f">= {ctx.get('ge')}") if below else ("above maximum", f"<= {ctx.get('le')}")
        got = error["input"]
        message = f"Invalid '{where}': integer {words} value. Expected a value {bound}, but got {got} instead."
        code = "integer_below_min_value" if below else "integer_above_max_value"
        body = ErrorBody(message=message, param=where, code=code)
    else:
        body = ErrorBody(message=f"Invalid '{where}': {error['msg']}.", param=where, code="invalid_value")
    return MintError(400, body)


async def _principal(request: Request) -> Principal:
    """The long-lived key that mints: the master key or a virtual key (never a client secret)."""
    credentials: Credentials = request.app.state.credentials
    presented = presented_key(request.headers, ())
    if presented is not None and presented.startswith("ek_"):
        message = "A client secret cannot mint client secrets; use your API key on your server."
        raise MintError(401, ErrorBody(message=message, code="invalid_api_key"))
    principal = await credentials.authenticate(presented, time.time())
    if isinstance(principal, Refusal):
        status = 401 if principal.close_code == AUTH_CLOSE else 503  # a wrong key, or the key store is down
        message = NO_KEY_OVER_HTTP if principal.kind is HandshakeRefusal.MISSING_KEY else principal.message
        raise MintError(status, ErrorBody(message=message, type=principal.error_type, code=principal.code))
    return principal


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError:
        raise MintError(400, ErrorBody(message="The request body is not valid JSON.", code="invalid_json")) from None
    if not isinstance(body, dict):
        raise MintError(400, ErrorBody(message="The request body must be a JSON object.", code="invalid_json"))
    return body


def _check_session(session: dict[str, Any], dialect: Dialect, strip: str) -> None:
    """The same checks as a `session.update` carrying this session (the edge validator)."""
    if dialect is Dialect.GA and session.get("type") == "transcription":
        message = "Transcription sessions are not available through this gateway's client secrets yet."
        raise MintError(400, ErrorBody(message=message, param="session.type", code="invalid_value"))
    event = {"type": "session.update", "session": session}
    try:
        parse_client_event(orjson.dumps(event), dialect)
    except ClientProtocolError as exc:
        raise _bad(exc, strip) from None


def _alias(config: GatewayConfig, caller: Caller, requested: Any, param: str) -> str:
    """The alias the secret is for: the one asked for, else the first this key may use. A key restricted to
    some models (`models`) may mint only for those, as it may connect only to those."""
    record = caller.record
    usable = [
        alias
        for alias, deployments in config.deployments.items()
        if not deployments[0].profile.transcription_only and (record is None or record.allows(alias))
    ]
    alias = requested if isinstance(requested, str) else (usable[0] if usable else next(iter(config.deployments)))
    if alias not in config.deployments:
        known = ", ".join(sorted(config.deployments))
        message = f"Invalid model: '{alias}'. This gateway serves: {known}."
        raise MintError(400, ErrorBody(message=message, param=param, code="invalid_model"))
    if config.deployments[alias][0].profile.transcription_only:
        message = f"Model '{alias}' serves transcription sessions only; client secrets are for realtime sessions."
        raise MintError(400, ErrorBody(message=message, param=param, code="invalid_model"))
    if alias not in usable:
        message = HandshakeRefusal.MODEL_NOT_ALLOWED.value.text(alias=alias)
        raise MintError(404, ErrorBody(message=message, param=param, code="model_not_found"))
    return alias


def _mint(
    request: Request, principal: Principal, alias: str, fields: dict[str, Any], dialect: Dialect, ttl: int
) -> tuple[str, int, dict[str, Any]]:
    """The secret, its expiry and the session object it starts (rendered in `dialect`)."""
    try:
        preset = SessionConfig(model=alias).apply(fields, dialect)
    except ClientProtocolError as exc:
        raise _bad(exc, "" if dialect is Dialect.GA else "session.") from None
    expires_at = int(time.time()) + ttl
    secrets: ClientSecrets = request.app.state.client_secrets
    try:
        value = secrets.mint(Grant(principal.caller.key_id, alias, expires_at, dialect, fields))
    except SecretTooLarge as exc:
        message = (
            f"This session config makes a client secret too long for a WebSocket header ({exc}). Send long "
            "instructions or tools with session.update after connecting instead."
        )
        raise MintError(400, ErrorBody(message=message, param="session", code="invalid_value")) from None
    return value, expires_at, preset.render(dialect, new_ids().new("sess"), expires_at)


def _parse(model: type[BaseModel], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _validation(exc) from None


async def _ga(request: Request) -> dict[str, Any]:
    principal = await _principal(request)
    body: ClientSecretCreateRequest = _parse(ClientSecretCreateRequest, await _body(request))
    session = body.session if body.session is not None else {"type": "realtime"}
    _check_session(session, Dialect.GA, "")
    alias = _alias(request.app.state.config, principal.caller, session.get("model"), "session.model")
    fields = {k: v for k, v in session.items() if k not in _NOT_SESSION_FIELDS}
    ttl = body.expires_after.seconds if body.expires_after else DEFAULT_TTL_S
    value, expires_at, rendered = _mint(request, principal, alias, fields, Dialect.GA, ttl)
    return ClientSecretCreateResponse(value=value, expires_at=expires_at, session=rendered).model_dump()


async def _beta(request: Request) -> dict[str, Any]:
    principal = await _principal(request)
    session = await _body(request)
    secret: BetaClientSecretRequest = _parse(BetaClientSecretRequest, session.get("client_secret") or {})
    _check_session(session, Dialect.BETA, "session.")
    alias = _alias(request.app.state.config, principal.caller, session.get("model"), "model")
    fields = {k: v for k, v in session.items() if k not in _NOT_SESSION_FIELDS}
    ttl = secret.expires_after.seconds if secret.expires_after else DEFAULT_TTL_S
    value, expires_at, rendered = _mint(request, principal, alias, fields, Dialect.BETA, ttl)
    return {**rendered, "client_secret": BetaClientSecret(value=value, expires_at=expires_at).model_dump()}


async def _answer(request: Request, dialect: Dialect) -> JSONResponse:
    try:
        body = await (_ga(request) if dialect is Dialect.GA else _beta(request))
    except MintError as exc:
        return JSONResponse({"error": exc.error.model_dump()}, status_code=exc.status)
    return JSONResponse(body)


async def create_client_secret(request: Request) -> JSONResponse:
    return await _answer(request, Dialect.GA)


async def create_beta_session(request: Request) -> JSONResponse:
    return await _answer(request, Dialect.BETA)
