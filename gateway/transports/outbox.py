"""Frames on their way to one client: written at once while the client keeps up, queued only when it does not,
with the backlog's byte count, the writer task that drains it, and the last word.

While the transport takes frames (`write_now`, an optional `ClientChannel` capability), frames go out at
the end of the event-loop callback that produced them (`flush`, scheduled with `call_soon`), all in one write:
no queue, no task, no wake-up, and one write for every Gemini frame that one read of its socket brought
(issue #15). Once a write is refused (the socket's buffer is full) every frame goes to the queue, in order,
and a writer task drains it through `ClientChannel.send`; when the queue is empty the task ends and direct
writes resume.

A client may fall behind for a moment (the two echoes of a 15 MiB item, issue #16 item 7), but not for
long: a backlog over `max_client_backlog_bytes` for `slow_client_seconds` (or over it by more than two
largest frames when a frame is added) makes the session end as `client_too_slow`. A close that cannot be
written in `slow_client_seconds` because the client takes nothing drops the transport (item 8), so a silent
client never holds its session, key slot or Gemini socket.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from gateway.transports.channel import ClientChannel, ClientGone, Frame
from schemas.limits import Limits

log = logging.getLogger("livegate.session")

BATCH_BYTES = 64 * 1024  # a batch this large is written at once (the transport's own high-water mark)


@dataclass(frozen=True)
class _Close:
    code: int
    reason: str


class ClientOutbox:
    """The client's half of a session's output: `put` frames, `flush` them, one `close`; never awaits."""

    def __init__(self, channel: ClientChannel, limits: Limits, name: str) -> None:
        self._channel = channel  # where the frames go
        # The channel's synchronous write, if it has one: True when the transport took the frames.
        self._write_now: Callable[[list[Frame]], bool] | None = getattr(channel, "write_now", None)
        self._name = name  # the session id, for log lines
        self._cap = limits.max_client_backlog_bytes  # bytes the client may leave unread…
        self._grace = limits.slow_client_seconds  # …for this long, and how long a close may take
        self._hard_cap = self._cap + 2 * limits.max_frame_bytes  # …and never more than this at once
        self._loop: asyncio.AbstractEventLoop | None = None  # the session's loop, taken at first need
        self._batch: list[Frame] = []  # frames of the current loop callback, written together by `flush`
        self._batch_bytes = 0  # their size
        # Frames waiting for the writer (backpressure), in order; made at first need: an empty deque is 760 bytes
        # per session (issue #15's memory per idle session) and most sessions never queue.
        self._queue: deque[Frame | _Close] | None = None
        self._writer: asyncio.Task[None] | None = None  # drains the queue; None while frames go out directly
        self._backlog = 0  # bytes queued or being written by the writer, not yet written
        self._writing = 0  # bytes of the frame being written now
        self._over_since: float | None = None  # loop time the backlog went over the cap
        self._close_queued = False  # a close is in the queue: nothing more goes in
        self._gone = False  # the client's side is closed: frames are dropped
        self._close_done = False  # the close was written (or the client had gone)
        self._abort_timer: asyncio.TimerHandle | None = None  # drops the transport if the close is stuck

    @property
    def closing(self) -> bool:
        return self._close_queued

    def put(self, frame: Frame) -> bool:
        """Add one frame; False when the client is too slow (what it has not read is then dropped)."""
        if self._close_queued or self._gone:
            return True  # nothing goes out after the close
        if self._writer is None and self._write_now is not None:
            if not self._batch:
                self._time_loop().call_soon(self.flush)
            self._batch.append(frame)  # the client keeps up: out with the rest of this callback's, in `flush`
            self._batch_bytes += len(frame)
            if self._batch_bytes > BATCH_BYTES:  # a reader that never yields must not build a batch past the caps
                self.flush()
            return True
        return self._enqueue(frame)

    def flush(self) -> None:
        """Write the frames `put` since the last flush, in one go if the transport takes them; else queue them.
        Runs by itself soon after a `put`; called directly where order with a close matters."""
        if not self._batch:
            return
        frames, self._batch, self._batch_bytes = self._batch, [], 0
        if self._writer is None and self._write_now is not None and self._write_now(frames):
            return
        queue = self._waiting()
        for frame in frames:  # the caps are checked by the next put, or by the sweeper
            self._backlog += len(frame)
            queue.append(frame)
        self._start_writer()

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
        self.flush()
        self._close_queued = True
        self._waiting().append(_Close(code, reason))
        self._start_writer()
        self._abort_timer = self._time_loop().call_later(self._grace, self._abort_if_stuck)

    async def finish(self) -> None:
        """At the session's end: a normal close unless one was queued; wait for the writer, bounded."""
        self.close(1000, "")
        writer = self._writer
        if writer is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(writer), timeout=self._grace + 1)
        except TimeoutError:
            self._abort_if_stuck()
            writer.cancel()

    # ---- the queue (backpressure) ------------------------------------------------------------------
    def _time_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def _enqueue(self, frame: Frame) -> bool:
        over_hard_cap = self._backlog > self._hard_cap  # checked before this frame: any one frame fits
        self._backlog += len(frame)
        self._waiting().append(frame)
        self._start_writer()
        if self._backlog <= self._cap:
            return True
        now = self._time_loop().time()
        if self._over_since is None:
            self._over_since = now
        if over_hard_cap or now - self._over_since >= self._grace:
            self._drop_unsent()
            return False
        return True

    def _waiting(self) -> deque[Frame | _Close]:
        if self._queue is None:
            self._queue = deque()
        return self._queue

    def _start_writer(self) -> None:
        if self._writer is None and not self._gone:
            self._writer = self._time_loop().create_task(self._drain())

    async def _drain(self) -> None:
        """The writer: one frame at a time, as fast as the client takes them; ends when the queue is empty
        (direct writes resume) or after the close."""
        queue = self._waiting()
        try:
            while queue:
                frame = queue.popleft()
                if isinstance(frame, _Close):
                    await self._channel.close(frame.code, frame.reason)
                    self._finished()
                    return
                self._writing = len(frame)
                await self._channel.send(frame)
                self._backlog -= self._writing
                self._writing = 0
                if self._backlog <= self._cap:
                    self._over_since = None
            self._queue = None  # drained: direct writes resume, and the empty deque is let go
        except ClientGone:
            self._gone = True
            queue.clear()
            self._finished()
        finally:
            self._writer = None

    def _finished(self) -> None:
        self._close_done = True
        if self._abort_timer is not None:
            self._abort_timer.cancel()

    def _drop_unsent(self) -> None:
        """Bounded memory: frames the client has not taken are dropped; the one being written stays."""
        if self._queue is not None:
            self._queue.clear()
        self._batch.clear()
        self._batch_bytes = 0
        self._backlog, self._over_since = self._writing, None
        log.warning("session %s: client backlog over %d bytes for too long", self._name, self._cap)

    def _abort_if_stuck(self) -> None:
        if not self._close_done:
            log.warning("session %s: the client took nothing for %g s; dropping it", self._name, self._grace)
            self._channel.abort()
