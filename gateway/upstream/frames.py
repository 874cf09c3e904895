"""Data frames cut from a WebSocket byte stream (RFC 6455 §5.2), sans-I/O: the common case, fast.

websockets' parser is a chain of generators that costs ~4-10 µs a frame (bench/); an open connection's data
frames are simple (no extension bits; unmasked from a server, masked from a client), so `FrameSplitter` cuts
them itself: Gemini's frames on the upstream side, the client's on the server side (gateway/transports/
client_frames.py). Control frames are handed to websockets' parser whole (so pings, pongs and the close
handshake keep its rules), and anything unusual (a frame masked the wrong way, reserved bits, an unknown
opcode, one over the size limit) hands it the rest of the stream, which it then judges and fails as
websockets always did.
"""

from __future__ import annotations

from typing import Any

from websockets.protocol import State

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - websockets without its extension
    from websockets.utils import apply_mask

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

    def __init__(self, *, masked: bool = False, max_size: int | None = None) -> None:
        self._masked = masked  # frames from a client: each masked (§5.3); from a server: none
        self._max_size = max_size  # payload bytes a frame may have; a bigger one is websockets' to refuse
        # Bytes read and not yet consumed (from `_pos`): the read's own bytes object while it is all there is (no
        # copy made of it; most reads end at a frame's end), a bytearray once a frame spans reads.
        self._buffer: bytes | bytearray = b""
        self._pos = 0  # start of the next frame in `_buffer`
        self._last = 0  # start of the frame `next` returned last

    def add(self, data: bytes) -> None:
        buffer = self._buffer
        if not buffer:
            self._buffer = data
        elif isinstance(buffer, bytes):  # the part of a frame the last read ended in
            self._buffer = bytearray(buffer) + data
        else:
            buffer += data

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
        masked = self._masked
        if (
            bool(second & 0x80) is not masked
            or first & 0x70
            or (opcode > 2 and opcode not in (8, 9, 10))
            or (self._max_size is not None and size > self._max_size)
        ):
            return UNUSUAL, True, self.rest()
        start = pos + head + 4 if masked else pos + head
        end = start + size
        if end > len(buffer):
            return None
        self._pos, self._last = end, pos
        if opcode >= CONTROL:
            return CONTROL, True, bytes(buffer[pos:end])
        if masked:
            return opcode, bool(first & 0x80), apply_mask(buffer[start:end], buffer[start - 4 : start])
        if isinstance(buffer, bytes):
            return opcode, bool(first & 0x80), buffer[start:end]  # one copy
        return opcode, bool(first & 0x80), bytes(buffer[start:end])

    def last_frame(self) -> bytes:
        """The whole frame `next` returned last, as it came (valid until `compact`)."""
        return bytes(self._buffer[self._last : self._pos])

    def rest(self) -> bytes:
        """Everything not consumed yet, which is then forgotten."""
        rest = bytes(self._buffer[self._pos :])
        self._buffer = b""
        self._pos = self._last = 0
        return rest

    def compact(self) -> None:
        pos = self._pos
        if pos:
            buffer = self._buffer
            if pos == len(buffer):
                self._buffer = b""
            elif isinstance(buffer, bytes):
                self._buffer = buffer[pos:]
            else:
                del buffer[:pos]
            self._pos = self._last = 0
