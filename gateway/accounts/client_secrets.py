"""Ephemeral client secrets (`ek_…`, OPENAI_REALTIME.md §10) as stateless signed tokens, so any replica that
shares the signing keys verifies a secret without a look-up.

Format: `ek_` + an itsdangerous URL-safe token — the compact-JSON payload in base64url (zlib-compressed first
when that is shorter, then marked by a leading `.`), `.`, and an HMAC-SHA256 signature in base64url — so the
whole value is made of HTTP token characters and fits a `Sec-WebSocket-Protocol` entry. Payload fields:
`v` format version, `k` the minting key's id (`keys.hash_key`, its SHA-256), `m` the alias, `x` expiry (unix
seconds), `d` the dialect the session was posted in, `s` the posted session fields (without `type`/`model`).

Signing keys: `general_settings.client_secret_keys`, newest first; the first signs, every one verifies. To
rotate, put a new key first on every replica, and drop the old one after the longest TTL (2 h). Unset: a key
derived from the master key (rotating the master key revokes every secret), else one random per process.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from schemas.openai import Dialect
from translators.session_config import SessionConfig

PREFIX = "ek_"
FORMAT_VERSION = 1
MAX_SECRET_CHARS = 6144  # a header line is capped at 8 KiB by uvicorn's WebSocket servers; leave room
_SALT = "livegate.client-secret"
_DERIVE = b"livegate client secret signing key"
_DIALECTS = {"ga": Dialect.GA, "beta": Dialect.BETA}


def is_client_secret(key: str | None) -> bool:
    return key is not None and key.startswith(PREFIX)


@dataclass(frozen=True)
class Grant:
    """What a verified secret allows: sessions on one alias, for the minting key, with a preset session."""

    key_id: str  # the key that minted it (`hash_key`): its models, limits and budget apply, its spend is charged
    alias: str  # the model the secret names
    expires_at: int  # unix seconds; sessions must start before it
    dialect: Dialect  # the shape `session` was posted in
    session: dict[str, Any]  # the session fields to apply at the start, as posted (no `type`, no `model`)


class SecretRefused(enum.Enum):
    """Why a presented `ek_…` value was not accepted (the words are in gateway/close_codes.py)."""

    INVALID = "invalid"  # not signed by any of our keys, altered, or not a token at all
    EXPIRED = "expired"


class SecretTooLarge(Exception):
    """The session config makes the secret longer than a header can carry."""


class ClientSecrets:
    """Mints and verifies `ek_…` secrets with the configured signing keys; holds no per-secret state."""

    def __init__(self, signing_keys: Sequence[str], master_key: str | None) -> None:
        keys = [key.encode() for key in signing_keys]
        if not keys:
            seed = master_key.encode() if master_key else secrets.token_bytes(32)
            keys = [hmac.new(seed, _DERIVE, hashlib.sha256).digest()]
        self.per_process = not signing_keys and not master_key  # secrets from one replica fail on another
        # itsdangerous signs with the last key and tries them all: newest last, the reverse of the config.
        self._serializer = URLSafeSerializer(
            list(reversed(keys)), salt=_SALT, signer_kwargs={"digest_method": hashlib.sha256}
        )

    def mint(self, grant: Grant) -> str:
        """The `ek_…` value for a grant; `SecretTooLarge` when it would not fit a header."""
        payload = {
            "v": FORMAT_VERSION,
            "k": grant.key_id,
            "m": grant.alias,
            "x": grant.expires_at,
            "d": grant.dialect.name.lower(),
            "s": grant.session,
        }
        value = PREFIX + self._serializer.dumps(payload)
        if len(value) > MAX_SECRET_CHARS:
            raise SecretTooLarge(f"{len(value)} characters, more than {MAX_SECRET_CHARS}")
        return value

    def verify(self, value: str, now: float) -> Grant | SecretRefused:
        """The grant of a genuine, unexpired secret; else why not (tampering and garbage look alike)."""
        try:
            payload = self._serializer.loads(value.removeprefix(PREFIX))
            grant = Grant(
                key_id=str(payload["k"]),
                alias=str(payload["m"]),
                expires_at=int(payload["x"]),
                dialect=_DIALECTS[payload["d"]],
                session=dict(payload["s"]),
            )
            if payload["v"] != FORMAT_VERSION:
                return SecretRefused.INVALID
        except (BadSignature, KeyError, TypeError, ValueError):
            return SecretRefused.INVALID
        return grant if now < grant.expires_at else SecretRefused.EXPIRED


def grant_preset(grant: Grant) -> SessionConfig:
    """The session a secret's connections start with: its posted fields over the alias's defaults (checked
    when it was minted, by this same code)."""
    return SessionConfig(model=grant.alias).apply(grant.session, grant.dialect)
