"""Minting ephemeral client secrets (OPENAI_REALTIME.md §10): the request and response bodies, GA and beta.

Shapes from openai-python's `types/realtime/client_secret_create_params.py` / `…_response.py` (GA,
`POST /v1/realtime/client_secrets`) and `types/beta/realtime/session_create_response.py` (beta,
`POST /v1/realtime/sessions`). The `session` inside is checked as a `session.update`'s (schemas.openai).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

STRICT = ConfigDict(extra="forbid", frozen=True)
MIN_TTL_S, MAX_TTL_S, DEFAULT_TTL_S = 10, 7200, 600  # "between 10 and 7200 … defaults to 600"


class ExpiresAfter(BaseModel):
    model_config = STRICT
    anchor: Literal["created_at"] = "created_at"  # the only anchor OpenAI supports
    seconds: Annotated[int, Field(ge=MIN_TTL_S, le=MAX_TTL_S)] = DEFAULT_TTL_S


class ClientSecretCreateRequest(BaseModel):
    """GA body: both fields optional; `session` is a realtime (or transcription) session request."""

    model_config = STRICT
    expires_after: ExpiresAfter | None = None
    session: dict[str, Any] | None = None


class BetaClientSecretRequest(BaseModel):
    """Beta body's `client_secret` field; the rest of the body is a beta session config."""

    model_config = STRICT
    expires_after: ExpiresAfter | None = None


class ClientSecretCreateResponse(BaseModel):
    """GA answer: the secret, its expiry and the full effective session object."""

    model_config = STRICT
    value: str  # "ek_…"
    expires_at: int  # unix seconds
    session: dict[str, Any]  # a `realtime.session` object, as `session.created` renders it


class BetaClientSecret(BaseModel):
    model_config = STRICT
    value: str
    expires_at: int


class ErrorBody(BaseModel):
    """OpenAI's HTTP error envelope: `{"error": {message, type, param, code}}`."""

    model_config = STRICT
    message: str
    type: str = "invalid_request_error"
    param: str | None = None
    code: str | None = None
