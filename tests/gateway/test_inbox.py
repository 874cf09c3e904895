"""gateway/transports/inbox.py: the stand-in for uvicorn's receive queue keeps the queue's order and wake-ups,
on a real uvicorn websockets-sansio protocol object; `Writable` waits and wakes as asyncio.Event does."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState

from gateway.transports.inbox import Inbox, Writable

DISCONNECT = {"type": "websocket.disconnect", "code": 1000}


def frame(text: str) -> dict[str, Any]:
    return {"type": "websocket.receive", "text": text}


async def app(scope: Any, receive: Any, send: Any) -> None:  # never called: only the protocol object is used
    raise AssertionError("not served")


@pytest.fixture
async def protocol() -> AsyncIterator[WebSocketsSansIOProtocol]:
    """uvicorn's protocol for one connection, on a socket pair (so `resume_reading` is real)."""
    ours, theirs = socket.socketpair()
    config = Config(app=app, ws="websockets-sansio")
    config.load()
    made = WebSocketsSansIOProtocol(config, ServerState(), {})
    transport, _ = await asyncio.get_running_loop().connect_accepted_socket(lambda: made, ours)
    yield made
    transport.close()
    theirs.close()


async def test_frames_queued_before_go_first_and_a_disconnect_stays(protocol: WebSocketsSansIOProtocol) -> None:
    """What uvicorn queued before the stand-in: frames to `take` in order, the disconnect (and after) for `get`."""
    for message in (frame("a"), frame("b"), DISCONNECT, frame("late")):
        protocol.queue.put_nowait(message)
    inbox = Inbox(protocol, protocol.queue)
    taken: list[str | bytes] = []
    inbox.take = taken.append
    inbox.take_queued()
    assert taken == ["a", "b"]
    assert await inbox.get() == DISCONNECT and await inbox.get() == frame("late") and inbox.empty()


async def test_take_queued_resumes_reading_that_uvicorn_paused(protocol: WebSocketsSansIOProtocol) -> None:
    """uvicorn pauses reading after a frame nobody asked for; once it is taken, reading resumes."""
    protocol.queue.put_nowait(frame("a"))
    protocol.read_paused = True
    protocol.transport.pause_reading()
    inbox = Inbox(protocol, protocol.queue)
    inbox.take = lambda _: None
    inbox.take_queued()
    assert protocol.read_paused is False and protocol.transport.is_reading()


async def test_frames_go_to_take_at_once_and_without_take_wait_for_get(protocol: WebSocketsSansIOProtocol) -> None:
    """A frame is handed to `take` as uvicorn puts it (reading not paused for it); with `take` None, `get` has it."""
    inbox = Inbox(protocol, protocol.queue)
    taken: list[str | bytes] = []
    inbox.take = taken.append
    inbox.put_nowait(frame("now"))
    inbox.put_nowait({"type": "websocket.receive", "bytes": b"\x00"})
    assert taken == ["now", b"\x00"] and protocol.read_paused and inbox.empty()
    inbox.take = None
    inbox.put_nowait(frame("later"))
    assert not inbox.empty() and await inbox.get() == frame("later")


async def test_get_waits_for_the_disconnect(protocol: WebSocketsSansIOProtocol) -> None:
    """A `get` waiting on an empty inbox wakes for the disconnect uvicorn puts there."""
    inbox = Inbox(protocol, protocol.queue)
    waiting = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    assert not waiting.done()
    inbox.put_nowait(DISCONNECT)
    assert await asyncio.wait_for(waiting, 5) == DISCONNECT


async def test_a_cancelled_get_leaves_the_message_to_the_next(protocol: WebSocketsSansIOProtocol) -> None:
    """Woken, then cancelled before it ran: the message is not lost, the other waiting `get` has it."""
    inbox = Inbox(protocol, protocol.queue)
    first = asyncio.create_task(inbox.get())
    second = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait(DISCONNECT)
    first.cancel()
    assert await asyncio.wait_for(second, 5) == DISCONNECT
    assert first.cancelled() and inbox.empty()


async def test_writable_waits_until_set_and_wakes_every_waiter() -> None:
    """`wait` returns at once while set; after `clear`, every waiting `wait` returns once `set` is called."""
    writable = Writable(True)
    assert writable.is_set() and await writable.wait() is True
    writable.clear()
    waiting = [asyncio.create_task(writable.wait()) for _ in range(2)]
    await asyncio.sleep(0)
    assert not writable.is_set() and not any(task.done() for task in waiting)
    writable.set()
    assert await asyncio.wait_for(asyncio.gather(*waiting), 5) == [True, True]


async def test_a_cancelled_wait_is_forgotten() -> None:
    """A `wait` cancelled while the transport is paused leaves nothing behind; a later `set` still works."""
    writable = Writable(False)
    waiting = asyncio.create_task(writable.wait())
    await asyncio.sleep(0)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    assert writable._waiters is None
    writable.set()
    assert writable.is_set() and await writable.wait() is True
