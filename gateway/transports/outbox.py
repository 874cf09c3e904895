"""Frames on their way to one client: one ordered queue, its byte count, the writer, and the last word.

A client may fall behind for a moment (the two echoes of a 15 MiB item, issue #16 item 7), but not for
long: a backlog over `max_client_backlog_bytes` for `slow_client_seconds` (or over it by more than two
largest frames when a frame is added) makes the session end as `client_too_slow`. A close that cannot be written in
`slow_client_seconds` because the client takes nothing drops the transport (item 8), so a silent client
never holds its session, key slot or Gemini socket.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from gateway.transports.channel import ClientChannel, ClientGone
from schemas.limits import Limits

log = logging.getLogger("livegate.session")


@dataclass(frozen=True)
class _Close:
    code: int
    reason: str


class ClientOutbox:
    """The client's half of a session's output: `put` frames and one `close`, in order, never awaiting."""

    def __init__(self, channel: ClientChannel, limits: Limits, name: str) -> None:
        self._channel = channel  # where the frames go
        self._name = name  # the session id, for log lines
        self._cap = limits.max_client_backlog_bytes  # bytes the client may leave unread…
        self._grace = limits.slow_client_seconds  # …for this long, and how long a close may take
        self._hard_cap = self._cap + 2 * limits.max_frame_bytes  # …and never more than this at once
        self._queue: asyncio.Queue[str | _Close] = asyncio.Queue()  # frames not yet handed to the channel
        self._backlog = 0  # bytes queued or being written, not yet written
        self._writing = 0  # bytes of the frame being written now
        self._over_since: float | None = None  # loop time the backlog went over the cap
        self._close_queued = False  # a close is in the queue: nothing more goes in
        self._close_done = asyncio.Event()  # the close was written (or the client had gone)
        self._abort_timer: asyncio.TimerHandle | None = None  # drops the transport if the close is stuck

    @property
    def closing(self) -> bool:
        return self._close_queued

    def put(self, frame: str) -> bool:
        """Queue one frame; False when the client is too slow (what it has not read is then dropped)."""
        if self._close_queued:
            return True  # nothing goes out after the close
        over_hard_cap = self._backlog > self._hard_cap  # checked before this frame: any one frame fits
        self._backlog += len(frame)
        self._queue.put_nowait(frame)
        if self._backlog <= self._cap:
            return True
        now = asyncio.get_running_loop().time()
        if self._over_since is None:
            self._over_since = now
        if over_hard_cap or now - self._over_since >= self._grace:
            self._drop_unsent()
            return False
        return True

    def too_slow(self, now: float) -> bool:
        """Called by the sweeper: the backlog has stayed over the cap too long (drops what is unsent)."""
        if self._close_queued or self._over_since is None or now - self._over_since < self._grace:
            return False
        self._drop_unsent()
        return True

    def close(self, code: int, reason: str) -> None:
        """Queue the close (once): after the frames before it, or instead of them if the client takes none."""
        if self._close_queued:
            return
        self._close_queued = True
        self._queue.put_nowait(_Close(code, reason))
        self._abort_timer = asyncio.get_running_loop().call_later(self._grace, self._abort_if_stuck)

    async def run(self) -> None:
        """The writer: one frame at a time, as fast as the client takes them; ends after the close."""
        try:
            while True:
                frame = await self._queue.get()
                if isinstance(frame, _Close):
                    await self._channel.close(frame.code, frame.reason)
                    return
                self._writing = len(frame)
                await self._channel.send(frame)
                self._backlog -= self._writing
                self._writing = 0
                if self._backlog <= self._cap:
                    self._over_since = None
        except ClientGone:
            return
        finally:
            self._close_done.set()
            if self._abort_timer is not None:
                self._abort_timer.cancel()

    async def finish(self, writer: asyncio.Task[None]) -> None:
        """At the session's end: a normal close unless one was queued; wait for the writer, bounded."""
        self.close(1000, "")
        try:
            await asyncio.wait_for(asyncio.shield(writer), timeout=self._grace + 1)
        except TimeoutError:
            self._abort_if_stuck()
            writer.cancel()

    def _drop_unsent(self) -> None:
        """Bounded memory: frames the client has not taken are dropped; the one being written stays."""
        while not self._queue.empty():
            self._queue.get_nowait()
        self._backlog, self._over_since = self._writing, None
        log.warning("session %s: client backlog over %d bytes for too long", self._name, self._cap)

    def _abort_if_stuck(self) -> None:
        if not self._close_done.is_set():
            log.warning("session %s: the client took nothing for %g s; dropping it", self._name, self._grace)
            self._channel.abort()
