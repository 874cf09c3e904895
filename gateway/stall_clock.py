"""When a silent Gemini counts as stalled: silence is measured from the later of the turn's start and
Gemini's last frame (setupComplete included), never from a frame long before the turn (issue #16 item 1).

Model latency (0.6-1.5 s, more under load) before a turn's first frame is normal; only `upstream_stall_seconds`
of it while a turn is in flight is a silent fault.
"""

from __future__ import annotations


class StallClock:
    """The session's stall clock; the session reports frames and whether a turn is in flight."""

    def __init__(self, limit_s: float) -> None:
        self._limit = limit_s  # upstream_stall_seconds
        self._since = 0.0  # loop time the turn began or Gemini's last frame, whichever is later
        self._owed = False  # a turn was in flight at the last report

    def frame(self, now: float) -> None:
        """Gemini sent something (setupComplete counts): the silence restarts."""
        self._since = now

    def turn(self, owed: bool, now: float) -> None:
        """After each frame either way: a turn that just began starts the clock."""
        if owed and not self._owed:
            self._since = max(self._since, now)
        self._owed = owed

    def stalled(self, owed: bool, now: float) -> bool:
        """A turn is in flight and Gemini has been silent for too long (once: the clock then restarts)."""
        if not owed or now - self._since < self._limit:
            return False
        self._since = now  # one loss per stall; the resumed link gets its own allowance
        return True
