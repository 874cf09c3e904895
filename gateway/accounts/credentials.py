"""Who a request acts for: a long-lived key as `Accounts` checks it, or an `ek_…` client secret by its signature
(no look-up) and then its minting key through the same `Accounts` path, so the secret inherits that key's model
access, limits, budget and spend."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.accounts.access import Accounts, Caller, Refusal
from gateway.accounts.client_secrets import ClientSecrets, Grant, SecretRefused, is_client_secret
from gateway.close_codes import HandshakeRefusal

_SECRET_REFUSALS = {
    SecretRefused.INVALID: Refusal(HandshakeRefusal.SECRET_INVALID, "invalid client secret"),
    SecretRefused.EXPIRED: Refusal(HandshakeRefusal.SECRET_EXPIRED, "expired client secret"),
}


@dataclass(frozen=True)
class Principal:
    """An authenticated caller, and the client secret it presented, if that is how it authenticated."""

    caller: Caller  # the long-lived key it acts for (a secret's minting key): limits and spend go here
    grant: Grant | None = None


class Credentials:
    """Turns the credential a caller presented into a `Principal`, or the refusal it gets."""

    def __init__(self, accounts: Accounts, secrets: ClientSecrets) -> None:
        self.accounts = accounts  # long-lived keys: master and virtual
        self.secrets = secrets  # mints and verifies ek_… values

    async def authenticate(self, presented: str | None, now: float) -> Principal | Refusal:
        if presented is not None and is_client_secret(presented):
            grant = self.secrets.verify(presented, now)
            if isinstance(grant, SecretRefused):
                return _SECRET_REFUSALS[grant]
            minter = await self.accounts.authenticate_id(grant.key_id)  # revoked, blocked or expired: refused
            return minter if isinstance(minter, Refusal) else Principal(minter, grant)
        caller = await self.accounts.authenticate(presented)
        return caller if isinstance(caller, Refusal) else Principal(caller)
