"""Per-gateway limits (`general_settings.limits` in the config file), with the defaults we ship."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Limits(BaseModel):
    """What one gateway allows; every field has a safe default, so the section is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_frame_bytes: int = Field(16 * 1024 * 1024, ge=1024)  # one append may carry 15 MiB (OPENAI_REALTIME.md §1.1)
    max_session_seconds: float = Field(3600, gt=0)  # OpenAI's GA sessions expire after 60 min (§3.1)
    idle_timeout_seconds: float | None = Field(None, gt=0)  # no client frame for this long ends the session
    max_sessions: int | None = Field(None, ge=1)  # open sessions, whole gateway
    max_sessions_per_key: int | None = Field(None, ge=1)  # open sessions per presented key
    max_client_backlog_bytes: int = Field(8 * 1024 * 1024, ge=1024)  # unsent frames to a slow client…
    slow_client_seconds: float = Field(5, gt=0)  # …for this long (or a close it does not take): client_too_slow
    max_upstream_backlog_bytes: int = Field(8 * 1024 * 1024, ge=1024)  # unsent frames to a stalled Gemini
    upstream_stall_seconds: float = Field(15, gt=0)  # mid-turn silence from Gemini that counts as a lost link
    # A client that leaves mid-answer: Gemini's turn goes on, and the usage it reports with the turn's end is
    # kept for this long at most (the response's spend row waits for it; the key's session slot stays taken).
    usage_settle_seconds: float = Field(10, ge=0)  # 0: the row is written at once, without that usage
    ping_interval_seconds: float = Field(20, gt=0)  # keep-alive both ways (the real server pings every ~20 s)
    client_compression: bool = False  # permessage-deflate with clients: optional per OPENAI_REALTIME.md §1.1;
    # off by default since audio barely compresses and deflate dominated CPU and memory per session (bench/)
    shutdown_grace_seconds: float = Field(10, ge=0)  # on SIGTERM, time for open turns to finish
    max_conversation_bytes: int = Field(64 * 1024 * 1024, ge=1024)  # items a session keeps, text and arguments
    handshake_timeout_seconds: float = Field(10, gt=0)  # from TCP accept to complete request headers
    max_header_bytes: int = Field(16 * 1024, ge=1024)  # request line and headers of one HTTP request
