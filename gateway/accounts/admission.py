"""Session admission: global and per-key concurrency caps (config `general_settings.limits`)."""

from __future__ import annotations

import hashlib
from collections import Counter

from schemas.limits import Limits


class SessionCounter:
    """Counts open sessions; keys are hashed so no secret is kept in memory longer than needed."""

    def __init__(self, limits: Limits) -> None:
        self._limits = limits  # the caps
        self._total = 0  # open sessions
        self._per_key: Counter[str] = Counter()  # open sessions per hashed key

    @staticmethod
    def _tag(key: str | None) -> str:
        return hashlib.sha256((key or "").encode()).hexdigest()[:16]

    def try_acquire(self, key: str | None) -> str | None:
        """None when admitted (call `release` later); else why not."""
        tag = self._tag(key)
        if self._limits.max_sessions is not None and self._total >= self._limits.max_sessions:
            return f"This gateway already has {self._total} open sessions (its limit). Try again later."
        per_key = self._limits.max_sessions_per_key
        if per_key is not None and self._per_key[tag] >= per_key:
            return f"This API key already has {per_key} open sessions (its limit). Close one and try again."
        self._total += 1
        self._per_key[tag] += 1
        return None

    def release(self, key: str | None) -> None:
        tag = self._tag(key)
        self._total -= 1
        self._per_key[tag] -= 1
        if self._per_key[tag] <= 0:
            del self._per_key[tag]

    @property
    def open_sessions(self) -> int:
        return self._total
