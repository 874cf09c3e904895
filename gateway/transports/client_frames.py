"""The client's text frames cut from the byte stream and handed to the session as they arrive (issue #15).

uvicorn's websockets-sansio protocol runs every frame through websockets' generator parser (~4 µs a frame)
and builds an ASGI message for it. `ClientFrames` stands between the transport and that protocol once the
session takes frames by callback: whole, final text frames are unmasked by `FrameSplitter` and given to
`take`; control frames (ping, pong, close) go to uvicorn's protocol whole, so websockets' rules and uvicorn's
answers stay theirs; anything else (binary or fragmented frames, reserved bits, a frame over the size limit,
invalid UTF-8) hands uvicorn the rest of the stream, from that frame on, as if `ClientFrames` were not there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from websockets.protocol import State

from gateway.upstream.frames import CONTROL, UNUSUAL, FrameSplitter

TEXT = 1


class ClientFrames(asyncio.Protocol):
    """The transport's protocol in front of uvicorn's: `install` it, `stop` it; every callback is passed on."""

    def __init__(self, inner: Any, take: Callable[[str], None]) -> None:
        self._inner = inner  # uvicorn's WebSocketsSansIOProtocol: everything but the text frames cut here
        self._take = take  # the session's frame intake
        conn = inner.conn
        self._splitter: FrameSplitter | None = FrameSplitter(masked=True, max_size=conn.max_message_size)

    @classmethod
    def install(cls, inner: Any, take: Callable[[str], None]) -> ClientFrames | None:
        """In front of `inner` if its connection is open, uncompressed and at a frame boundary; else None."""
        conn, transport = inner.conn, inner.transport
        if (
            conn.state is not State.OPEN
            or conn.extensions  # permessage-deflate: websockets inflates
            or conn.reader.buffer  # mid-frame: websockets' parser holds part of it
            or conn.parser_exc is not None
            or inner.close_sent
            or not hasattr(transport, "set_protocol")
        ):
            return None
        frames = cls(inner, take)
        transport.set_protocol(frames)
        return frames

    def stop(self) -> None:
        """Back to uvicorn's protocol alone (what is buffered here goes to it first)."""
        splitter, self._splitter = self._splitter, None
        rest = splitter.rest() if splitter is not None else b""
        transport = self._inner.transport
        if transport.get_protocol() is self:
            transport.set_protocol(self._inner)
        if rest:
            self._inner.data_received(rest)

    # ---- asyncio.Protocol -----------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        splitter, inner = self._splitter, self._inner
        if splitter is None:
            inner.data_received(data)
            return
        splitter.add(data)
        while (item := splitter.next()) is not None:
            opcode, fin, payload = item
            if opcode == TEXT and fin:
                try:
                    text = payload.decode()
                except UnicodeDecodeError:  # websockets fails the connection with 1007
                    self._hand_over(splitter.last_frame() + splitter.rest())
                    return
                if not inner.close_sent:  # what uvicorn does after the app's close: the message is dropped
                    self._take(text)
                continue
            if opcode == CONTROL:
                inner.data_received(payload)  # websockets answers pings and closes; uvicorn writes it
                if inner.conn.state is not State.OPEN:
                    self._hand_over(splitter.rest())
                    return
                continue
            self._hand_over(payload if opcode == UNUSUAL else splitter.last_frame() + splitter.rest())
            return
        splitter.compact()

    def _hand_over(self, data: bytes) -> None:
        self._splitter = None
        if data:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        result: bool | None = self._inner.eof_received()
        return result

    def connection_lost(self, exc: Exception | None) -> None:
        self._splitter = None
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()
