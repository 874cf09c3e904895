"""The gateway's ids: OpenAI's shapes from translators/ids.py, with the wall clock that makes the kinds stored as
database keys (sessions, responses, items) sort by creation."""

from __future__ import annotations

import time

from translators.ids import IdFactory


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def new_ids() -> IdFactory:
    """A session's id factory (and one for a lone `sess_` id)."""
    return IdFactory(clock=_now_ms)
