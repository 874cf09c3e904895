"""`general_settings.allowed_origins`: a browser `Origin` not on the list is refused before any key check.

An ASGI gate in the manner of Starlette's TrustedHostMiddleware: validated in `__init__`, then each
connection passes or is refused. Requests without an Origin (SDKs, servers) are not browsers and pass.
"""

from __future__ import annotations

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.ops import logs

FORBIDDEN = 403
_BODY = orjson.dumps(
    {
        "error": {
            "message": "This origin may not use the gateway.",
            "type": "invalid_request_error",
            "param": None,
            "code": "origin_not_allowed",
        }
    }
)


class OriginGate:
    def __init__(self, app: ASGIApp, allowed: tuple[str, ...]) -> None:
        self._app = app
        self._any = "*" in allowed  # the list is only a marker: every origin passes
        self._allowed = frozenset(origin.rstrip("/").lower() for origin in allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self._any:
            await self._app(scope, receive, send)
            return
        origin = Headers(scope=scope).get("origin")
        if origin is None or origin.rstrip("/").lower() in self._allowed:
            await self._app(scope, receive, send)
            return
        client = scope.get("client")
        where = f"{client[0]}:{client[1]}" if client else None
        logs.connection_refused(scope.get("path", ""), "origin not allowed", FORBIDDEN, where, origin=origin)
        await _refuse(scope, receive, send)


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(_BODY)).encode())]
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": FORBIDDEN, "headers": headers})
        await send({"type": "http.response.body", "body": _BODY})
        return
    await receive()  # websocket.connect
    if "websocket.http.response" in scope.get("extensions", {}):
        await send({"type": "websocket.http.response.start", "status": FORBIDDEN, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": _BODY})
    else:
        await send({"type": "websocket.close", "code": 1008})  # the server answers the upgrade with 403
