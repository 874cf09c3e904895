"""What the session pump needs from a client transport: frames in, frames out, a close, and an abort.

The WebSocket endpoint, WebRTC calls (`call_channel.py`) and the seed-003 protocol are adapters behind this
one interface, so none of them holds a second copy of the session logic (STYLE.md §5b). A transport may also
offer `write_now(frames) -> bool` (see `ClientOutbox`): a synchronous write, taken while its buffer is not
backed up; one without it has every frame written through `send` by the outbox's writer task. And it may
offer `deliver(take) -> bool`: each client frame handed to `take` as it is read, no task woken per frame;
one without it has its frames read through `receive`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.protocol import State

from gateway.transports.client_frames import ClientFrames
from gateway.transports.inbox import Inbox, Writable
from gateway.upstream.frames import drop_handshake

log = logging.getLogger("livegate.session")

# Where `TransportAbort` leaves the server transport's abort() in a WebSocket scope, and uvicorn's protocol.
ABORT_SCOPE_KEY = "livegate.abort"
PROTOCOL_SCOPE_KEY = "livegate.ws_protocol"


Frame = str | bytes  # one text frame's JSON: a str, or its UTF-8 bytes as orjson makes them (written as they are)


class ClientGone(Exception):
    """The client's side of the transport is closed: nothing more can be written to it."""


class ClientChannel(Protocol):
    """One client connection as the session pump sees it."""

    def encode(self, event: dict[str, Any]) -> Frame | None:
        """The frame that carries this OpenAI server event, or None when the transport carries it another way
        (output audio on a WebRTC track; a data channel, whose writes never block, delivers at once).
        Called synchronously, in event order."""
        ...

    async def receive(self) -> str | bytes | dict[str, Any] | None:
        """The next client frame (text or binary), or an event the transport made itself (a WebRTC call's mic
        audio as `input_audio_buffer.append`, already well-formed); None once the client has gone."""
        ...

    async def send(self, frame: Frame) -> None:
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
        self._direct = DirectFrames.of(websocket.scope.get(PROTOCOL_SCOPE_KEY))  # None: every frame via `send`

    def encode(self, event: dict[str, Any]) -> bytes:
        """orjson's UTF-8 bytes, kept as they are to the socket (no str made and encoded again per event)."""
        return orjson.dumps(event)

    def write_now(self, frames: list[Frame]) -> bool:
        """Write these frames at once, in one write, if the socket's buffer is not backed up; else False."""
        return self._direct is not None and self._direct.write(frames)

    def deliver(self, take: Callable[[str | bytes], None] | None) -> bool:
        """Hand each client frame to `take` from uvicorn's `data_received` (None: back to `receive`, which
        then only sees the disconnect meanwhile); False when the server does not allow it."""
        return self._direct is not None and self._direct.deliver(take)

    async def receive(self) -> str | bytes | None:
        message = await self._ws.receive()
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        return text if text is not None else (message.get("bytes") or b"")

    async def send(self, frame: Frame) -> None:
        try:
            await self._ws.send_text(frame if isinstance(frame, str) else frame.decode())
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


class DirectFrames:
    """Text frames written straight to uvicorn's sans-I/O WebSocket protocol (websockets' `ServerProtocol` on
    an asyncio transport), skipping the ASGI `send` coroutine per frame: the frames of one feed go out in one
    write (issue #15). Only while the connection is open and the transport is not paused for backpressure;
    otherwise `write` returns False and the outbox queues them for `send`, which waits for the buffer."""

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol  # uvicorn's WebSocketsSansIOProtocol for this connection
        self._inbox: Inbox | None = None  # stands in for its receive queue once frames are delivered
        self._frames: ClientFrames | None = None  # cuts text frames in front of it while frames are delivered

    @classmethod
    def of(cls, protocol: Any) -> DirectFrames | None:
        """For uvicorn's websockets-sansio protocol only (the shape this class relies on); None for others."""
        needed = ("conn", "transport", "writable", "close_sent", "disconnected", "queue", "read_paused")
        if protocol is None or not all(hasattr(protocol, name) for name in needed):
            return None
        if getattr(protocol, "handshake_complete", False):
            # The opening handshake's request and response (their headers) are read only until the accept is
            # sent; an open session need not hold them (~3 KB each, issue #15's memory per idle session).
            protocol.request = protocol.response = None
            drop_handshake(protocol.conn)
            writable = protocol.writable
            if isinstance(writable, asyncio.Event) and not getattr(writable, "_waiters", None):  # no `send` waits
                protocol.writable = Writable(writable.is_set())  # no deque held for the connection's life
        return cls(protocol)

    def write(self, frames: list[Frame]) -> bool:
        protocol = self._protocol
        conn, transport = protocol.conn, protocol.transport
        if protocol.close_sent or protocol.disconnected or not protocol.writable.is_set() or transport.is_closing():
            return False
        if conn.state is not State.OPEN:
            return False
        if conn.extensions:  # permessage-deflate (limits.client_compression): websockets compresses
            for frame in frames:
                conn.send_text(frame if isinstance(frame, bytes) else frame.encode())
            transport.write(b"".join(conn.data_to_send()))
            return True
        parts: list[bytes] = []  # header, payload, header, …: joined once, no frame copied on its own first
        for frame in frames:
            data = frame if isinstance(frame, bytes) else frame.encode()
            parts += (_text_header(len(data)), data)
        transport.write(b"".join(parts))
        return True


    def deliver(self, take: Callable[[str | bytes], None] | None) -> bool:
        protocol = self._protocol
        if self._inbox is None:
            if take is None:
                return True
            self._inbox = Inbox(protocol, protocol.queue)  # its asyncio.Queue is let go
            protocol.queue = self._inbox
        self._inbox.take = take
        if take is not None:
            self._inbox.take_queued()
            if self._frames is None:
                self._frames = ClientFrames.install(protocol, take)
        elif self._frames is not None:
            self._frames.stop()
            self._frames = None
        return True


_SHORT_HEADERS = [bytes((0x81, size)) for size in range(126)]


def _text_header(size: int) -> bytes:
    """The header of an unmasked, final text frame (RFC 6455 §5.2) of `size` payload bytes: what a server sends."""
    if size < 126:
        return _SHORT_HEADERS[size]
    if size < 65536:
        return b"\x81\x7e" + size.to_bytes(2, "big")
    return b"\x81\x7f" + size.to_bytes(8, "big")


class TransportAbort:
    """ASGI middleware: puts the server transport's `abort()` in each WebSocket scope (`ABORT_SCOPE_KEY`),
    and uvicorn's protocol object (`PROTOCOL_SCOPE_KEY`, for `DirectFrames`).

    ASGI has no way to drop a connection whose peer reads nothing: a `websocket.close` waits behind the
    blocked writes. uvicorn's `send` is a bound method of its protocol object, which holds the asyncio
    transport; other servers get no abort (`WebSocketChannel.abort` then only logs).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app  # the rest of the stack

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            protocol = getattr(send, "__self__", None)
            abort = getattr(getattr(protocol, "transport", None), "abort", None)
            if callable(abort):
                scope[ABORT_SCOPE_KEY] = abort
                scope[PROTOCOL_SCOPE_KEY] = protocol
        await self.app(scope, receive, send)
