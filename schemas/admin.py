"""The admin API's request bodies (`/key/*`, `/spend/logs`), LiteLLM-compatible names; validated once at the edge.

Durations (`budget_duration`, `duration`) are LiteLLM's: a number and a unit, `30s`, `10m`, `1h`, `30d`, `2w`,
`1mo` (a month counts as 30 days here).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w|mo)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400, "mo": 30 * 86_400}


def parse_duration(value: str) -> dt.timedelta:
    """`30d` → 30 days; raises ValueError naming the accepted forms."""
    match = _DURATION.match(value)
    if match is None or int(match.group(1)) <= 0:
        raise ValueError(f"expected a duration such as 30s, 10m, 1h, 30d, 2w or 1mo, got {value!r}")
    return dt.timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def _check_duration(value: str | None) -> str | None:
    if value is not None:
        parse_duration(value)
    return value


# LiteLLM's /key/generate and /key/update fields that livegate does not implement: named as such when sent, so a
# LiteLLM script learns why (they would not be enforced) instead of reading "unknown parameter".
LITELLM_ONLY_KEY_FIELDS = frozenset({
    "tpm_limit", "soft_budget", "model_max_budget", "model_rpm_limit", "model_tpm_limit", "max_budget_per_model",
    "tags", "aliases", "config", "permissions", "guardrails", "spend", "key", "key_type", "team_member_key",
    "send_invite_email", "allowed_cache_controls", "allowed_routes", "enforced_params", "object_permission",
    "prompts", "organization_id", "budget_id", "rpm_limit_type", "tpm_limit_type", "auto_rotate",
    "rotation_interval",
})


class _Body(BaseModel):
    # Unknown fields are refused: a misspelt limit must not silently create an unlimited key.
    model_config = ConfigDict(extra="forbid", frozen=True)


class KeyFields(_Body):
    """What a key can be given at /key/generate and changed at /key/update."""

    key_alias: str | None = Field(None, min_length=1, max_length=255)
    models: list[str] | None = None  # aliases; [] or unset: all
    max_budget: float | None = Field(None, ge=0)  # USD
    budget_duration: str | None = None
    max_parallel_requests: int | None = Field(None, ge=1)
    rpm_limit: int | None = Field(None, ge=1)
    duration: str | None = None  # expiry, from now
    metadata: dict[str, Any] | None = None
    user_id: str | None = Field(None, max_length=255)
    team_id: str | None = Field(None, max_length=255)
    blocked: bool | None = None

    @field_validator("budget_duration", "duration")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        return _check_duration(value)


class KeyGenerate(KeyFields):
    """POST /key/generate."""


class KeyUpdate(KeyFields):
    """POST /key/update: `key` (the key or its hash) and the fields to change; `null` clears a limit."""

    key: str = Field(min_length=1)


class KeyDelete(_Body):
    """POST /key/delete: keys (or their hashes) and/or aliases."""

    keys: list[str] | None = None
    key_aliases: list[str] | None = None


class KeyRef(_Body):
    """POST /key/block, /key/unblock."""

    key: str = Field(min_length=1)
