"""gateway/transports/client_frames.py: the client's text frames cut in front of uvicorn, everything else left
to websockets and uvicorn exactly as before (pings, fragments, binary frames, bad UTF-8, oversized frames)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode

from gateway.transports.client_frames import ClientFrames
from gateway.transports.inbox import Inbox, Writable
from tests.support.live import MASTER_KEY, GatewayThread, LiveGateway

AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}
MAX_FRAME = 4096  # limits.max_frame_bytes of this module's gateway
UPDATE = {"type": "session.update", "session": {"type": "realtime", "instructions": "Be brief."}}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GatewayThread, LiveGateway]]:
    thread = GatewayThread(tmp_path_factory.mktemp("frames"), general={"limits": {"max_frame_bytes": MAX_FRAME}})
    yield thread, thread.start()
    thread.stop()


@pytest.fixture
async def ws(running: tuple[GatewayThread, LiveGateway]) -> AsyncIterator[ClientConnection]:
    async with connect(f"{running[1].ws_base}/realtime?model=gemini-live", additional_headers=AUTH) as socket:
        assert (await next_event(socket))["type"] == "session.created"
        yield socket


async def next_event(ws: ClientConnection, kind: str | None = None) -> dict[str, Any]:
    """The next server event (of `kind`, skipping others), within 10 s."""
    async with asyncio.timeout(10):
        while True:
            event: dict[str, Any] = json.loads(await ws.recv())
            if kind is None or event["type"] == kind:
                return event


async def updated(ws: ClientConnection, text: str | list[str]) -> dict[str, Any]:
    await ws.send(text)
    return await next_event(ws, "session.updated")


async def test_text_frames_are_taken_in_front_of_uvicorn(
    running: tuple[GatewayThread, LiveGateway], ws: ClientConnection
) -> None:
    """An open session's text frames go through `ClientFrames`; events are answered as always."""
    assert (await updated(ws, json.dumps(UPDATE)))["session"]["instructions"] == "Be brief."
    sessions = list(running[0].handshakes.app.state.live_sessions)
    assert sessions and all(isinstance(s._client._direct._frames, ClientFrames) for s in sessions)
    protocols = [s._client._direct._protocol for s in sessions]
    assert all(isinstance(p.queue, Inbox) and isinstance(p.writable, Writable) for p in protocols)  # no deques


async def test_client_pings_are_answered(ws: ClientConnection) -> None:
    """A ping from the client (a control frame) is websockets' to answer, as before."""
    pong = await ws.ping(b"are you there")
    await asyncio.wait_for(pong, 10)
    assert (await updated(ws, json.dumps(UPDATE)))["type"] == "session.updated"


async def test_fragmented_text_is_reassembled(ws: ClientConnection) -> None:
    """A message sent in fragments is handed to websockets, which joins it; later frames still work."""
    text = json.dumps(UPDATE)
    assert (await updated(ws, [text[:10], text[10:25], text[25:]]))["type"] == "session.updated"
    assert (await updated(ws, text))["type"] == "session.updated"


async def test_binary_frame_gets_the_text_only_error(ws: ClientConnection) -> None:
    """A binary frame is refused as before (the session goes on), and text frames after it are answered."""
    await ws.send(b"\x00\x01")
    error = await next_event(ws, "error")
    assert error["error"]["code"] == "invalid_event" and "text WebSocket message" in error["error"]["message"]
    assert (await updated(ws, json.dumps(UPDATE)))["type"] == "session.updated"


async def test_invalid_utf8_closes_1007(ws: ClientConnection) -> None:
    """A text frame that is not UTF-8 fails the connection with 1007, as websockets does."""
    ws.transport.write(Frame(Opcode.TEXT, b'{"type": "\xff"}').serialize(mask=True))
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(next_event(ws, "never"), 10)
    assert ws.close_code == 1007


async def test_oversized_frame_closes_1009(ws: ClientConnection) -> None:
    """A frame over limits.max_frame_bytes fails the connection with 1009, as websockets does."""
    await ws.send(json.dumps({**UPDATE, "pad": "x" * MAX_FRAME}))
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(next_event(ws, "never"), 10)
    assert ws.close_code == 1009


async def test_client_close_is_answered(ws: ClientConnection) -> None:
    """A close from the client goes through websockets' closing handshake: the gateway echoes 1000."""
    await ws.close(1000, "bye")
    assert ws.close_code == 1000 and ws.protocol.close_rcvd is not None


def test_the_splitter_needs_masked_frames() -> None:
    """On the client side an unmasked frame is unusual: websockets gets it and the rest (and fails it)."""
    from gateway.upstream.frames import UNUSUAL, FrameSplitter

    splitter = FrameSplitter(masked=True, max_size=100)
    unmasked = b"\x81\x02hi"
    splitter.add(Frame(Opcode.TEXT, b"ok").serialize(mask=True) + unmasked)
    assert splitter.next() == (1, True, b"ok")
    assert splitter.next() == (UNUSUAL, True, unmasked)
