"""gateway/upstream/link.py `LinkFollower` (and `UpstreamConnection.begin_close`): a link followed by callback
against the (strict) emulator, with no task awaiting it."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from gateway.emulator import EmulatorServer, developer_path
from gateway.upstream.connection import UpstreamConnection
from gateway.upstream.dial import Endpoint, dial
from gateway.upstream.link import LinkFollower

SETUP = orjson.dumps({"setup": {"model": "models/gemini-2.5-flash-native-audio-preview-12-2025",
                                "generationConfig": {"responseModalities": ["AUDIO"]}}})
TURN = orjson.dumps({"clientContent": {"turns": [{"role": "user", "parts": [{"text": "hi"}]}], "turnComplete": True}})


async def _set_up(server: EmulatorServer) -> tuple[UpstreamConnection, bytes | str]:
    """A link with its setup answered; the answer (read by `recv`, as the dial does) is returned."""
    ws = await dial(Endpoint(server.url + developer_path(), "", {"x-goog-api-key": "k"}))
    assert isinstance(ws, UpstreamConnection)
    assert ws.write(SETUP)
    return ws, await ws.recv(decode=False)


async def test_first_frame_then_each_message_then_one_end_at_the_close() -> None:
    """The dial's frame goes first, then the turn's messages as they arrive; the close is told once, as None."""
    async with EmulatorServer(host="127.0.0.1", port=0, quiet=True) as server:
        ws, first = await _set_up(server)
        got: list[dict[str, Any]] = []
        ends: list[Exception | None] = []
        turn_done, ended = asyncio.Event(), asyncio.Event()

        def on_message(raw: bytes | str) -> None:
            got.append(orjson.loads(raw))
            if got[-1].get("serverContent", {}).get("turnComplete"):
                turn_done.set()

        def on_end(failure: Exception | None) -> None:
            ends.append(failure)
            ended.set()

        LinkFollower(ws, on_message, on_end).start(first)
        assert "setupComplete" in got[0]
        assert ws.write(TURN)
        await asyncio.wait_for(turn_done.wait(), 10)
        assert not ends
        ws.begin_close()  # returns at once; `closed()` completes when the emulator has answered
        await asyncio.wait_for(ended.wait(), 10)
        assert ends == [None] and ws.close_code == 1000 and ws.closed().done()


async def test_what_on_message_raises_ends_the_link_after_the_callback() -> None:
    """A message `on_message` fails on: `on_end` gets the exception on a later loop turn (not inside the read),
    and no later message is fed; the link is still open for the session to close."""
    async with EmulatorServer(host="127.0.0.1", port=0, quiet=True) as server:
        ws, first = await _set_up(server)
        fed: list[bytes | str] = []
        ends: list[Exception | None] = []
        ended = asyncio.Event()

        def on_message(raw: bytes | str) -> None:
            fed.append(raw)
            if len(fed) == 2:
                raise ValueError("our own bug")

        def on_end(failure: Exception | None) -> None:
            ends.append(failure)
            ended.set()

        LinkFollower(ws, on_message, on_end).start(first)
        assert ws.write(TURN)
        await asyncio.wait_for(ended.wait(), 10)
        assert len(ends) == 1 and isinstance(ends[0], ValueError)
        await asyncio.sleep(0.2)  # the rest of the turn arrives: none of it is fed
        assert len(fed) == 2 and not ws.closed().done()
        await ws.close()
        assert len(ends) == 1
