"""The admin API, LiteLLM-compatible: `/key/generate|info|list|update|delete|block|unblock` and `/spend/logs`.

Master key only. Errors are OpenAI-shaped JSON (`{"error": {message, type, param, code}}`) with HTTP
400/401/403/404 (503 when the database is unreachable).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.accounts.access import Accounts, Caller
from gateway.accounts.key_records import KeyConflict, KeyRecord, token_of
from gateway.accounts.spend_rows import SpendQuery
from gateway.transports.handshake import presented_key
from schemas.admin import LITELLM_ONLY_KEY_FIELDS, KeyDelete, KeyGenerate, KeyRef, KeyUpdate

if TYPE_CHECKING:  # SQLAlchemy: the routes answer 4xx without a database, and never load it then
    from gateway.accounts.keys import KeyStore
    from gateway.accounts.spend import SpendStore

log = logging.getLogger("livegate.admin")
Handler = Callable[[Request, "KeyStore"], Awaitable[Response]]
Body = TypeVar("Body", bound=BaseModel)
MAX_PAGE = 1000


class AdminError(Exception):
    """An admin request that cannot be served: becomes the OpenAI error shape with this HTTP status."""

    def __init__(self, status: int, message: str, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param


def error_response(status: int, message: str, code: str | None, param: str | None = None) -> JSONResponse:
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": code}}, status)


def admin_route(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Master key check, database check, and every failure as an OpenAI-shaped error."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        accounts: Accounts = request.app.state.accounts
        try:
            await _check_master(request, accounts)
            if accounts.keys is None:
                raise AdminError(400, _NO_DATABASE, "database_not_configured")
            return await handler(request, accounts.keys)
        except AdminError as exc:
            return error_response(exc.status, exc.message, exc.code, exc.param)
        except Exception as exc:  # the database went away mid-request: say so, never the driver's text
            log.warning("admin %s failed: %s", request.url.path, type(exc).__name__)
            return error_response(503, "The key database is unreachable; try again shortly.", "database_unavailable")

    return endpoint


_NO_DATABASE = "Virtual keys need a database: set general_settings.database_url (or keep the default SQLite file)."
_MASTER_IS_NOT_VIRTUAL = "No such key: the master key is not a virtual key (those are made with /key/generate)."
_NO_MASTER_KEY_SET = "The admin API needs a master key: set general_settings.master_key (virtual keys come with it)."
_NO_MASTER_KEY = "Missing the master key: send it as Authorization: Bearer <master_key>."


async def _check_master(request: Request, accounts: Accounts) -> None:
    if not accounts.required:  # an open gateway has no admin: no key would ever pass
        raise AdminError(400, _NO_MASTER_KEY_SET, "master_key_not_configured")
    key = presented_key(request.headers, [])
    if accounts.is_master(key):
        return
    if key is None:
        raise AdminError(401, _NO_MASTER_KEY, "invalid_api_key")
    virtual = accounts.keys is not None and key.startswith("sk-")
    if virtual and isinstance(await accounts.authenticate(key), Caller):  # a working virtual key, not allowed here
        raise AdminError(403, "Only the master key may manage keys and read spend.", "insufficient_permissions")
    raise AdminError(401, "Incorrect API key provided.", "invalid_api_key")


async def _body(request: Request, shape: type[Body]) -> Body:
    try:
        raw = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError:
        raise AdminError(400, "The request body is not valid JSON.", "invalid_json") from None
    try:
        return shape.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(str(part) for part in first["loc"]) or None
        message = first["msg"].removeprefix("Value error, ")  # pydantic's prefix for a validator's own words
        if first["type"] == "extra_forbidden":
            known_elsewhere = param in LITELLM_ONLY_KEY_FIELDS and shape in (KeyGenerate, KeyUpdate)
            message = ("A LiteLLM key field livegate does not implement (it would not be enforced): leave it out."
                       if known_elsewhere else "Unknown parameter.")
        raise AdminError(400, f"Invalid '{param}': {message}" if param else message, "invalid_value", param) from None


async def _found(request: Request, keys: KeyStore, ref: str | None) -> KeyRecord:
    if not ref:
        raise AdminError(400, "Missing required parameter: 'key'.", "missing_required_parameter", "key")
    record = await keys.get(token_of(ref))
    if record is None:
        accounts: Accounts = request.app.state.accounts
        message = _MASTER_IS_NOT_VIRTUAL if accounts.is_master(ref) else "No such key."
        raise AdminError(404, message, "key_not_found", "key")
    return record


# ---- /key/* -----------------------------------------------------------------------------------------------
async def generate(request: Request, keys: KeyStore) -> Response:
    fields = await _body(request, KeyGenerate)
    try:
        key, record = await keys.create(fields)
    except KeyConflict as exc:
        raise AdminError(400, str(exc), "key_alias_exists", "key_alias") from None
    log.info("key generated: %s (%s)", record.key_alias or "-", record.key_name)
    return JSONResponse({"key": key, **record.as_json()})


async def info(request: Request, keys: KeyStore) -> Response:
    ref = request.query_params.get("key")
    store: SpendStore = request.app.state.stores.spend
    # The rows first, then the key: its spend only grows and is added in the rows' own transaction, so read
    # after them it covers every row counted (read before, a batch committing between the two reads was counted
    # in `usage` but missing from `spend`: seen with two replicas writing at once).
    usage = await store.totals(token_of(ref)) if ref else {}
    record = await _found(request, keys, ref)
    return JSONResponse({"key": record.token, "info": {**record.as_json(), "usage": usage}})


async def list_keys(request: Request, keys: KeyStore) -> Response:
    _known_params(request, _KEY_LIST_PARAMS)
    page, size = _paging(request, "size", 10)
    filters = {name: request.query_params.get(name) for name in ("user_id", "team_id", "key_alias")}
    records, total = await keys.page(page=page, size=size, filters=filters)
    full = request.query_params.get("return_full_object", "").lower() == "true"
    return JSONResponse(
        {
            "keys": [r.as_json() if full else r.token for r in records],
            "total_count": total,
            "current_page": page,
            "total_pages": math.ceil(total / size) if total else 0,
        }
    )


async def update_key(request: Request, keys: KeyStore) -> Response:
    fields = await _body(request, KeyUpdate)
    record = await _found(request, keys, fields.key)
    try:
        updated = await keys.update(record.token, fields)
    except KeyConflict as exc:
        raise AdminError(400, str(exc), "key_alias_exists", "key_alias") from None
    if updated is None:
        raise AdminError(404, "No such key.", "key_not_found", "key")
    request.app.state.accounts.forget([record.token])
    return JSONResponse({"key": record.token, **updated.as_json()})


async def delete_keys(request: Request, keys: KeyStore) -> Response:
    body = await _body(request, KeyDelete)
    if not body.keys and not body.key_aliases:
        raise AdminError(400, "Missing required parameter: 'keys' (or 'key_aliases').", "missing_required_parameter")
    tokens = [token_of(ref) for ref in body.keys or ()]
    tokens += await keys.tokens_for_aliases(body.key_aliases or [])
    deleted = await keys.delete(tokens) if tokens else []
    if not deleted:
        raise AdminError(404, "No such key.", "key_not_found", "keys" if body.keys else "key_aliases")
    request.app.state.accounts.forget(deleted)
    return JSONResponse({"deleted_keys": deleted})


async def _set_blocked(request: Request, keys: KeyStore, blocked: bool) -> Response:
    body = await _body(request, KeyRef)
    record = await _found(request, keys, body.key)
    updated = await keys.set_blocked(record.token, blocked)
    if updated is None:
        raise AdminError(404, "No such key.", "key_not_found", "key")
    request.app.state.accounts.forget([record.token])
    return JSONResponse(updated.as_json())


async def block(request: Request, keys: KeyStore) -> Response:
    return await _set_blocked(request, keys, True)


async def unblock(request: Request, keys: KeyStore) -> Response:
    return await _set_blocked(request, keys, False)


# ---- /spend/logs ------------------------------------------------------------------------------------------
_SPEND_LOG_PARAMS = ("api_key", "key_alias", "user_id", "request_id", "start_date", "end_date", "page", "page_size")
_KEY_LIST_PARAMS = ("user_id", "team_id", "key_alias", "return_full_object", "page", "size")


def _known_params(request: Request, known: tuple[str, ...]) -> None:
    """A misspelt filter is an error, not a silent match of every row."""
    for name in request.query_params:
        if name not in known:
            raise AdminError(400, f"Unknown parameter: '{name}'. This route takes: {', '.join(known)}.",
                             "unknown_parameter", name)


async def spend_logs(request: Request, keys: KeyStore) -> Response:
    params = request.query_params
    _known_params(request, _SPEND_LOG_PARAMS)
    page, size = _paging(request, "page_size", 50)
    api_key = params.get("api_key")
    query = SpendQuery(
        api_key=token_of(api_key) if api_key else None,
        key_alias=params.get("key_alias"),
        user_id=params.get("user_id"),
        request_id=params.get("request_id"),
        start=_date(params.get("start_date"), "start_date", end=False),
        end=_date(params.get("end_date"), "end_date", end=True),
    )
    store: SpendStore = request.app.state.stores.spend
    rows, total = await store.logs(query, page=page, size=size)
    pages = math.ceil(total / size) if total else 0
    return JSONResponse({"data": rows, "total": total, "page": page, "page_size": size, "total_pages": pages})


def _paging(request: Request, size_name: str, default: int) -> tuple[int, int]:
    values = []
    for name, fallback in (("page", 1), (size_name, default)):
        raw = request.query_params.get(name)
        try:
            value = int(raw) if raw is not None else fallback
        except ValueError:
            value = 0
        if not 1 <= value <= (MAX_PAGE if name == size_name else 10**9):
            raise AdminError(400, f"Invalid '{name}': expected a positive integer.", "invalid_value", name)
        values.append(value)
    return values[0], values[1]


def _date(raw: str | None, name: str, *, end: bool) -> dt.datetime | None:
    """`YYYY-MM-DD` (an end date includes its whole day) or an ISO datetime; UTC unless it says otherwise."""
    if not raw:
        return None
    try:
        if len(raw) == 10:
            day = dt.datetime.combine(dt.date.fromisoformat(raw), dt.time(), dt.UTC)
            return day + dt.timedelta(days=1) if end else day
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        message = f"Invalid '{name}': expected YYYY-MM-DD or an ISO datetime."
        raise AdminError(400, message, "invalid_value", name) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def routes() -> list[Route]:
    wrap = admin_route
    return [
        Route("/key/generate", wrap(generate), methods=["POST"]),
        Route("/key/info", wrap(info), methods=["GET"]),
        Route("/key/list", wrap(list_keys), methods=["GET"]),
        Route("/key/update", wrap(update_key), methods=["POST"]),
        Route("/key/delete", wrap(delete_keys), methods=["POST"]),
        Route("/key/block", wrap(block), methods=["POST"]),
        Route("/key/unblock", wrap(unblock), methods=["POST"]),
        Route("/spend/logs", wrap(spend_logs), methods=["GET"]),
    ]


