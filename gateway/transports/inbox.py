"""Stand-ins for uvicorn's per-connection asyncio objects once a session runs on the connection.

uvicorn's websockets-sansio protocol gives every connection an `asyncio.Queue` (three deques and an `Event`
with a fourth: ~3 KB held for the connection's life, issue #15's memory per idle session) although, with
frames delivered by callback, it only ever carries the disconnect. `Inbox` takes its place with the same three
methods uvicorn calls (`put_nowait`, `get`, `empty`), a list and a future made when someone waits. Its
`writable` `asyncio.Event` (another deque, ~0.8 KB) becomes a `Writable` the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Literal


class Inbox:
    """uvicorn's receive queue, as its protocol uses it, handing data frames to `take` at once: no task wakes for
    a frame, and reading is never paused for one (uvicorn pauses after each message until the app asks for the
    next; it skips that while `read_paused` is already set)."""

    def __init__(self, protocol: Any, queue: asyncio.Queue[Any]) -> None:
        self._protocol = protocol  # uvicorn's WebSocketsSansIOProtocol
        self.take: Callable[[str | bytes], None] | None = None  # the session's frame intake; None: frames wait here
        self._held: list[dict[str, Any]] = []  # messages for `get` (the disconnect; frames while nothing takes them)
        self._waiters: list[asyncio.Future[None]] | None = None  # `get`s waiting for a message (made on demand)
        while not queue.empty():  # what uvicorn queued before this stood in for its queue, in order
            self._held.append(queue.get_nowait())

    def put_nowait(self, message: dict[str, Any]) -> None:
        take = self.take
        if take is None or message["type"] != "websocket.receive":
            self._held.append(message)
            self._wake()
            return
        self._protocol.read_paused = True  # so uvicorn does not pause reading: the frame is taken
        text = message.get("text")
        take(text if text is not None else (message.get("bytes") or b""))

    def take_queued(self) -> None:
        """Frames read before `take` was set go first, in order; a disconnect among them stays queued."""
        held, self._held = self._held, []
        for at, message in enumerate(held):
            if message["type"] != "websocket.receive":
                self._held = held[at:]
                break
            self.put_nowait(message)
        protocol = self._protocol
        if protocol.read_paused and not self._held:
            protocol.read_paused = False
            protocol.transport.resume_reading()

    async def get(self) -> Any:
        while not self._held:
            waiter = asyncio.get_running_loop().create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                self._waiters.remove(waiter)
                if not self._waiters:
                    self._waiters = None
                elif self._held:  # cancelled after being woken: the next one takes the message
                    self._wake()
        return self._held.pop(0)

    def empty(self) -> bool:
        return not self._held

    def _wake(self) -> None:
        """Wake one waiting `get` (as `asyncio.Queue` does); it takes the message or waits again."""
        for waiter in self._waiters or ():
            if not waiter.done():
                waiter.set_result(None)
                return


class Writable:
    """uvicorn's `writable` event (set while the transport takes writes: `pause_writing` clears it,
    `resume_writing` sets it, its `send` waits for it), with the waiters' list made only while one waits."""

    __slots__ = ("_set", "_waiters")

    def __init__(self, is_set: bool) -> None:
        self._set = is_set  # the transport takes writes
        self._waiters: list[asyncio.Future[None]] | None = None  # `wait`s until it is set (made on demand)

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        waiters, self._waiters = self._waiters or [], None
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> Literal[True]:
        if self._set:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
                if not self._waiters:
                    self._waiters = None
        return True
