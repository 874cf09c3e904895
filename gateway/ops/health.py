"""Operator endpoints: liveness and readiness (open), the model listing (behind a gateway key when one is set)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from gateway.accounts.access import Accounts, Refusal
from gateway.close_codes import NO_KEY_OVER_HTTP, HandshakeRefusal
from gateway.config import GatewayConfig
from gateway.transports.handshake import presented_key


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def liveliness(request: Request) -> JSONResponse:
    """The process is up (LiteLLM's spelling)."""
    return JSONResponse({"status": "ok"})


async def readiness(request: Request) -> JSONResponse:
    """Ready for new sessions: not draining (SIGTERM) and the database, if any, reachable; else 503. Shared
    counters that cannot be reached are reported but keep it ready: this process's own counters serve meanwhile."""
    state = request.app.state
    database = state.database
    db = "none"
    if database is not None:
        db = "connected" if await database.ping() else "unreachable"
    shared = state.shared  # set with state.database at start-up (None: no redis_url)
    counters = "memory"
    if shared is not None:
        counters = "connected" if await shared.counters.ping() else "unreachable (this process's own)"
    draining = bool(state.draining)
    body: dict[str, object] = {"status": "ok", "draining": draining, "db": db, "counters": counters}
    ready = not draining and db != "unreachable"
    if not ready:
        body["status"] = "unavailable"
    return JSONResponse(body, status_code=200 if ready else 503)


async def models(request: Request) -> JSONResponse:
    """`GET /v1/models`, OpenAI-shaped; the aliases are not shown to a client without the key (issue #16)."""
    accounts: Accounts = request.app.state.accounts
    caller = await accounts.authenticate(presented_key(request.headers, ()))  # the master key or a virtual key
    if isinstance(caller, Refusal):  # the WebSocket's words (blocked, expired, …), but OpenAI's HTTP ones for no key
        message = NO_KEY_OVER_HTTP if caller.kind is HandshakeRefusal.MISSING_KEY else caller.message
        status = 503 if caller.kind is HandshakeRefusal.KEYS_UNAVAILABLE else 401  # the key store is down: 503
        error = {"message": message, "type": caller.error_type, "param": None, "code": caller.code}
        return JSONResponse({"error": error}, status_code=status)
    config: GatewayConfig = request.app.state.config
    data = [{"id": alias, "object": "model", "owned_by": "livegate"} for alias in sorted(config.deployments)]
    return JSONResponse({"object": "list", "data": data})
