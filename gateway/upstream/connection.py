"""The upstream WebSocket: websockets' sans-I/O `ClientProtocol` on a plain asyncio `Protocol` (issue #15).

websockets' asyncio `ClientConnection` spends, per frame, a send lock and a drain, a message assembler with its
futures, and a `secrets.token_bytes(4)` mask; its reader wakes a task for every message. Here a session's
frames are written synchronously (`write`: masked in C, the mask cut from a pool of `os.urandom` bytes, so it
stays unpredictable as RFC 6455 §5.3 asks) and messages reach the session by callback (`deliver`) straight
from `data_received`, data frames cut by `FrameSplitter` (gateway/upstream/frames.py). websockets still does
the handshake, control frames and the close handshake with its codes, so `close_code`, `close_reason` and the
`ConnectionClosed` exceptions mean what they meant. Those that iterate (`async for`, `recv`, `send`: the
bench relay, `open_upstream`'s first frame) keep the `ClientConnection` interface. Keep-alive pings as
websockets sends them (a pong within `ping_timeout`, else 1011 and the close).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, cast

from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosedOK
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

from gateway.upstream.frames import CONTROL, UNUSUAL, FrameSplitter, drop_handshake

try:
    from websockets.speedups import apply_mask  # C
except ImportError:  # pragma: no cover - websockets without its extension
    from websockets.utils import apply_mask

Message = bytes | str
# Bytes of os.urandom per refill: 64 frames. Held by every open session (4 KB was a tenth of the per-session
# memory target, issue #15); a refill per 64 frames is ~1 getrandom a second for a live microphone.
_MASK_POOL = 256
_PAUSE_AT, _RESUME_AT = 64, 16  # messages buffered for `recv` before reading pauses, and when it resumes
CLOSE_TIMEOUT_S = 10.0  # websockets' default: how long the peer may take to answer a close


class UpstreamConnection(asyncio.Protocol):
    """One upstream WebSocket; `dial_connection` opens it."""

    def __init__(self, protocol: ClientProtocol, ping_interval: float | None, ping_timeout: float | None) -> None:
        self.protocol = protocol  # websockets' sans-I/O state machine: handshake, parsing, closing
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._loop = asyncio.get_running_loop()  # cached: no get_running_loop() per frame
        self._transport: asyncio.Transport | None = None
        self._handshake: asyncio.Future[None] = self._loop.create_future()  # the 101 (or its failure)
        self._closed: asyncio.Future[None] = self._loop.create_future()  # the TCP connection is gone
        self._deliver: Callable[[bytes], None] | None = None  # takes each message (text as UTF-8 bytes)
        # Messages for `recv` while nothing takes them by callback: a list, not a deque (760 bytes even empty, per
        # session; issue #15), since reading pauses at _PAUSE_AT messages and pop(0) on so few is cheap.
        self._messages: list[Message] = []
        self._message_waiter: asyncio.Future[None] | None = None
        self._fragments: list[bytes] = []  # of a fragmented message
        self._fragment_text = False  # the fragmented message is text
        self._paused_reading = False
        self._paused_writing = False
        self._drain_waiter: asyncio.Future[None] | None = None  # `send` waiting for the buffer to drain
        self._masks = b""  # mask bytes from the pool; those from `_mask_at` on are unused
        self._mask_at = 0
        self._ping_timer: asyncio.TimerHandle | None = None
        self._pong_timer: asyncio.TimerHandle | None = None
        self._ping_payload: bytes | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        self._splitter: FrameSplitter | None = None  # cuts data frames once open (gateway/upstream/frames.py)

    # ---- what the session uses ---------------------------------------------------------------------
    @property
    def state(self) -> State:
        return self.protocol.state

    @property
    def close_code(self) -> int | None:
        return self.protocol.close_code

    @property
    def close_reason(self) -> str | None:
        return self.protocol.close_reason

    def deliver(self, callback: Callable[[bytes], None] | None) -> None:
        """Hand every message from now on to `callback` (text as UTF-8 bytes) as it arrives; None: to `recv`."""
        self._deliver = callback
        while callback is not None and self._messages:
            message = self._messages.pop(0)
            callback(message.encode() if isinstance(message, str) else message)
        self._resume_reading()

    def write(self, data: bytes) -> bool:
        """Send one text frame now, never waiting; False when the socket is backed up (pause_writing) or no
        longer open: the caller queues it then, for `send`."""
        return self.write_many((data,))

    def write_many(self, messages: Sequence[bytes]) -> bool:
        """Send these text frames now, in one write; False (nothing sent) as `write` says."""
        transport = self._transport
        if self._paused_writing or self.protocol.state is not State.OPEN or transport is None or transport.is_closing():
            return False
        if len(messages) == 1:
            transport.write(self._frame(0x81, messages[0]))
        else:
            transport.write(b"".join([self._frame(0x81, message) for message in messages]))
        return True

    @property
    def backlog(self) -> int:
        """Bytes written but not yet taken by the socket."""
        return self._transport.get_write_buffer_size() if self._transport is not None else 0

    def closed(self) -> asyncio.Future[None]:
        """Done when the TCP connection is gone (await it shielded)."""
        return self._closed

    async def wait_closed(self) -> None:
        await asyncio.shield(self._closed)

    # ---- the ClientConnection interface ------------------------------------------------------------
    async def send(self, message: Message, text: bool | None = None) -> None:
        if self._paused_writing:
            self._drain_waiter = self._drain_waiter or self._loop.create_future()
            await asyncio.shield(self._drain_waiter)
        if self.protocol.state is State.CLOSED:
            raise self.protocol.close_exc
        if self.protocol.state is not State.OPEN or self._transport is None:
            await self.wait_closed()
            raise self.protocol.close_exc
        data = message.encode() if isinstance(message, str) else bytes(message)
        as_text = isinstance(message, str) if text is None else text
        self._transport.write(self._frame(0x81 if as_text else 0x82, data))

    async def recv(self, decode: bool | None = None) -> Message:
        while not self._messages:
            if self._closed.done():
                raise self.protocol.close_exc
            self._message_waiter = self._loop.create_future()
            try:
                await asyncio.wait({self._message_waiter, self._closed}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                self._message_waiter = None
        message = self._messages.pop(0)
        if len(self._messages) <= _RESUME_AT:
            self._resume_reading()
        if decode is False and isinstance(message, str):
            return message.encode()
        if decode is True and isinstance(message, bytes):
            return message.decode()
        return message

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Message]:
        try:
            while True:
                yield await self.recv()
        except ConnectionClosedOK:
            return

    def begin_close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake without waiting: the TCP connection is closed once the peer answers, or
        dropped after CLOSE_TIMEOUT_S (`closed()` tells when). Nothing happens on a connection already closing."""
        if self.protocol.state is State.OPEN and self._transport is not None:
            self.protocol.send_close(code, reason)
            self._flush()
            self._expect_close()
        elif self._transport is not None and self.protocol.state is State.CONNECTING:
            self._transport.abort()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """The closing handshake, bounded by CLOSE_TIMEOUT_S; then the TCP connection is closed."""
        self.begin_close(code, reason)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wait_closed(), CLOSE_TIMEOUT_S + 1)

    # ---- asyncio.Protocol ----------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's transports are no asyncio.Transport

    def data_received(self, data: bytes) -> None:
        splitter = self._splitter
        if splitter is None:
            self._through_protocol(data)
            protocol = self.protocol
            if self._handshake.done() and protocol.state is State.OPEN and not protocol.reader.buffer:
                self._splitter = FrameSplitter()  # at a frame boundary: data frames are cut here from now on
                drop_handshake(protocol)
            return
        splitter.add(data)
        while (item := splitter.next()) is not None:
            opcode, fin, payload = item
            if fin and 0 < opcode < CONTROL and self._deliver is not None:  # a whole message: to the session
                self._deliver(payload)
                continue
            if 0 <= opcode < CONTROL:
                self._data(opcode, fin, payload)
                continue
            if opcode == UNUSUAL:  # websockets' parser judges the rest of the stream
                self._splitter = None
                self._through_protocol(payload)
                return
            self._through_protocol(payload)  # a whole control frame: websockets' rules for pings and closes
            if self.protocol.state is not State.OPEN:
                self._splitter = None
                rest = splitter.rest()
                if rest:
                    self._through_protocol(rest)
                return
        splitter.compact()

    def _through_protocol(self, data: bytes) -> None:
        protocol = self.protocol
        protocol.receive_data(data)
        events = protocol.events_received()
        self._flush()  # pongs, close answers
        for event in events:
            if isinstance(event, Frame):
                self._on_frame(event)
            elif isinstance(event, Response):
                self._on_response()
        if protocol.close_expected():
            self._expect_close()

    def eof_received(self) -> bool | None:
        self.protocol.receive_eof()
        self._flush()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.protocol.receive_eof()  # idempotent: the state is CLOSED from here on
        for timer in (self._ping_timer, self._pong_timer, self._close_timer):
            if timer is not None:
                timer.cancel()
        if not self._handshake.done():  # closed before a response: websockets' InvalidMessage, or the OSError
            failure = self.protocol.handshake_exc or exc or ConnectionError("connection closed during the handshake")
            self._handshake.set_exception(failure)
        self._closed.set_result(None)
        self._wake_reader()
        self._paused_writing = False
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    def pause_writing(self) -> None:
        self._paused_writing = True

    def resume_writing(self) -> None:
        self._paused_writing = False
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)
        self._drain_waiter = None

    # ---- internals -------------------------------------------------------------------------------------
    def _frame(self, head: int, data: bytes) -> bytes:
        """A masked frame (RFC 6455 §5.2, §5.3): a client masks every frame."""
        at = self._mask_at
        if at + 4 > len(self._masks):
            self._masks, at = os.urandom(_MASK_POOL), 0
        mask, self._mask_at = self._masks[at : at + 4], at + 4
        size = len(data)
        if size < 126:
            header = bytes((head, 0x80 | size))
        elif size < 65536:
            header = bytes((head, 0xFE)) + size.to_bytes(2, "big")
        else:
            header = bytes((head, 0xFF)) + size.to_bytes(8, "big")
        return header + mask + apply_mask(data, mask)

    def _flush(self) -> None:
        transport = self._transport
        if transport is None:
            return
        for data in self.protocol.data_to_send():
            if data:
                transport.write(data)
            elif transport.can_write_eof():
                transport.write_eof()  # websockets' SEND_EOF
            else:
                transport.close()

    def _on_response(self) -> None:
        if self._handshake.done():
            return
        failure = self.protocol.handshake_exc
        if failure is not None:
            self._handshake.set_exception(failure)
            if self._transport is not None:
                self._transport.close()
            return
        self._handshake.set_result(None)
        self._schedule_ping()

    def _on_frame(self, frame: Frame) -> None:
        opcode = frame.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY or opcode is Opcode.CONT:
            self._data(opcode.value, frame.fin, bytes(frame.data))
        elif opcode is Opcode.PONG and self._ping_payload is not None and bytes(frame.data) == self._ping_payload:
            self._ping_payload = None
            if self._pong_timer is not None:
                self._pong_timer.cancel()
                self._pong_timer = None
            self._schedule_ping()

    def _data(self, opcode: int, fin: bool, data: bytes) -> None:
        """A data frame: 1 text, 2 binary, 0 the continuation of a fragmented message."""
        if opcode:
            if not fin:
                self._fragments, self._fragment_text = [data], opcode == 1
                return
            self._message(data, opcode == 1)
            return
        self._fragments.append(data)
        if fin:
            data, self._fragments = b"".join(self._fragments), []
            self._message(data, self._fragment_text)

    def _message(self, data: bytes, text: bool) -> None:
        deliver = self._deliver
        if deliver is not None:
            deliver(data)
            return
        if text:
            try:
                self._messages.append(data.decode())
            except UnicodeDecodeError:
                self.protocol.fail(1007, "invalid UTF-8")  # what websockets' reader does
                self._flush()
                self._expect_close()
                return
        else:
            self._messages.append(data)
        self._wake_reader()
        if len(self._messages) >= _PAUSE_AT and not self._paused_reading and self._transport is not None:
            self._paused_reading = True
            self._transport.pause_reading()

    def _wake_reader(self) -> None:
        if self._message_waiter is not None and not self._message_waiter.done():
            self._message_waiter.set_result(None)

    def _resume_reading(self) -> None:
        if self._paused_reading and self._transport is not None:
            self._paused_reading = False
            self._transport.resume_reading()

    def _expect_close(self) -> None:
        if self._close_timer is None and self._transport is not None:
            self._close_timer = self._loop.call_later(CLOSE_TIMEOUT_S, self._transport.abort)

    def _schedule_ping(self) -> None:
        if self._ping_interval:
            self._ping_timer = self._loop.call_later(self._ping_interval, self._ping)

    def _ping(self) -> None:
        self._ping_timer = None
        if self.protocol.state is not State.OPEN:
            return
        self._ping_payload = os.urandom(4)
        self.protocol.send_ping(self._ping_payload)
        self._flush()
        if self._ping_timeout:
            self._pong_timer = self._loop.call_later(self._ping_timeout, self._keepalive_lost)
        else:
            self._schedule_ping()

    def _keepalive_lost(self) -> None:
        """No pong in time: the link is dead (websockets closes 1011 "keepalive ping timeout")."""
        self._pong_timer = None
        if self.protocol.state is State.OPEN:
            self.protocol.fail(1011, "keepalive ping timeout")
            self._flush()
        if self._transport is not None:
            self._transport.abort()


async def dial_connection(
    url: str,
    headers: Mapping[str, str],
    *,
    open_timeout: float,
    ping_interval: float | None,
    ping_timeout: float | None,
    user_agent: str,
    logger: logging.Logger,
) -> UpstreamConnection:
    """TCP (TLS for wss://), the opening handshake with `headers`; raises what websockets' `connect` raises."""
    uri = parse_uri(url)
    protocol = ClientProtocol(uri, max_size=None, logger=logger)
    loop = asyncio.get_running_loop()
    connection: UpstreamConnection | None = None

    def factory() -> UpstreamConnection:
        nonlocal connection
        connection = UpstreamConnection(protocol, ping_interval, ping_timeout)
        return connection

    secure: Any = ssl.create_default_context() if uri.secure else None
    try:
        async with asyncio.timeout(open_timeout):
            await loop.create_connection(factory, uri.host, uri.port, ssl=secure)
            assert connection is not None
            request = protocol.connect()
            request.headers.update(headers)
            request.headers.setdefault("User-Agent", user_agent)
            protocol.send_request(request)
            connection._flush()
            await connection._handshake
    except BaseException:
        if connection is not None and connection._transport is not None:
            connection._transport.abort()
        raise
    return connection
