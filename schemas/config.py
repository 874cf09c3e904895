"""The gateway's config file, LiteLLM-compatible (`model_list`, `general_settings`, `litellm_settings`).

Validated once at start-up; `gateway/config.py` loads the file, resolves `os.environ/NAME` values and
turns each entry into a `Deployment`. Every section refuses keys it does not know, except the LiteLLM keys
listed in `LITELLM_IGNORED`, which load with a warning so a LiteLLM user's file still works.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.limits import Limits
from schemas.pricing import PRICE_OVERRIDES
from schemas.webrtc import WebRTCSettings

PROVIDERS = ("gemini", "vertex_ai", "emulator")
BASE_SCHEMES = ("http", "https", "ws", "wss")
# Both end up in the upstream URL (host and path), so only Google's own spellings pass (GEMINI_LIVE.md §1.1).
_LOCATION = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_VERSION = re.compile(r"^v\d+(?:(?:alpha|beta)\d*)?$")


def check_location(value: str | None) -> str | None:
    """A Vertex location becomes part of a host name: `us-central1`, `global`, `us`, `eu`, …"""
    if value is not None and not _LOCATION.match(value):
        raise ValueError(f"expected a Vertex AI location such as us-central1 or global, got {value!r}")
    return value


def check_version(value: str | None) -> str | None:
    if value is not None and not _VERSION.match(value):
        raise ValueError(f"expected an API version such as v1beta or v1beta1, got {value!r}")
    return value


def check_base(value: str | None) -> str | None:
    """An `api_base` must be an http(s) or ws(s) URL with a host (it replaces Google's host)."""
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in BASE_SCHEMES or not parts.netloc:
        # The value is not echoed: LiteLLM users put keys in api_base query strings (issue #16).
        raise ValueError("expected an http(s):// or ws(s):// URL with a host")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _VertexFields(_Strict):
    """Where a Vertex (or any) upstream is: shared by `litellm_params` and `vertex_passthrough`."""

    api_base: str | None = None  # overrides the host: http→ws, https→wss (GEMINI_LIVE.md §1.1)
    api_version: str | None = None  # e.g. v1beta (Gemini API), v1beta1 (Vertex)
    vertex_project: str | None = None
    vertex_location: str | None = None  # us-central1, global, us, eu, …
    vertex_credentials: str | None = None  # a service-account JSON file path or the JSON itself; default ADC

    @field_validator("api_base")
    @classmethod
    def _base(cls, value: str | None) -> str | None:
        return check_base(value)

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str | None) -> str | None:
        return check_version(value)

    @field_validator("vertex_location")
    @classmethod
    def _location(cls, value: str | None) -> str | None:
        return check_location(value)


class LitellmParams(_VertexFields):
    """Where one deployment lives and how to reach it."""

    model: str  # "<provider>/<model id>", provider one of PROVIDERS
    api_key: str | None = None  # Gemini API key (gemini/), or Vertex express-mode key

    @field_validator("model")
    @classmethod
    def _provider_prefix(cls, value: str) -> str:
        provider, sep, model_id = value.partition("/")
        if not sep or provider not in PROVIDERS or not model_id:
            raise ValueError(
                f"expected '<provider>/<model id>' with provider one of {', '.join(PROVIDERS)}, got {value!r} "
                "(a LiteLLM entry livegate should skip needs its model_info.mode, e.g. chat)"
            )
        return value


class ModelInfo(BaseModel):
    """`mode: realtime` as in LiteLLM (`realtime_transcription`: serves `?intent=transcription` sessions), plus
    optional model-profile overrides (schemas/profiles.py).

    Extra keys are the profile overrides; `gateway/config.py` refuses any that is not a profile field.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    # Other LiteLLM modes (chat, embedding, …) are skipped at load.
    mode: Literal["realtime", "realtime_transcription"] | None = None
    # Opt-in: a generateContent model (e.g. gemini-2.5-flash) that serves text-only turns over REST when no
    # Live deployment of the alias can be reached (gateway/upstream/rest_fallback.py).
    rest_fallback: str | None = None
    # Per-alias prices, LiteLLM's names, USD per token (schemas/pricing.py PRICE_OVERRIDES); unset: the table's.
    input_cost_per_token: float | None = Field(None, ge=0)
    input_cost_per_audio_token: float | None = Field(None, ge=0)
    input_cost_per_image_token: float | None = Field(None, ge=0)
    output_cost_per_token: float | None = Field(None, ge=0)
    output_cost_per_audio_token: float | None = Field(None, ge=0)
    cache_read_input_token_cost: float | None = Field(None, ge=0)
    cache_read_input_audio_token_cost: float | None = Field(None, ge=0)
    cache_read_input_image_token_cost: float | None = Field(None, ge=0)
    output_cost_per_reasoning_token: float | None = Field(None, ge=0)

    def price_overrides(self) -> dict[str, float]:
        """The cost fields this alias sets (LiteLLM names → USD per token)."""
        return {name: value for name in PRICE_OVERRIDES if (value := getattr(self, name)) is not None}


class ModelEntry(_Strict):
    model_name: str = Field(min_length=1)  # the alias clients pass as ?model=
    litellm_params: LitellmParams
    model_info: ModelInfo = ModelInfo()


class VertexPassthrough(_VertexFields):
    """The upstream of `/v1/vertex-ai/live` (seed 000); unset fields fall back to `default_vertex_config`, then env.

    `vertex_project` / `vertex_location` apply when the client passes no `?project_id=` / `?location=`.
    """


REDIS_SCHEMES = frozenset({"redis", "rediss", "unix", "valkey", "valkeys"})


class GeneralSettings(_Strict):
    """The gateway's own settings. A new setting is one field line here; unknown keys are refused."""

    master_key: str | None = Field(None, min_length=1)  # clients must present it; None = no gateway auth
    vertex_passthrough: VertexPassthrough | None = None  # the native Live passthrough's upstream
    limits: Limits = Limits()  # session and gateway limits (schemas/limits.py)
    # Signing keys of ek_… client secrets, newest first (gateway/accounts/client_secrets.py); unset: derived
    # from master_key. Every replica needs the same list.
    client_secret_keys: list[Annotated[str, Field(min_length=16)]] | None = None
    # Keys and spend (gateway/accounts/). An SQLAlchemy async URL (sqlite+aiosqlite:///…, postgresql+asyncpg://…);
    # unset with a master_key: sqlite livegate.db next to the config; `null`, or no master_key: no database.
    database_url: str | None = None
    store_transcripts: bool = False  # user and assistant transcripts in each response's spend row (opt-in)
    proxy_batch_write_at: float = Field(2.0, gt=0)  # LiteLLM's name: seconds between batched spend writes
    max_spend_queue: int = Field(100_000, ge=100)  # spend rows held in memory while the database is down
    metrics_key: str | None = None  # /metrics wants `Authorization: Bearer <metrics_key>`; None: open
    allowed_origins: list[str] | None = None  # browser Origins allowed to connect; None: any
    webrtc: WebRTCSettings = WebRTCSettings()  # WebRTC calls: ICE servers, host addresses, timeouts
    # Admission counters and running spend shared by every process and replica (gateway/accounts/shared.py):
    # redis://, rediss://, unix:// (Valkey or Redis). Unset: this process's own (`--workers N` starts a Valkey).
    redis_url: str | None = None
    redis_lease_seconds: float = Field(10.0, ge=1, le=600)  # a dead process's open-session slots lapse after this

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str] | None) -> list[str] | None:
        for origin in value or ():
            parts = urlsplit(origin)
            if origin != "*" and (parts.scheme not in ("http", "https") or not parts.netloc or parts.path):
                raise ValueError(f"expected origins such as https://app.example.com (scheme and host), got {origin!r}")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        scheme = urlsplit(value).scheme if value else None
        if value is not None and scheme not in REDIS_SCHEMES:
            raise ValueError("expected a URL such as redis://host:6379/0, rediss://… (TLS) or unix:///path/valkey.sock")
        return value

    @field_validator("master_key", "metrics_key", "database_url")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty")
        return value


class DefaultVertexConfig(_Strict):
    """LiteLLM's defaults for every `vertex_ai/` entry and for the passthrough (seed 000)."""

    vertex_project: str | None = None
    vertex_location: str | None = None
    vertex_credentials: str | None = None

    @field_validator("vertex_location")
    @classmethod
    def _location(cls, value: str | None) -> str | None:
        return check_location(value)


class LitellmSettings(_Strict):
    """LiteLLM's module settings: livegate reads only these; any other entry loads with a warning."""

    default_vertex_config: DefaultVertexConfig | None = None


class GatewayConfigFile(_Strict):
    model_list: list[ModelEntry] = Field(min_length=1)
    general_settings: GeneralSettings = GeneralSettings()
    litellm_settings: LitellmSettings = LitellmSettings()


# LiteLLM keys livegate deliberately ignores, by the section they sit in ("" is the top level): a LiteLLM
# user's file loads, with one warning line per key. Every other unknown key is an error. In
# `litellm_settings` every key but livegate's own is ignored this way (near-misses of them are errors);
# `model_list` entries with a `model_info.mode` other than realtime are skipped whole.
LITELLM_IGNORED: dict[str, frozenset[str]] = {
    "": frozenset({"router_settings", "environment_variables", "callback_settings"}),
    "general_settings": frozenset(
        {
            "alerting", "alerting_threshold", "alert_types", "allow_requests_on_db_unavailable", "allowed_routes",
            "background_health_checks", "custom_auth", "database_connection_pool_limit",
            "database_connection_timeout", "disable_master_key_return", "disable_spend_logs",
            "enforce_user_param", "global_max_parallel_requests", "health_check_interval",
            "key_management_settings", "key_management_system", "max_parallel_requests",
            "maximum_spend_logs_retention_period", "store_model_in_db",
            "store_prompts_in_spend_logs", "ui_access_mode",
        }
    ),
    "litellm_params": frozenset(
        {
            "rpm", "tpm", "timeout", "stream_timeout", "max_retries", "num_retries", "max_parallel_requests",
            "weight", "order", "tags", "drop_params", "temperature", "max_tokens", "top_p",
            "input_cost_per_token", "output_cost_per_token", "input_cost_per_second", "output_cost_per_second",
        }
    ),
    "model_info": frozenset(
        {
            "id", "base_model", "db_model", "description", "metadata", "team_id", "access_groups", "tier",
            "max_tokens", "max_input_tokens", "max_output_tokens", "supports_function_calling",
            "supports_parallel_function_calling", "supports_vision", "supports_audio_input", "supports_audio_output",
            "supports_system_messages", "supports_tool_choice",
        }
    ),
}
# Fields whose values never appear in a message (check-config, the start-up lines and errors mask them).
SECRET_FIELDS = frozenset({"api_key", "master_key", "vertex_credentials"})
