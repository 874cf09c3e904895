"""Ids in OpenAI's formats (OPENAI_REALTIME.md §7), made from an injected random source.

Clients treat ids as opaque; we keep the real prefixes and lengths. Event ids are a per-session random
stem plus a counter, so the hot path pays for no randomness.
"""

from __future__ import annotations

import random

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_LEN = 21  # event_/item_/resp_/sess_/conv_ + 21 base62 chars
_CALL_LEN = 16  # call_ + 16
_COUNTER_LEN = 8


class IdFactory:
    """Makes session-unique ids; pass a seed for reproducible transcripts in tests."""

    def __init__(self, seed: int | None = None) -> None:
        self._rng = random.Random(seed)  # the only source of randomness for this session's ids
        self._stem = self._random(_ID_LEN - _COUNTER_LEN)  # shared prefix of this session's event ids
        self._events = 0  # event ids handed out so far

    def _random(self, n: int) -> str:
        return "".join(self._rng.choices(_ALPHABET, k=n))

    def event(self) -> str:
        self._events += 1
        n, digits = self._events, []
        for _ in range(_COUNTER_LEN):
            n, r = divmod(n, 62)
            digits.append(_ALPHABET[r])
        return "event_" + self._stem + "".join(reversed(digits))

    def new(self, prefix: str) -> str:
        """`item`, `resp`, `sess`, `conv` ids; `call` ids get their shorter length."""
        return f"{prefix}_{self._random(_CALL_LEN if prefix == 'call' else _ID_LEN)}"
