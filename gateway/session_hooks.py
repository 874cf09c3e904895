"""What the session pump reports besides frames: one small interface, so spend, metrics and log lines live in
their own rooms (gateway/ops/watch.py implements it) and the pump never awaits them."""

from __future__ import annotations

from typing import Protocol

from gateway.config import Deployment
from translators.commands import Mark, RecordUsage


class SessionHooks(Protocol):
    """What the pump reports besides frames: spend, metrics and log lines (gateway/ops/watch.py)."""

    def started(self) -> None: ...

    def mark(self, mark: Mark, now: float) -> None: ...

    def usage(self, usage: RecordUsage) -> bool:
        """Record a finished response; True when the key is now over its budget."""
        ...

    def dialled(self, seconds: float, deployment: Deployment, resumed: bool) -> None: ...

    def go_away(self) -> None: ...

    def overflow(self, direction: str) -> None: ...

    def ended(self, close_code: int | None, close_reason: str | None) -> None: ...


class Unwatched:
    """No spend, metrics or lines (tests and tools that run a bare pump)."""

    def started(self) -> None:
        pass

    def mark(self, mark: Mark, now: float) -> None:
        pass

    def usage(self, usage: RecordUsage) -> bool:
        return False

    def dialled(self, seconds: float, deployment: Deployment, resumed: bool) -> None:
        pass

    def go_away(self) -> None:
        pass

    def overflow(self, direction: str) -> None:
        pass

    def ended(self, close_code: int | None, close_reason: str | None) -> None:
        pass
