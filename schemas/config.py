"""The gateway's config file, LiteLLM-compatible (`model_list`, `general_settings`, `litellm_settings`).

Validated once at start-up; `gateway/config.py` loads the file, resolves `os.environ/NAME` values and
turns each entry into a `Deployment`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

PROVIDERS = ("gemini", "vertex_ai", "emulator")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LitellmParams(_Strict):
    """Where one deployment lives and how to reach it."""

    model: str  # "<provider>/<model id>", provider one of PROVIDERS
    api_key: str | None = None  # Gemini API key (gemini/), or Vertex express-mode key
    api_base: str | None = None  # overrides the host: http→ws, https→wss
    api_version: str | None = None  # e.g. v1beta (Gemini API), v1beta1 (Vertex)
    vertex_project: str | None = None
    vertex_location: str | None = None
    vertex_credentials: str | None = None  # a service-account JSON file path or the JSON itself

    @field_validator("model")
    @classmethod
    def _provider_prefix(cls, value: str) -> str:
        provider, sep, model_id = value.partition("/")
        if not sep or provider not in PROVIDERS or not model_id:
            raise ValueError(
                f"expected '<provider>/<model id>' with provider one of {', '.join(PROVIDERS)}, got {value!r}"
            )
        return value


class ModelInfo(BaseModel):
    """`mode: realtime` as in LiteLLM, plus optional model-profile overrides (schemas/profiles.py)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    mode: Literal["realtime"] | None = None


class ModelEntry(_Strict):
    model_name: str = Field(min_length=1)  # the alias clients pass as ?model=
    litellm_params: LitellmParams
    model_info: ModelInfo = ModelInfo()


class GeneralSettings(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    master_key: str | None = None  # clients must present it; None = no gateway auth


class DefaultVertexConfig(_Strict):
    vertex_project: str | None = None
    vertex_location: str | None = None
    vertex_credentials: str | None = None


class LitellmSettings(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    default_vertex_config: DefaultVertexConfig | None = None


class GatewayConfigFile(_Strict):
    model_list: list[ModelEntry] = Field(min_length=1)
    general_settings: GeneralSettings = GeneralSettings()
    litellm_settings: LitellmSettings = LitellmSettings()
