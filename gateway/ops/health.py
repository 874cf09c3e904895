"""Operator endpoints: liveness and the model listing."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from gateway.config import GatewayConfig


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def models(request: Request) -> JSONResponse:
    config: GatewayConfig = request.app.state.config
    data = [{"id": alias, "object": "model", "owned_by": "livegate"} for alias in sorted(config.deployments)]
    return JSONResponse({"object": "list", "data": data})
