"""Spend log rows without their table: what one response or session cost, a key's spend after a write, and the
`/spend/logs` filters.

Split from `spend.py` (the table and its queries, SQLAlchemy) so that a gateway without a database never
imports SQLAlchemy (issue #15: idle RSS); `spend.py` re-exports every name here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# call_type values (LiteLLM's column): a response, a transcribed utterance and a native-passthrough turn add to a
# key's spend; a session summary repeats their totals and never does.
RESPONSE = "realtime"
TRANSCRIPTION = "realtime_transcription"
PASSTHROUGH = "vertex_live"
SESSION = "realtime_session"
TOKEN_FIELDS = (
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "input_text_tokens",
    "input_audio_tokens",
    "input_image_tokens",
    "cached_tokens",
    "output_text_tokens",
    "output_audio_tokens",
    "reasoning_tokens",
)


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs 2.75 us here, this 0.90 (one per response)
class SpendRow:
    """One spend log row (columns of `livegate_spend_logs`), never changed once made."""

    request_id: str
    call_type: str
    session_id: str
    api_key: str  # sha256 of the key; "" without a gateway key
    key_alias: str | None
    user_id: str | None
    team_id: str | None
    model_group: str  # alias
    model: str | None  # deployment used
    status: str
    spend: float
    start_time: dt.datetime
    end_time: dt.datetime
    tokens: Mapping[str, int] = field(default_factory=dict)  # TOKEN_FIELDS; a missing one is 0
    turns: int = 1
    close_code: int | None = None
    close_reason: str | None = None
    user_transcript: str | None = None
    assistant_transcript: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def charged(self) -> bool:
        """Adds to the key's spend (a summary does not: its responses did)."""
        return self.call_type != SESSION

    @property
    def total_tokens(self) -> int:
        return self.tokens.get("total_tokens", 0)

    def columns(self) -> dict[str, Any]:
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        values["meta"] = values.pop("metadata")
        tokens = values.pop("tokens")
        values |= {name: tokens.get(name, 0) for name in TOKEN_FIELDS}
        values["duration_s"] = (self.end_time - self.start_time).total_seconds()
        return values

    def describe(self) -> str:
        """For a log line about a row that could not be written: what it was, never a key or transcript."""
        return (
            f"{self.call_type} {self.request_id} session={self.session_id} key_alias={self.key_alias} "
            f"model={self.model_group} spend=${self.spend:.6f} tokens={self.total_tokens}"
        )


@dataclass(frozen=True)
class KeySpend:
    """A key's spend after a write: what this write added, the new total, the period it belongs to."""

    token: str
    added: float
    spend: float
    budget_reset_at: dt.datetime | None


@dataclass(frozen=True)
class SpendQuery:
    """GET /spend/logs filters; dates are UTC, `end` exclusive."""

    api_key: str | None = None  # the key's hash
    key_alias: str | None = None
    user_id: str | None = None
    request_id: str | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
