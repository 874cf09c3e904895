"""The database schema (SQLAlchemy Core): virtual keys and spend logs. Alembic migrations create it
(`migrations/versions/`); every change to a table here needs a new migration there."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite keeps no zone; Postgres does)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if not isinstance(value, dt.datetime):
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


metadata = MetaData()

# LiteLLM's LiteLLM_VerificationToken, trimmed to what a realtime gateway enforces; same column names.
keys = Table(
    "livegate_keys",
    metadata,
    Column("token", String(64), primary_key=True),  # sha256 hex of the key; the key itself is never stored
    Column("key_name", String(32), nullable=False),  # "sk-...abcd": enough to recognise it, not to use it
    Column("key_alias", String(255), nullable=True, unique=True),
    Column("models", JSON, nullable=False),  # aliases this key may open; [] = all
    Column("max_budget", Float, nullable=True),  # USD
    Column("spend", Float, nullable=False, default=0.0),  # USD since the last budget reset
    Column("budget_duration", String(32), nullable=True),  # "30d", "1h", …: the budget resets this often
    Column("budget_reset_at", UtcDateTime, nullable=True),
    Column("max_parallel_requests", Integer, nullable=True),  # concurrent sessions
    Column("rpm_limit", Integer, nullable=True),  # sessions opened per minute
    Column("expires", UtcDateTime, nullable=True),
    Column("metadata", JSON, nullable=False, key="meta"),
    Column("user_id", String(255), nullable=True, index=True),
    Column("team_id", String(255), nullable=True, index=True),
    Column("blocked", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# LiteLLM's LiteLLM_SpendLogs: one row per response (call_type realtime) and one summary per session
# (call_type realtime_session, never added to a key's spend twice). request_id makes every write idempotent.
spend_logs = Table(
    "livegate_spend_logs",
    metadata,
    Column("request_id", String(64), primary_key=True),  # the response id, or the session id for a summary
    Column("call_type", String(32), nullable=False),
    Column("session_id", String(64), nullable=False, index=True),
    Column("api_key", String(64), nullable=False),  # the key's sha256 hex; "" when the gateway has no key
    Column("key_alias", String(255), nullable=True),
    Column("user_id", String(255), nullable=True),
    Column("team_id", String(255), nullable=True),
    Column("model_group", String(255), nullable=False),  # the alias the client asked for
    Column("model", String(255), nullable=True),  # the deployment that answered: provider/model id
    Column("status", String(32), nullable=False),
    Column("spend", Float, nullable=False),  # USD
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    Column("total_tokens", Integer, nullable=False),
    Column("input_text_tokens", Integer, nullable=False),
    Column("input_audio_tokens", Integer, nullable=False),
    Column("input_image_tokens", Integer, nullable=False),
    Column("cached_tokens", Integer, nullable=False),
    Column("output_text_tokens", Integer, nullable=False),
    Column("output_audio_tokens", Integer, nullable=False),
    Column("reasoning_tokens", Integer, nullable=False),
    Column("start_time", UtcDateTime, nullable=False),
    Column("end_time", UtcDateTime, nullable=False),
    Column("duration_s", Float, nullable=False),
    Column("turns", Integer, nullable=False),  # responses in the session (1 on a response row)
    Column("close_code", Integer, nullable=True),  # session rows: the close the client got; None: it left first
    Column("close_reason", String(255), nullable=True),
    Column("user_transcript", Text, nullable=True),  # only with general_settings.store_transcripts
    Column("assistant_transcript", Text, nullable=True),
    Column("metadata", JSON, nullable=False, key="meta"),
)
Index("ix_livegate_spend_logs_api_key_start", spend_logs.c.api_key, spend_logs.c.start_time)
Index("ix_livegate_spend_logs_start", spend_logs.c.start_time)
Index("ix_livegate_spend_logs_key_alias", spend_logs.c.key_alias)
Index("ix_livegate_spend_logs_user_id", spend_logs.c.user_id)
