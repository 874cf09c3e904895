"""Operator endpoints: liveness (open) and the model listing (behind the gateway key when one is set)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from gateway.accounts.auth import KeyGate
from gateway.config import GatewayConfig
from gateway.transports.handshake import presented_key

_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer "
    "auth (i.e. Authorization: Bearer YOUR_KEY)."
)


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def models(request: Request) -> JSONResponse:
    """`GET /v1/models`, OpenAI-shaped; the aliases are not shown to a client without the key (issue #16)."""
    gate: KeyGate = request.app.state.gate
    key = presented_key(request.headers, ())
    if not gate.allows(key):
        if key is None:  # OpenAI's own two answers on its HTTP API
            message, code = _NO_KEY, None
        else:
            message, code = "Incorrect API key provided.", "invalid_api_key"
        error = {"message": message, "type": "invalid_request_error", "param": None, "code": code}
        return JSONResponse({"error": error}, status_code=401)
    config: GatewayConfig = request.app.state.config
    data = [{"id": alias, "object": "model", "owned_by": "livegate"} for alias in sorted(config.deployments)]
    return JSONResponse({"object": "list", "data": data})
