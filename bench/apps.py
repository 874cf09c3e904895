"""Baselines on livegate's own stack (Starlette + uvicorn + websockets), run as subprocesses.

`python -m bench.apps health --port P`: only `/health` (the start-up baseline).
`python -m bench.apps relay --port P --upstream-url U [--upstream-key K]`: a WebSocket relay that forwards
frames both ways untranslated; it dials `U` (with the gateway's `dial()`) when the first client frame
arrives, as the gateway dials at the first content.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def health_app() -> Starlette:
    return Starlette(routes=[Route("/health", health)])


def relay_app(url: str, key: str | None) -> Starlette:
    from websockets.exceptions import ConnectionClosed  # not imported by the start-up baseline

    from gateway.upstream.dial import Endpoint, dial

    endpoint = Endpoint(url, "", {"x-goog-api-key": key} if key else {})

    async def relay(websocket: WebSocket) -> None:
        await websocket.accept()
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        upstream = await dial(endpoint)

        async def downstream() -> None:
            with contextlib.suppress(ConnectionClosed, RuntimeError, WebSocketDisconnect):
                async for frame in upstream:
                    await websocket.send_text(frame.decode() if isinstance(frame, bytes) else frame)
            with contextlib.suppress(RuntimeError):
                await websocket.close()

        pump = asyncio.create_task(downstream())
        try:
            with contextlib.suppress(ConnectionClosed):
                while message["type"] != "websocket.disconnect":
                    await upstream.send(message.get("text") or message.get("bytes") or b"")
                    message = await websocket.receive()
        finally:
            pump.cancel()
            await upstream.close()

    return Starlette(routes=[WebSocketRoute("/", relay), Route("/health", health)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.apps")
    parser.add_argument("kind", choices=["health", "relay"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream-url")
    parser.add_argument("--upstream-key")
    args = parser.parse_args(argv)
    import uvicorn

    app = health_app() if args.kind == "health" else relay_app(args.upstream_url, args.upstream_key)
    uvicorn.run(  # the gateway's own uvicorn settings (gateway/serve.py server_config)
        app,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        ws_max_size=16 * 1024 * 1024,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        ws_per_message_deflate=False,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
