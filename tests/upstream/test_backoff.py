"""gateway/upstream/backoff.py: full jitter on the redial backoff."""

from __future__ import annotations

import random

from gateway.upstream.backoff import jittered
from translators.resume import BACKOFF_S


def test_waits_spread_over_the_whole_window() -> None:
    """1,000 sessions losing Gemini together redial spread over [0, cap): not in lock step, never past the cap."""
    draw = random.Random(7).random
    cap = BACKOFF_S[0]
    waits = [jittered(cap, draw) for _ in range(1000)]
    assert all(0 <= w < cap for w in waits)
    buckets = [sum(1 for w in waits if k * cap / 10 <= w < (k + 1) * cap / 10) for k in range(10)]
    assert min(buckets) > 50  # every tenth of the window gets its share (uniform: ~100 each)
    assert len({round(w, 6) for w in waits}) > 990


def test_no_cap_no_wait() -> None:
    """A connect that asks for no backoff (a planned switch) is dialled at once."""
    assert jittered(0.0) == 0.0


def test_the_default_draw_differs_between_calls() -> None:
    """The gateway's own draw is random (not a fixed seed shared by every process)."""
    assert len({jittered(1.0) for _ in range(20)}) == 20
