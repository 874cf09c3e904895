"""Operator endpoints: liveness, readiness, the model listing."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from gateway.config import GatewayConfig


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def liveliness(request: Request) -> JSONResponse:
    """The process is up (LiteLLM's spelling)."""
    return JSONResponse({"status": "ok"})


async def readiness(request: Request) -> JSONResponse:
    """Ready for new sessions: not draining (SIGTERM) and the database, if any, reachable; else 503."""
    state = request.app.state
    database = state.database
    db = "none"
    if database is not None:
        db = "connected" if await database.ping() else "unreachable"
    draining = bool(state.draining)
    body: dict[str, object] = {"status": "ok", "draining": draining, "db": db}
    ready = not draining and db != "unreachable"
    if not ready:
        body["status"] = "unavailable"
    return JSONResponse(body, status_code=200 if ready else 503)


async def models(request: Request) -> JSONResponse:
    config: GatewayConfig = request.app.state.config
    data = [{"id": alias, "object": "model", "owned_by": "livegate"} for alias in sorted(config.deployments)]
    return JSONResponse({"object": "list", "data": data})
