"""A native passthrough session (`/v1/vertex-ai/live`) as the sweeper and the graceful drain see it.

The relay forwards frames untouched, so it has no translator state; this watch keeps just enough to apply
the same limits as `/v1/realtime` (duration, idle, shutdown at a turn boundary: issue #16 item 9) and to end
a session whose key ran out of budget at the end of Gemini's turn, never in it (issue #10). Endings come from
`translators.errors.SessionEnd`, told the Gemini way: a close code and the message as reason.
"""

from __future__ import annotations

import asyncio

from schemas.limits import Limits
from translators.errors import SessionEnd

_MAX_REASON = 123  # bytes in a close frame's reason
_TURN_OPENS = ('"modelTurn"', '"toolCall"')  # a frame with either, near its start: Gemini is answering
_TURN_ENDS = '"turnComplete"'
_TURN_OPENS_B = tuple(marker.encode() for marker in _TURN_OPENS)  # the same, for binary frames
_TURN_ENDS_B = _TURN_ENDS.encode()
_HEAD = 256  # characters of a frame searched for the start of a turn (audio frames are long)


class RelayWatch:
    """Limits and drain for one relayed session; `ended` is set once it must close, with `close` the why."""

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._started = 0.0  # loop time the relay started
        self._last_client = 0.0  # loop time of the client's last frame
        self._in_turn = False  # Gemini is answering (a modelTurn or toolCall since the last turnComplete)
        self._after_turn: SessionEnd | None = None  # end the session once Gemini's turn is over (budget)
        self.close: tuple[int, str] | None = None  # the close the client gets, once ended
        self.ended = asyncio.Event()  # the relay must stop

    def start(self, now: float) -> None:
        self._started = self._last_client = now

    def client_frame(self, now: float) -> None:
        self._last_client = now

    def upstream_frame(self, frame: str | bytes) -> None:
        """After Gemini's frame went to the client: turn tracking from substrings only (audio frames are never
        parsed); a pending end happens at the turn boundary."""
        if isinstance(frame, str):
            if not self._in_turn:
                self._in_turn = any(marker in frame[:_HEAD] for marker in _TURN_OPENS)
            if self._in_turn and _TURN_ENDS in frame:
                self._in_turn = False
        else:
            if not self._in_turn:
                self._in_turn = any(marker in frame[:_HEAD] for marker in _TURN_OPENS_B)
            if self._in_turn and _TURN_ENDS_B in frame:
                self._in_turn = False
        if self._after_turn is not None and not self._in_turn:
            self._end(self._after_turn)

    def end_after_turn(self, why: SessionEnd) -> None:
        """End the session once Gemini's current turn is over: now, between turns (issue #10's budget)."""
        self._after_turn = self._after_turn or why
        if not self._in_turn:
            self._end(why)

    def check_limits(self, now: float) -> None:
        limits = self._limits
        if self.ended.is_set() or not self._started:
            return
        if now - self._started >= limits.max_session_seconds:
            self._end(SessionEnd.EXPIRED, minutes=round(limits.max_session_seconds / 60))
        elif limits.idle_timeout_seconds and now - self._last_client >= limits.idle_timeout_seconds:
            self._end(SessionEnd.IDLE)

    async def drain(self) -> None:
        """Graceful shutdown: at the end of Gemini's current answer, close with 1001."""
        while not self.ended.is_set() and self._in_turn:
            await asyncio.sleep(0.05)
        self._end(SessionEnd.SHUTDOWN)

    def shut_now(self) -> None:
        self._end(SessionEnd.SHUTDOWN)

    def crashed(self) -> None:
        self._end(SessionEnd.INTERNAL)

    def _end(self, why: SessionEnd, minutes: int = 0) -> None:
        if self.ended.is_set():
            return
        ending = why.value
        reason = ending.message.format(minutes=minutes).encode()[:_MAX_REASON].decode(errors="ignore")
        self.close = (ending.close_code, reason)
        self.ended.set()
