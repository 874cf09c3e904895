"""Server frames cut from the upstream byte stream (RFC 6455 §5.2), sans-I/O: the common case, fast.

websockets' parser is a chain of generators that costs ~4-10 µs a frame (bench/); an open connection's data
frames from a server are simple (unmasked, no extension bits), so `FrameSplitter` cuts them itself. Control
frames are handed to websockets' parser whole (so pings, pongs and the close handshake keep its rules), and
anything unusual (a masked frame, reserved bits, an unknown opcode) hands it the rest of the stream, which it
then judges and fails as websockets always did.
"""

from __future__ import annotations

from typing import Any

from websockets.protocol import State

CONTROL = 8  # opcodes 8-10: close, ping, pong (whole frame bytes for websockets' parser)
UNUSUAL = -1  # everything from this frame on goes to websockets' parser


def drop_handshake(protocol: Any) -> None:
    """websockets' parser generator keeps the opening handshake's request or response (its headers, ~2 KB)
    alive in its frame for as long as the connection lasts. Once open and at a frame boundary (nothing
    buffered), a fresh parser is the same state without them (issue #15: memory per idle session)."""
    if protocol.state is State.OPEN and not protocol.reader.buffer and protocol.parser_exc is None:
        protocol.parser = protocol.parse()
        next(protocol.parser)


class FrameSplitter:
    """`add` bytes, then take `next()` until None; `compact()` after each read drops what was consumed."""

    def __init__(self) -> None:
        self._buffer = bytearray()  # bytes read and not yet consumed (from `_pos`)
        self._pos = 0  # start of the next frame in `_buffer`

    def add(self, data: bytes) -> None:
        self._buffer += data

    def next(self) -> tuple[int, bool, bytes] | None:
        """(opcode, fin, payload) of a data frame (0 continuation, 1 text, 2 binary); (CONTROL, True, frame
        bytes) of a control frame; (UNUSUAL, True, all that is left); None until a whole frame is there."""
        buffer, pos = self._buffer, self._pos
        available = len(buffer) - pos
        if available < 2:
            return None
        first, second = buffer[pos], buffer[pos + 1]
        size, head = second & 0x7F, 2
        if size == 126:
            if available < 4:
                return None
            size, head = int.from_bytes(buffer[pos + 2 : pos + 4], "big"), 4
        elif size == 127:
            if available < 10:
                return None
            size, head = int.from_bytes(buffer[pos + 2 : pos + 10], "big"), 10
        opcode = first & 0x0F
        if second & 0x80 or first & 0x70 or (opcode > 2 and opcode not in (8, 9, 10)):
            return UNUSUAL, True, self.rest()
        end = pos + head + size
        if end > len(buffer):
            return None
        self._pos = end
        if opcode >= CONTROL:
            return CONTROL, True, bytes(buffer[pos:end])
        return opcode, bool(first & 0x80), bytes(buffer[pos + head : end])

    def rest(self) -> bytes:
        """Everything not consumed yet, which is then forgotten."""
        rest = bytes(self._buffer[self._pos :])
        self._buffer.clear()
        self._pos = 0
        return rest

    def compact(self) -> None:
        if self._pos:
            del self._buffer[: self._pos]
            self._pos = 0
