"""Full jitter on the redial backoff, so a Gemini-wide drop does not make every session redial in lock step.

The translators stay deterministic: they name the most a redial may wait (`ConnectUpstream.delay_s`, from
`translators/resume.py` BACKOFF_S); the gateway draws the actual wait uniformly below it ("Exponential
Backoff And Jitter", AWS Architecture Blog, 2015: full jitter spreads retries best for the least total work).
"""

from __future__ import annotations

import random
from collections.abc import Callable

_SYSTEM_RANDOM = random.SystemRandom()  # no shared seed: two gateway processes must not draw alike


def jittered(cap_s: float, draw: Callable[[], float] = _SYSTEM_RANDOM.random) -> float:
    """A wait in [0, cap_s): uniform, so sessions that lost Gemini together come back spread out."""
    return cap_s * draw() if cap_s > 0 else 0.0
