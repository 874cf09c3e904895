"""The session's frames to and from one upstream link: written at once while the socket keeps up, queued only
under backpressure (or with no link open), and read by callback where the connection offers it (issue #15).

Frames still queued when a link is lost are handed back (`take_unsent`), so they go once, on the next link.
Any `LiveSocket` works (the REST fallback, websockets' client through a proxy): without `UpstreamConnection`'s
synchronous `write` and `deliver`, frames go through the writer task and messages through `async for`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable

from websockets.exceptions import ConnectionClosed

from gateway.upstream.connection import UpstreamConnection
from gateway.upstream.dial import LiveSocket


class UpstreamOutbox:
    """Frames for Gemini, in order, across links."""

    def __init__(self) -> None:
        # Frames not yet written, oldest first; None while there are none (an empty deque is 760 bytes, held by
        # every session; issue #15).
        self._queue: deque[bytes] | None = None
        self.backlog = 0  # bytes in the queue
        self._ws: LiveSocket | None = None  # the open link, if any
        self._writer: asyncio.Task[None] | None = None  # drains the queue into the link

    def attach(self, ws: LiveSocket) -> None:
        """A link is open: frames go to it (what waited for it first); none go to an older link any more."""
        self.detach()
        self._ws = ws
        if self._queue:
            self._start()

    def detach(self) -> None:
        """The link has ended: frames wait in the queue for the next one, or for `take_unsent`."""
        self._ws = None
        if self._writer is not None:
            self._writer.cancel()
            self._writer = None

    def put(self, data: bytes) -> None:
        ws = self._ws
        if not self._queue and isinstance(ws, UpstreamConnection) and ws.write(data):
            return
        if self._queue is None:
            self._queue = deque()
        self._queue.append(data)
        self.backlog += len(data)
        self._start()

    def take_unsent(self) -> list[bytes]:
        frames, self._queue, self.backlog = list(self._queue or ()), None, 0
        return frames

    def _start(self) -> None:
        if self._writer is None and self._ws is not None:
            self._writer = asyncio.create_task(self._drain(self._ws))

    async def _drain(self, ws: LiveSocket) -> None:
        """One frame at a time, each waiting for the socket to take it; ends when the queue is empty."""
        try:
            with contextlib.suppress(ConnectionClosed):
                while self._queue:
                    frame = self._queue[0]
                    await ws.send(frame, text=True)
                    self._queue.popleft()  # written: only now is it no longer ours to hand back
                    self.backlog -= len(frame)
        finally:
            if self._writer is asyncio.current_task():
                self._writer = None
            if not self._queue:
                self._queue = None


async def read_link(ws: LiveSocket, on_message: Callable[[bytes | str], None]) -> None:
    """Hand every message to `on_message` until the link closes (its close is not an error here). Whatever
    `on_message` raises stops the reading and is raised from here."""
    if not isinstance(ws, UpstreamConnection):
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                on_message(raw)
        return
    stop: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def take(raw: bytes) -> None:  # called from the connection's data_received: no task, no wake-up
        if stop.done():
            return
        try:
            on_message(raw)
        except Exception as exc:
            stop.set_exception(exc)

    ws.deliver(take)
    try:
        await asyncio.wait({stop, ws.closed()}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        ws.deliver(None)
    if stop.done():
        stop.result()
