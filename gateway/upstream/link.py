"""The session's frames to and from one upstream link: written at the end of the loop callback that made them,
all in one write, while the socket keeps up; queued only under backpressure (or with no link open); and read by
callback where the connection offers it (issue #15). A frame Gemini answers (a turn, a tool result, a turn's
end: anything but a media chunk, `schemas.gemini.is_media_chunk`) the session flushes at once, with the batch
before it, ahead of the client's frames of the same callback (a 15 MiB item's echoes would otherwise delay the turn
by their write).

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

BATCH_BYTES = 64 * 1024  # a batch this large is written at once


class UpstreamOutbox:
    """Frames for Gemini, in order, across links."""

    def __init__(self) -> None:
        # Frames not yet written, oldest first; None while there are none (an empty deque is 760 bytes, held by
        # every session; issue #15).
        self._queue: deque[bytes] | None = None
        self.backlog = 0  # bytes in the queue and the batch
        self._ws: LiveSocket | None = None  # the open link, if any
        self._writer: asyncio.Task[None] | None = None  # drains the queue into the link
        # Frames put during this event-loop callback, written together at its end (`flush`): the appends one
        # read of the client's socket brought go out in one write, not one syscall each (issue #15).
        self._batch: list[bytes] = []
        self._loop: asyncio.AbstractEventLoop | None = None  # the session's loop, taken at the first batch

    def attach(self, ws: LiveSocket) -> None:
        """A link is open: frames go to it (what waited for it first); none go to an older link any more."""
        self.detach()
        self._ws = ws
        if self._queue:
            self._start()

    def detach(self) -> None:
        """The link has ended: frames wait in the queue for the next one, or for `take_unsent`."""
        self._to_queue()
        self._ws = None
        if self._writer is not None:
            self._writer.cancel()
            self._writer = None

    def put(self, data: bytes) -> None:
        if not self._queue and isinstance(self._ws, UpstreamConnection):
            if not self._batch:  # at real time every append starts a batch: the loop is looked up once
                if self._loop is None:
                    self._loop = asyncio.get_running_loop()
                self._loop.call_soon(self.flush)
            self._batch.append(data)
            self.backlog += len(data)
            if self.backlog > BATCH_BYTES:  # a reader that never yields must not build a batch past the caps
                self.flush()
            return
        if self._queue is None:
            self._queue = deque()
        self._queue.append(data)
        self.backlog += len(data)
        self._start()

    def flush(self) -> None:
        """Write the batch in one go if the link takes it; else it waits in the queue, in order."""
        batch = self._batch
        if not batch:
            return
        ws = self._ws
        if isinstance(ws, UpstreamConnection) and not self._queue and ws.write_many(batch):
            self._batch = []
            self.backlog -= sum(map(len, batch))
            return
        self._to_queue()
        self._start()

    def take_unsent(self) -> list[bytes]:
        self._to_queue()
        frames, self._queue, self.backlog = list(self._queue or ()), None, 0
        return frames

    def _to_queue(self) -> None:
        """The batch joins the queue (which is empty while there is a batch: put sends there otherwise)."""
        if self._batch:
            if self._queue is None:
                self._queue = deque()
            self._queue.extend(self._batch)
            self._batch = []

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


class LinkFollower:
    """Feeds an `UpstreamConnection`'s messages to `on_message` from its `data_received`, and calls `on_end` once:
    when the link has closed (None), or soon after `on_message` raised (what it raised; no message is fed after
    it). Nothing awaits the link meanwhile: an open session holds no task, coroutine frames or `asyncio.wait`
    for it (~2 KB each, issue #15's memory per idle session); `read_link` is the same for other sockets."""

    __slots__ = ("_ended", "_on_end", "_on_message", "_ws")

    def __init__(self, ws: UpstreamConnection, on_message: Callable[[bytes | str], None],
                 on_end: Callable[[Exception | None], None]) -> None:
        self._ws = ws  # the link
        self._on_message = on_message  # the session's intake of one message
        self._on_end = on_end  # told once how the link ended
        self._ended = False  # `on_end` is called or scheduled: nothing more is fed

    def start(self, first: bytes | str | None = None) -> None:
        """Feed `first` (the frame read during the dial), then every message from now on, as it arrives."""
        if first is not None:
            self.take(first)
        if not self._ended:
            self._ws.deliver(self.take)
            self._ws.closed().add_done_callback(self._closed)

    def take(self, raw: bytes | str) -> None:
        if self._ended:
            return
        try:
            self._on_message(raw)
        except Exception as exc:  # as `read_link` raises it: after the reading has stopped, not inside it
            self._ended = True
            self._ws.deliver(None)
            asyncio.get_running_loop().call_soon(self._on_end, exc)

    def _closed(self, _: asyncio.Future[None]) -> None:
        if not self._ended:
            self._ended = True
            self._ws.deliver(None)
            self._on_end(None)


async def read_link(ws: LiveSocket, on_message: Callable[[bytes | str], None]) -> None:
    """Hand every message to `on_message` until the link closes (its close is not an error here). Whatever
    `on_message` raises stops the reading and is raised from here. (An `UpstreamConnection` can be read this
    way too; the session follows one with `LinkFollower` instead.)"""
    with contextlib.suppress(ConnectionClosed):
        async for raw in ws:
            on_message(raw)
