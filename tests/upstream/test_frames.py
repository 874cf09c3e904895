"""gateway/upstream/frames.py: data frames cut from the byte stream; control and unusual frames handed over."""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from gateway.upstream.connection import UpstreamConnection
from gateway.upstream.dial import Endpoint, dial
from gateway.upstream.frames import CONTROL, UNUSUAL, FrameSplitter, drop_handshake


def frame(opcode: int, payload: bytes, fin: bool = True, extra: int = 0) -> bytes:
    size = len(payload)
    head = bytes((0x80 * fin | extra | opcode,))
    if size < 126:
        return head + bytes((size,)) + payload
    if size < 65536:
        return head + b"\x7e" + size.to_bytes(2, "big") + payload
    return head + b"\x7f" + size.to_bytes(8, "big") + payload


def take_all(splitter: FrameSplitter) -> list[tuple[int, bool, bytes]]:
    out = []
    while (item := splitter.next()) is not None:
        out.append(item)
    splitter.compact()
    return out


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
def test_each_length_encoding_byte_by_byte(size: int) -> None:
    """7-bit, 16-bit and 64-bit lengths, fed one byte at a time: one frame, once, when it is whole."""
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    stream = frame(1, payload) + frame(2, b"next")
    splitter, got = FrameSplitter(), []
    for index in range(len(stream)):
        splitter.add(stream[index : index + 1])
        got += take_all(splitter)
    assert got == [(1, True, payload), (2, True, b"next")]


@pytest.mark.parametrize("chunk", [1, 7, 300, 7000, 10**6])
def test_reads_of_any_size(chunk: int) -> None:
    """A read is cut where it lies while it is all there is, and kept once a frame spans reads: the same frames
    either way, whatever the reads' sizes."""
    frames = [(1, True, b"a" * 6500), (1, True, b"short"), (2, True, bytes(300)), (1, True, b"")]
    stream = b"".join(frame(opcode, payload) for opcode, _, payload in frames)
    splitter, got = FrameSplitter(), []
    for index in range(0, len(stream), chunk):
        splitter.add(stream[index : index + chunk])
        got += take_all(splitter)
    assert got == frames


def test_fragments_and_control_frames() -> None:
    """Continuations come as opcode 0 with their fin bit; a ping between them is handed over whole."""
    ping = frame(9, b"p")
    stream = frame(1, b"he", fin=False) + ping + frame(0, b"llo")
    splitter = FrameSplitter()
    splitter.add(stream)
    assert take_all(splitter) == [(1, False, b"he"), (CONTROL, True, ping), (0, True, b"llo")]


@pytest.mark.parametrize("bad", [frame(1, b"x", extra=0x40), b"\x81\x81mask" + b"x", frame(3, b"x")])
def test_unusual_frames_hand_over_the_rest(bad: bytes) -> None:
    """Reserved bits, a masked server frame or an unknown opcode: everything from there is websockets' to judge."""
    splitter = FrameSplitter()
    splitter.add(frame(1, b"ok") + bad + frame(1, b"after"))
    assert take_all(splitter) == [(1, True, b"ok"), (UNUSUAL, True, bad + frame(1, b"after"))]


async def test_the_connection_reassembles_fragments_and_answers_pings() -> None:
    """Over a real socket: a fragmented message arrives whole, a server ping is answered, a close is clean."""
    pinged = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        await ws.send(["frag", "mented"])
        await asyncio.wait_for(await ws.ping(), 5)  # the pong came back through websockets' parser
        pinged.set()
        await ws.send("last")
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        ws = await dial(Endpoint(f"ws://127.0.0.1:{port}/", ""))
        assert isinstance(ws, UpstreamConnection)
        assert await ws.recv() == "fragmented"
        assert await asyncio.wait_for(ws.recv(), 5) == "last" and pinged.is_set()
        await ws.close()
        assert ws.close_code == 1000


def _open_server(handshake_tail: bytes = b"") -> ServerProtocol:
    """A websockets server protocol that has read a client's opening handshake (+ `handshake_tail`) and accepted."""
    client = ClientProtocol(parse_uri("ws://example.test/"))
    request = client.connect()
    client.send_request(request)
    server = ServerProtocol()
    server.receive_data(b"".join(client.data_to_send()) + handshake_tail)
    [received] = server.events_received()
    server.send_response(server.accept(received))
    assert server.state is State.OPEN
    return server


def _parser_locals(protocol: ServerProtocol) -> dict[str, object]:
    frame_ = protocol.parser.gi_frame  # type: ignore[attr-defined]
    return dict(frame_.f_locals) if frame_ is not None else {}


def test_drop_handshake_frees_the_request_and_keeps_parsing() -> None:
    """At a frame boundary the parser no longer holds the handshake request, and masked frames still parse."""
    server = _open_server()
    assert "request" in _parser_locals(server)
    drop_handshake(server)
    assert "request" not in _parser_locals(server)
    client_frame = b"\x81\x82" + b"\x01\x02\x03\x04" + bytes(a ^ b for a, b in zip(b"hi", b"\x01\x02", strict=True))
    server.receive_data(client_frame)
    [got] = server.events_received()
    assert (got.opcode, got.data) == (Opcode.TEXT, b"hi")


def test_drop_handshake_leaves_a_parser_mid_frame() -> None:
    """Half a frame buffered: the parser is mid-frame and is kept, so the rest of the frame still completes it."""
    server = _open_server(b"\x81\x82\x01\x02")
    parser = server.parser
    drop_handshake(server)
    assert server.parser is parser
    server.receive_data(b"\x03\x04" + bytes(a ^ b for a, b in zip(b"hi", b"\x01\x02", strict=True)))
    [got] = server.events_received()
    assert got.data == b"hi"
