"""The gateway key check: a presented key against the configured master key, in constant time."""

from __future__ import annotations

import hmac

from gateway.accounts.client_secrets import key_id


class KeyGate:
    """Checks a presented key (or the id of one, for a client secret's minting key) against the master key."""

    def __init__(self, master_key: str | None) -> None:
        if master_key is not None and not master_key.strip():
            raise ValueError("general_settings.master_key must not be empty")
        self._master = master_key.encode() if master_key else None  # None: every client is let in
        self._master_id = key_id(master_key) if master_key else None

    @property
    def required(self) -> bool:
        return self._master is not None

    def allows(self, key: str | None) -> bool:
        if self._master is None:
            return True
        return key is not None and hmac.compare_digest(key.encode(), self._master)

    def allows_id(self, presented_id: str) -> bool:
        """The key with this id (`key_id`) is still accepted: a secret minted by it inherits that."""
        if self._master_id is None:
            return True
        return hmac.compare_digest(presented_id, self._master_id)
