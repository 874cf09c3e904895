"""Waiting for what another thread or process brings about: a condition polled up to a generous deadline,
never a bare sleep that only usually suffices (a busy machine stretches every "usually")."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

DEADLINE_S = 10.0  # only a broken gateway or emulator reaches it; a working one returns at once


async def eventually(condition: Callable[[], bool], what: str, timeout_s: float = DEADLINE_S) -> None:
    """Return as soon as `condition()` holds; fail with `what` if it does not within `timeout_s`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout_s:g} s: {what}")
        await asyncio.sleep(0.02)
