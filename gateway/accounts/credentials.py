"""Who a request acts for: a long-lived key through the key gate, or an `ek_…` client secret by its signature
and then its minting key through the same gate (so the secret inherits that key's standing)."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.accounts.auth import KeyGate
from gateway.accounts.client_secrets import ClientSecrets, Grant, SecretRefused, is_client_secret, key_id
from gateway.close_codes import HandshakeRefusal

_SECRET_REFUSALS = {
    SecretRefused.INVALID: HandshakeRefusal.SECRET_INVALID,
    SecretRefused.EXPIRED: HandshakeRefusal.SECRET_EXPIRED,
}


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    key_id: str  # the long-lived key it acts for (a secret's minting key): limits and spend go here
    grant: Grant | None = None  # the client secret presented, if that is how it authenticated


class Credentials:
    """Turns the credential a caller presented into a `Principal`, or the handshake refusal it gets."""

    def __init__(self, gate: KeyGate, secrets: ClientSecrets) -> None:
        self.gate = gate  # long-lived keys
        self.secrets = secrets  # mints and verifies ek_… values

    def authenticate(self, presented: str | None, now: float) -> Principal | HandshakeRefusal:
        if presented is not None and is_client_secret(presented):
            grant = self.secrets.verify(presented, now)
            if isinstance(grant, SecretRefused):
                return _SECRET_REFUSALS[grant]
            if not self.gate.allows_id(grant.key_id):  # the minting key was revoked or rotated away
                return HandshakeRefusal.SECRET_INVALID
            return Principal(grant.key_id, grant)
        if not self.gate.allows(presented):
            return HandshakeRefusal.MISSING_KEY if presented is None else HandshakeRefusal.INVALID_KEY
        return Principal(key_id(presented or ""))
