"""Who a request acts for: a long-lived key through the key gate, or an `ek_…` client secret by its signature
and then its minting key through the same gate (so the secret inherits that key's standing)."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.accounts.auth import KeyGate
from gateway.accounts.client_secrets import ClientSecrets, Grant, SecretRefused, is_client_secret, key_id

MISSING_KEY = "Missing bearer or basic authentication in header."  # the live server's words (§1.2)
WRONG_KEY = "Incorrect API key provided."


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    key_id: str  # the long-lived key it acts for (a secret's minting key): limits and spend go here
    grant: Grant | None = None  # the client secret presented, if that is how it authenticated


@dataclass(frozen=True)
class Refusal:
    """Why a caller is not let in: OpenAI's error code (None for a missing key) and message."""

    code: str | None
    message: str


class Credentials:
    """Turns the credential a caller presented into a `Principal`, or a `Refusal`."""

    def __init__(self, gate: KeyGate, secrets: ClientSecrets) -> None:
        self.gate = gate  # long-lived keys
        self.secrets = secrets  # mints and verifies ek_… values

    def authenticate(self, presented: str | None, now: float) -> Principal | Refusal:
        if is_client_secret(presented):
            assert presented is not None
            grant = self.secrets.verify(presented, now)
            if isinstance(grant, SecretRefused):
                return Refusal("invalid_api_key", grant.value)
            if not self.gate.allows_id(grant.key_id):  # the minting key was revoked or rotated away
                return Refusal("invalid_api_key", SecretRefused.INVALID.value)
            return Principal(grant.key_id, grant)
        if not self.gate.allows(presented):
            return Refusal(None, MISSING_KEY) if presented is None else Refusal("invalid_api_key", WRONG_KEY)
        return Principal(key_id(presented or ""))
