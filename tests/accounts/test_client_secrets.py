"""The `ek_…` token itself (gateway/accounts/client_secrets.py): what it carries, who can verify it, rotation,
expiry, and that it stays a valid sub-protocol token of bounded length."""

from __future__ import annotations

import re

import pytest

from gateway.accounts.client_secrets import (
    MAX_SECRET_CHARS,
    ClientSecrets,
    Grant,
    SecretRefused,
    SecretTooLarge,
)
from gateway.accounts.keys import hash_key
from schemas.openai import Dialect

NOW = 1_800_000_000
TCHAR = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 token: what a Sec-WebSocket-Protocol entry may hold
A, B, C = "signing-key-a-0123456789", "signing-key-b-0123456789", "signing-key-c-0123456789"


def grant(**changes: object) -> Grant:
    fields: dict[str, object] = {
        "key_id": hash_key("sk-minting-key"),
        "alias": "gemini-live",
        "expires_at": NOW + 600,
        "dialect": Dialect.GA,
        "session": {"instructions": "Be brief.", "audio": {"output": {"voice": "coral"}}},
    }
    fields.update(changes)
    return Grant(**fields)  # type: ignore[arg-type]


def test_round_trip_keeps_every_field() -> None:
    """What was minted is what verification returns, for both dialects."""
    secrets = ClientSecrets([A], None)
    for dialect in Dialect:
        minted = grant(dialect=dialect)
        assert secrets.verify(secrets.mint(minted), NOW) == minted


def test_value_is_a_short_subprotocol_token_without_the_key() -> None:
    """`ek_` + HTTP token characters only, a few hundred characters, and no trace of the minting key."""
    value = ClientSecrets([A], None).mint(grant())
    assert value.startswith("ek_") and TCHAR.match(value) and len(value) < 400
    assert "sk-minting-key" not in value


def test_expiry_is_exclusive() -> None:
    """Valid until the second it expires, refused from then on."""
    secrets = ClientSecrets([A], None)
    value = secrets.mint(grant())
    assert isinstance(secrets.verify(value, NOW + 599.9), Grant)
    assert secrets.verify(value, NOW + 600) is SecretRefused.EXPIRED


def test_rotation_first_key_signs_all_verify() -> None:
    """[new, old]: signs with new, still accepts old; a replica without the signing key refuses."""
    rotated, old_only, new_only = ClientSecrets([B, A], None), ClientSecrets([A], None), ClientSecrets([B], None)
    assert isinstance(rotated.verify(old_only.mint(grant()), NOW), Grant)
    from_rotated = rotated.mint(grant())
    assert isinstance(new_only.verify(from_rotated, NOW), Grant)
    assert old_only.verify(from_rotated, NOW) is SecretRefused.INVALID
    assert ClientSecrets([C], None).verify(from_rotated, NOW) is SecretRefused.INVALID


def test_derived_key_follows_the_master_key() -> None:
    """Without signing keys, replicas sharing a master key agree; another master key (a rotation) does not;
    with neither, the key is this process's own."""
    value = ClientSecrets([], "sk-master").mint(grant())
    assert isinstance(ClientSecrets([], "sk-master").verify(value, NOW), Grant)
    assert ClientSecrets([], "sk-other-master").verify(value, NOW) is SecretRefused.INVALID
    lone = ClientSecrets([], None)
    assert lone.per_process and not ClientSecrets([], "sk-master").per_process
    assert ClientSecrets([], None).verify(lone.mint(grant()), NOW) is SecretRefused.INVALID


@pytest.mark.parametrize("mangle", [lambda v: v[:-1], lambda v: v + "x", lambda v: v.replace("ek_", "ek_."), str.upper])
def test_any_change_is_refused(mangle: object) -> None:
    """Cut, extended, re-prefixed or re-cased values are refused as invalid, never as expired."""
    secrets = ClientSecrets([A], None)
    assert secrets.verify(mangle(secrets.mint(grant())), NOW) is SecretRefused.INVALID  # type: ignore[operator]


def test_too_large_a_session_is_refused_at_mint() -> None:
    """A session that would not fit a header line is refused when minted, not when a browser connects."""
    secrets = ClientSecrets([A], None)
    noise = "".join(f"{i * 7919 % 10007:x}" for i in range(4000))  # does not compress away
    with pytest.raises(SecretTooLarge):
        secrets.mint(grant(session={"instructions": noise}))
    assert len(secrets.mint(grant(session={"instructions": "x" * 20_000}))) <= MAX_SECRET_CHARS  # compresses
