"""What the session pump needs from a client transport: frames in, frames out, a close, and an abort.

The WebSocket endpoint, WebRTC calls (`call_channel.py`) and the seed-003 protocol are adapters behind this
one interface, so none of them holds a second copy of the session logic (STYLE.md §5b).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

log = logging.getLogger("livegate.session")

# Where `TransportAbort` leaves the server transport's abort() in a WebSocket scope.
ABORT_SCOPE_KEY = "livegate.abort"


class ClientGone(Exception):
    """The client's side of the transport is closed: nothing more can be written to it."""


class ClientChannel(Protocol):
    """One client connection as the session pump sees it."""

    def encode(self, event: dict[str, Any]) -> str | None:
        """The frame that carries this OpenAI server event, or None when the transport carries it another way
        (output audio on a WebRTC track; a data channel, whose writes never block, delivers at once).
        Called synchronously, in event order."""
        ...

    async def receive(self) -> str | bytes | dict[str, Any] | None:
        """The next client frame (text or binary), or an event the transport made itself (a WebRTC call's mic
        audio as `input_audio_buffer.append`, already well-formed); None once the client has gone."""
        ...

    async def send(self, frame: str) -> None:
        """Write one frame; raises `ClientGone` when the client has gone."""
        ...

    async def close(self, code: int, reason: str) -> None:
        """Send a close with this code and reason (best effort: a client that has gone is not an error)."""
        ...

    def abort(self) -> None:
        """Drop the connection now, without a close: the client takes nothing, so no close can be written
        (issue #16 item 8). Pending and future `send`s then raise `ClientGone`, `receive` returns None."""
        ...


class WebSocketChannel:
    """The OpenAI Realtime WebSocket (`/v1/realtime`): one JSON text frame per event."""

    def __init__(self, websocket: WebSocket) -> None:
        self._ws = websocket  # accepted by the endpoint before the session starts

    def encode(self, event: dict[str, Any]) -> str | None:
        return orjson.dumps(event).decode()

    async def receive(self) -> str | bytes | None:
        message = await self._ws.receive()
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        return text if text is not None else (message.get("bytes") or b"")

    async def send(self, frame: str) -> None:
        try:
            await self._ws.send_text(frame)
        except (RuntimeError, WebSocketDisconnect) as exc:
            raise ClientGone from exc

    async def close(self, code: int, reason: str) -> None:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await self._ws.close(code, reason)

    def abort(self) -> None:
        abort: Callable[[], None] | None = self._ws.scope.get(ABORT_SCOPE_KEY)
        if abort is None:  # a server that does not show its transport: the session still ends and frees its slot
            log.warning("cannot drop the client connection: the ASGI server does not expose its transport")
            return
        abort()


class TransportAbort:
    """ASGI middleware: puts the server transport's `abort()` in each WebSocket scope (`ABORT_SCOPE_KEY`).

    ASGI has no way to drop a connection whose peer reads nothing: a `websocket.close` waits behind the
    blocked writes. uvicorn's `send` is a bound method of its protocol object, which holds the asyncio
    transport; other servers get no abort (`WebSocketChannel.abort` then only logs).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app  # the rest of the stack

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            abort = getattr(transport, "abort", None)
            if callable(abort):
                scope[ABORT_SCOPE_KEY] = abort
        await self.app(scope, receive, send)
