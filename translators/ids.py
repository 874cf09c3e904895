"""Ids in OpenAI's formats (OPENAI_REALTIME.md §7), made from an injected random source and, for the ids that
become database keys, an injected clock.

Clients treat ids as opaque; we keep the real prefixes and lengths. Event ids are a per-session random
stem plus a counter, so the hot path pays for no randomness. With a clock, session, conversation, response and
item ids start with the time in milliseconds (8 base62 characters, then 13 random ones): they sort as they were
made, so the spend log's `request_id` and `session_id` indexes take each new row at their end instead of in a
random page (on SQLite, 12-13 µs a row at any table size, against 20 µs growing past 40 µs by 180k rows with
random ids; measured in the SQLite batch writer).
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_LEN = 21  # event_/item_/resp_/sess_/conv_ + 21 base62 chars
_CALL_LEN = 16  # call_ + 16
_COUNTER_LEN = 8
_TIME_LEN = 8  # base62 milliseconds since the epoch: fixed width, so ids sort as numbers (until the year 8900)
# Random byte → base62 character (byte % 62, as before), applied in C by bytes.translate: an id costs one
# getrandom and no Python loop per character.
_BASE62 = bytes(ord(_ALPHABET[b % 62]) for b in range(256))


class IdFactory:
    """Makes session-unique ids; pass a seed for reproducible transcripts in tests."""

    def __init__(self, seed: int | None = None, clock: Callable[[], int] | None = None) -> None:
        # A seeded generator for reproducible tests; otherwise the OS's, which keeps no 2.5 KB state per session.
        self._rng = random.Random(seed) if seed is not None else None
        self._clock = clock  # milliseconds since the epoch, for ids that sort by creation; None: all random
        self._event_prefix = "event_" + self._random(_ID_LEN - _COUNTER_LEN)  # shared by this session's event ids
        self._events = 0  # event ids handed out so far

    def _random(self, n: int) -> str:
        if self._rng is not None:
            return "".join(self._rng.choices(_ALPHABET, k=n))
        return secrets.token_bytes(n).translate(_BASE62).decode("ascii")

    def event(self) -> str:
        """Stem + hex counter: unique in the session, 21 characters, no randomness on the hot path."""
        self._events += 1
        return f"{self._event_prefix}{self._events:08x}"

    def new(self, prefix: str) -> str:
        """`item`, `resp`, `sess`, `conv` ids (time-ordered with a clock); `call` ids get their shorter length."""
        if prefix == "call":
            return f"call_{self._random(_CALL_LEN)}"
        if self._clock is None:
            return f"{prefix}_{self._random(_ID_LEN)}"
        return f"{prefix}_{_base62(self._clock(), _TIME_LEN)}{self._random(_ID_LEN - _TIME_LEN)}"


def _base62(number: int, width: int) -> str:
    """`number` in `width` base62 digits (0-9A-Za-z, which sort as ASCII does)."""
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(_ALPHABET[digit])
    return "".join(reversed(digits))
