"""The gateway key check: a presented key against the configured master key, in constant time."""

from __future__ import annotations

import hmac


class KeyGate:
    """Checks a presented key against the configured master key in constant time."""

    def __init__(self, master_key: str | None) -> None:
        if master_key is not None and not master_key.strip():
            raise ValueError("general_settings.master_key must not be empty")
        self._master = master_key.encode() if master_key else None  # None: every client is let in

    @property
    def required(self) -> bool:
        return self._master is not None

    def allows(self, key: str | None) -> bool:
        if self._master is None:
            return True
        return key is not None and hmac.compare_digest(key.encode(), self._master)
