"""Virtual keys and spend logs.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.accounts.tables import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "livegate_keys",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("key_name", sa.String(length=32), nullable=False),
        sa.Column("key_alias", sa.String(length=255), nullable=True),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("max_budget", sa.Float(), nullable=True),
        sa.Column("spend", sa.Float(), nullable=False),
        sa.Column("budget_duration", sa.String(length=32), nullable=True),
        sa.Column("budget_reset_at", UtcDateTime(), nullable=True),
        sa.Column("max_parallel_requests", sa.Integer(), nullable=True),
        sa.Column("rpm_limit", sa.Integer(), nullable=True),
        sa.Column("expires", UtcDateTime(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("team_id", sa.String(length=255), nullable=True),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token"),
        sa.UniqueConstraint("key_alias"),
    )
    op.create_index("ix_livegate_keys_team_id", "livegate_keys", ["team_id"])
    op.create_index("ix_livegate_keys_user_id", "livegate_keys", ["user_id"])
    op.create_table(
        "livegate_spend_logs",
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("call_type", sa.String(length=32), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("api_key", sa.String(length=64), nullable=False),
        sa.Column("key_alias", sa.String(length=255), nullable=True),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("team_id", sa.String(length=255), nullable=True),
        sa.Column("model_group", sa.String(length=255), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("spend", sa.Float(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("total_tokens", sa.Integer(), nullable=False),
        sa.Column("input_text_tokens", sa.Integer(), nullable=False),
        sa.Column("input_audio_tokens", sa.Integer(), nullable=False),
        sa.Column("input_image_tokens", sa.Integer(), nullable=False),
        sa.Column("cached_tokens", sa.Integer(), nullable=False),
        sa.Column("output_text_tokens", sa.Integer(), nullable=False),
        sa.Column("output_audio_tokens", sa.Integer(), nullable=False),
        sa.Column("reasoning_tokens", sa.Integer(), nullable=False),
        sa.Column("start_time", UtcDateTime(), nullable=False),
        sa.Column("end_time", UtcDateTime(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("close_code", sa.Integer(), nullable=True),
        sa.Column("close_reason", sa.String(length=255), nullable=True),
        sa.Column("user_transcript", sa.Text(), nullable=True),
        sa.Column("assistant_transcript", sa.Text(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("request_id"),
    )
    op.create_index("ix_livegate_spend_logs_api_key_start", "livegate_spend_logs", ["api_key", "start_time"])
    op.create_index("ix_livegate_spend_logs_key_alias", "livegate_spend_logs", ["key_alias"])
    op.create_index("ix_livegate_spend_logs_session_id", "livegate_spend_logs", ["session_id"])
    op.create_index("ix_livegate_spend_logs_start", "livegate_spend_logs", ["start_time"])
    op.create_index("ix_livegate_spend_logs_user_id", "livegate_spend_logs", ["user_id"])


def downgrade() -> None:
    op.drop_table("livegate_spend_logs")
    op.drop_table("livegate_keys")
