"""gateway/upstream/link.py `LinkFollower` (and `UpstreamConnection.begin_close`): a link followed by callback
against the (strict) emulator, with no task awaiting it."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from gateway.emulator import EmulatorServer, developer_path
from gateway.upstream.connection import UpstreamConnection
from gateway.upstream.dial import Endpoint, dial
from gateway.upstream.link import LinkFollower, UpstreamOutbox

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


async def test_frames_of_one_callback_go_out_in_one_write_in_order() -> None:
    """Frames put during one loop callback are written together at its end, framed each and in order: the
    strict emulator takes the history turns and answers the last one."""
    async with EmulatorServer(host="127.0.0.1", port=0, quiet=True) as server:
        ws, first = await _set_up(server)
        writes: list[bytes] = []
        transport = ws._transport
        assert transport is not None
        write = transport.write
        transport.write = lambda data: (writes.append(data), write(data))[1]  # type: ignore[method-assign]
        got: list[dict[str, Any]] = []
        turn_done = asyncio.Event()

        def on_message(raw: bytes | str) -> None:
            got.append(orjson.loads(raw))
            if got[-1].get("serverContent", {}).get("turnComplete"):
                turn_done.set()

        LinkFollower(ws, on_message, lambda failure: None).start(first)
        outbox = UpstreamOutbox()
        outbox.attach(ws)
        for text in ("one", "two"):
            turn = {"role": "user", "parts": [{"text": text}]}
            outbox.put(orjson.dumps({"clientContent": {"turns": [turn], "turnComplete": False}}))
        outbox.put(TURN)
        assert writes == [] and outbox.backlog > 0  # nothing written inside the callback
        await asyncio.wait_for(turn_done.wait(), 10)
        assert len(writes) == 1 and outbox.backlog == 0
        await ws.close()


async def test_a_batch_cut_off_by_the_link_s_end_is_handed_back_in_order() -> None:
    """A link that ends before the batch is written: its frames wait for the next link, or for `take_unsent`,
    in the order they were put, after nothing was written."""
    async with EmulatorServer(host="127.0.0.1", port=0, quiet=True) as server:
        ws, _ = await _set_up(server)
        outbox = UpstreamOutbox()
        outbox.attach(ws)
        frames = [orjson.dumps({"n": n}) for n in range(3)]
        for frame in frames:
            outbox.put(frame)
        outbox.detach()
        await asyncio.sleep(0)  # the scheduled flush finds no link
        assert outbox.take_unsent() == frames and outbox.backlog == 0
        await ws.close()
