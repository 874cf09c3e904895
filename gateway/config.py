"""Loads the config file once at start-up: YAML → LiteLLM-only keys dropped → validated shapes → resolved,
frozen deployments.

Every failure is a `ConfigError` whose message names the file, the entry and the field
(`gateway/config_errors.py`), so `livegate serve` can print it and exit instead of failing later on a live
session; what livegate deliberately ignores is one warning line each (`gateway/config_litellm.py`).
"""

from __future__ import annotations

import enum
import logging
import re
import typing
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from gateway.config_errors import (
    ConfigError,
    check_credentials,
    fields_at,
    mask,
    masked_url,
    unknown_field,
    unknown_fields,
    validation_error,
    yaml_error,
)
from gateway.config_litellm import prepare
from schemas.config import (
    DefaultVertexConfig,
    GatewayConfigFile,
    GeneralSettings,
    ModelEntry,
    ModelInfo,
    check_location,
)
from schemas.limits import Limits
from schemas.pricing import Price, price_for
from schemas.profiles import DEFAULT_PROFILE, PROFILE_FIELDS, ModelProfile, is_known, profile_for
from schemas.webrtc import WebRTCSettings

__all__ = [
    "AccountSettings",
    "ConfigError",
    "Deployment",
    "GatewayConfig",
    "PassthroughSettings",
    "Provider",
    "load_config",
]

log = logging.getLogger("livegate.config")
_ENV_REF = re.compile(r"^os\.environ/([A-Za-z_][A-Za-z0-9_]*)$")
# LiteLLM's environment defaults for Vertex (seed 000), read from the injected environment.
ENV_PROJECT = "DEFAULT_VERTEXAI_PROJECT"
ENV_LOCATION = "DEFAULT_VERTEXAI_LOCATION"
ENV_CREDENTIALS = "DEFAULT_GOOGLE_APPLICATION_CREDENTIALS"
ENV_GEMINI_KEY = "GEMINI_API_KEY"  # LiteLLM's default api_key for gemini/ entries
_PROFILE = TypeAdapter(ModelProfile)  # checks model_info overrides against the profile's field types
TRANSCRIPTION_MODE = "realtime_transcription"  # model_info.mode of an alias serving transcription sessions


class Provider(enum.Enum):
    GEMINI = "gemini"
    VERTEX = "vertex_ai"
    EMULATOR = "emulator"


@dataclass(frozen=True)
class Deployment:
    """One resolved `model_list` entry: everything needed to dial its upstream."""

    alias: str  # what clients pass as ?model=
    provider: Provider
    model_id: str  # bare Gemini model id, e.g. gemini-3.1-flash-live-preview
    profile: ModelProfile  # capabilities, with model_info overrides applied
    api_key: str | None = field(default=None, repr=False)
    api_base: str | None = None
    api_version: str | None = None
    vertex_project: str | None = None
    vertex_location: str | None = None
    vertex_credentials: str | None = field(default=None, repr=False)
    rest_fallback: str | None = None  # opt-in generateContent model for text turns (model_info.rest_fallback)
    mode: str = "realtime"  # model_info.mode; `realtime_transcription` serves transcription sessions
    price: Price | None = None  # schemas/pricing.py's rates with model_info overrides; None: unknown, cost 0

    @property
    def model(self) -> str:
        """`provider/model id`, as the config names it (spend rows, logs)."""
        return f"{self.provider.value}/{self.model_id}"

    def describe(self) -> dict[str, Any]:
        """For `check-config`: the resolved alias with secrets masked."""
        return {
            "alias": self.alias,
            "provider": self.provider.value,
            "model": self.model_id,
            "api_key": mask(self.api_key),
            "api_base": masked_url(self.api_base),
            "api_version": self.api_version,
            "vertex_project": self.vertex_project,
            "vertex_location": self.vertex_location,
            "vertex_credentials": mask(self.vertex_credentials),
            "rest_fallback": self.rest_fallback,
            "price_per_million_tokens": None if self.price is None else _plain_price(self.price),
            "mode": self.mode,
            "profile": {name: _plain(getattr(self.profile, name)) for name in sorted(PROFILE_FIELDS)},
        }


@dataclass(frozen=True)
class PassthroughSettings:
    """The upstream of the native Vertex Live passthrough (seed 000); the client's query may name another
    project or location."""

    api_base: str | None = None  # None: the regional Vertex host of the location
    api_version: str | None = None
    project: str | None = None  # None and no ?project_id=: close 4002
    location: str | None = None
    credentials: str | None = field(default=None, repr=False)  # None: application default credentials

    def describe(self) -> dict[str, Any]:
        """For `check-config`: the passthrough's upstream with the credentials masked."""
        return {
            "api_base": masked_url(self.api_base),
            "api_version": self.api_version,
            "vertex_project": self.project,
            "vertex_location": self.location,
            "vertex_credentials": mask(self.credentials) if self.credentials else "application default",
        }


@dataclass(frozen=True)
class AccountSettings:
    """Keys, spend and the operator's endpoints (`general_settings`, gateway/accounts/ and gateway/ops/)."""

    database_url: str | None = field(default=None, repr=False)  # resolved async URL; None: no database
    store_transcripts: bool = False  # transcripts in spend rows (opt-in)
    batch_write_seconds: float = 2.0  # proxy_batch_write_at
    max_spend_queue: int = 100_000  # rows held in memory while the database is down
    metrics_key: str | None = field(default=None, repr=False)  # None: /metrics is open
    allowed_origins: tuple[str, ...] | None = None  # browser Origins let in; None: any
    redis_url: str | None = field(default=None, repr=False)  # shared counters; None: this process's own
    redis_lease_seconds: float = 10.0  # open-session leases lapse this long after their process stops refreshing
    redis_embedded: bool = False  # redis_url is the Valkey `serve --workers N` started (said at start-up)

    def describe(self) -> dict[str, Any]:
        return {
            "database": masked_url(self.database_url) if self.database_url else None,
            "redis": masked_url(self.redis_url) if self.redis_url else None,
            "store_transcripts": self.store_transcripts,
            "metrics_key": bool(self.metrics_key),
            "allowed_origins": list(self.allowed_origins) if self.allowed_origins is not None else None,
        }


@dataclass(frozen=True)
class GatewayConfig:
    """The whole gateway's settings."""

    path: str  # the file it came from, for messages
    deployments: dict[str, list[Deployment]]  # alias → deployments, in the order they are tried
    master_key: str | None = field(default=None, repr=False)  # None: no gateway key is required
    passthrough: PassthroughSettings = PassthroughSettings()  # /v1/vertex-ai/live
    limits: Limits = field(default_factory=Limits)  # general_settings.limits: durations, caps, backlogs, shutdown grace
    accounts: AccountSettings = AccountSettings()  # database, spend, /metrics key, allowed origins
    client_secret_keys: tuple[str, ...] = field(default=(), repr=False)  # signing keys of ek_… secrets, newest first
    webrtc: WebRTCSettings = field(default_factory=WebRTCSettings)  # general_settings.webrtc: ICE, call timeouts

    @property
    def transcription_alias(self) -> str | None:
        """The alias `?intent=transcription` sessions get when they name no model: the first marked
        `mode: realtime_transcription`, else the first whose model transcribes only."""
        marked = [alias for alias, group in self.deployments.items() if group[0].mode == TRANSCRIPTION_MODE]
        capable = [alias for alias, group in self.deployments.items() if group[0].profile.transcription_only]
        return next(iter(marked + capable), None)

    @property
    def uses_emulator(self) -> bool:
        return any(d.provider is Provider.EMULATOR for ds in self.deployments.values() for d in ds)


# Top-level sections that are mappings: left empty in the file (`general_settings:` with nothing under it),
# they mean their defaults, as in LiteLLM.
_SECTIONS = frozenset(
    name
    for name, field in GatewayConfigFile.model_fields.items()
    if fields_at(GatewayConfigFile, (name,)) and typing.get_origin(field.annotation) is not list
)


def load_config(path: str | Path, environ: Mapping[str, str]) -> GatewayConfig:
    """Read, validate and resolve a config file against an injected environment."""
    where = str(path)
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read the config file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: cannot read the config file: it is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise yaml_error(where, exc) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with a 'model_list' at the top level")
    raw = {key: {} if value is None and key in _SECTIONS else value for key, value in raw.items()}
    prepared = prepare(raw, where)
    for warning in prepared.warnings:
        log.warning("%s", warning)
    from_env: dict[tuple[str, ...], str] = {}
    unset: dict[tuple[str, ...], str] = {}  # fields naming a variable that is not set: "" while validating
    resolved = _resolve_env(prepared.document, environ, (), from_env, unset)
    problems: list[str] = []
    try:
        parsed = GatewayConfigFile.model_validate(resolved)
    except ValidationError as exc:  # every problem at once: an unknown field's unset variable is no problem of its
        unknown = unknown_fields(exc)  # own, and a value whose variable is unset is reported as that alone
        unset = {at: name for at, name in unset.items() if not any(at[: len(u)] == u for u in unknown)}
        problems = str(validation_error(prepared.locate, exc, from_env, skip=tuple(unset))).splitlines()
    problems += [f"{prepared.locate(at)}: environment variable {name} is not set" for at, name in unset.items()]
    if problems:
        raise ConfigError("\n".join(problems))
    defaults = _vertex_defaults(parsed.litellm_settings.default_vertex_config, environ, where)
    deployments: dict[str, list[Deployment]] = {}
    for index, entry in enumerate(parsed.model_list):
        deployment = _deployment(entry, defaults, environ, f"{where}: {prepared.locate.entry(index)}")
        deployments.setdefault(entry.model_name, []).append(deployment)
    for alias, group in deployments.items():
        _warn_mixed_profiles(where, alias, group)
    passthrough = _passthrough(parsed, defaults, where)
    general = parsed.general_settings
    accounts = _accounts(general, Path(path), where)
    secret_keys = tuple(general.client_secret_keys or ())
    return GatewayConfig(
        where, deployments, general.master_key, passthrough, general.limits, accounts, secret_keys, general.webrtc
    )


def _accounts(general: GeneralSettings, path: Path, where: str) -> AccountSettings:
    """The database URL resolved (default: livegate.db beside the config when a master key can manage keys).
    Read without SQLAlchemy for SQLite (gateway/accounts/database_url.py; issue #15: idle RSS)."""
    url = general.database_url
    if url is None and "database_url" not in general.model_fields_set and general.master_key:
        from gateway.accounts.database_url import default_url

        url = default_url(path.resolve().parent)
    if url is not None:
        from gateway.accounts.database_url import normalize_url

        try:
            url = normalize_url(url, path.resolve().parent)
        except ValueError as exc:
            raise ConfigError(f"{where}: general_settings.database_url: {exc}") from None
    origins = general.allowed_origins
    return AccountSettings(
        database_url=url,
        store_transcripts=general.store_transcripts,
        batch_write_seconds=general.proxy_batch_write_at,
        max_spend_queue=general.max_spend_queue,
        metrics_key=general.metrics_key,
        allowed_origins=tuple(origins) if origins is not None else None,
        redis_url=general.redis_url,
        redis_lease_seconds=general.redis_lease_seconds,
    )


# What shapes the setup and the client messages: fallbacks get the first deployment's shape (seed 002).
_SHAPE_FIELDS = ("user_text", "history_at_start_only", "text_output", "thinking")


def _warn_mixed_profiles(where: str, alias: str, group: list[Deployment]) -> None:
    first = group[0]
    for other in group[1:]:
        differs = [f for f in _SHAPE_FIELDS if getattr(other.profile, f) != getattr(first.profile, f)]
        if differs:
            log.warning(
                "%s: alias %r: fallback %s/%s differs from %s/%s in %s; sessions are shaped for the first one",
                where,
                alias,
                other.provider.value,
                other.model_id,
                first.provider.value,
                first.model_id,
                ", ".join(differs),
            )


def _vertex_defaults(config: DefaultVertexConfig | None, environ: Mapping[str, str], where: str) -> DefaultVertexConfig:
    """`litellm_settings.default_vertex_config`, each unset field taken from LiteLLM's env defaults (seed 000)."""
    config = config or DefaultVertexConfig()
    location = config.vertex_location or environ.get(ENV_LOCATION) or None
    try:
        check_location(location)
    except ValueError as exc:
        raise ConfigError(f"{where}: {ENV_LOCATION}: {exc}") from None
    credentials = config.vertex_credentials or environ.get(ENV_CREDENTIALS) or None
    if config.vertex_credentials:
        label = f"{where}: litellm_settings.default_vertex_config.vertex_credentials"
        check_credentials(config.vertex_credentials, label)
    elif credentials:
        check_credentials(credentials, f"{where}: {ENV_CREDENTIALS}")
    return DefaultVertexConfig(
        vertex_project=config.vertex_project or environ.get(ENV_PROJECT) or None,
        vertex_location=location,
        vertex_credentials=credentials,
    )


def _passthrough(parsed: GatewayConfigFile, defaults: DefaultVertexConfig, where: str) -> PassthroughSettings:
    own = parsed.general_settings.vertex_passthrough
    if own and own.vertex_credentials:
        check_credentials(own.vertex_credentials, f"{where}: general_settings.vertex_passthrough.vertex_credentials")
    return PassthroughSettings(
        api_base=own.api_base if own else None,
        api_version=own.api_version if own else None,
        project=(own and own.vertex_project) or defaults.vertex_project,
        location=(own and own.vertex_location) or defaults.vertex_location,
        credentials=(own and own.vertex_credentials) or defaults.vertex_credentials,
    )


def _resolve_env(
    value: Any,
    environ: Mapping[str, str],
    path: tuple[str, ...],
    names: dict[tuple[str, ...], str],
    unset: dict[tuple[str, ...], str],
) -> Any:
    """Replace every `os.environ/NAME` string with the variable's value (LiteLLM's convention); `names` records
    where each came from, so no message ever echoes a value taken from the environment; `unset` where a
    variable is missing (all of them are reported together)."""
    if isinstance(value, dict):
        return {k: _resolve_env(v, environ, (*path, str(k)), names, unset) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_env(v, environ, (*path, str(i)), names, unset) for i, v in enumerate(value)]
    if isinstance(value, str) and (match := _ENV_REF.match(value)):
        name = match.group(1)
        if name not in environ:
            unset[path] = name
            return ""
        names[path] = name
        return environ[name]
    return value


def _deployment(entry: ModelEntry, defaults: DefaultVertexConfig, environ: Mapping[str, str], where: str) -> Deployment:
    params = entry.litellm_params
    provider_name, _, model_id = params.model.partition("/")
    provider = Provider(provider_name)
    profile = _profile(entry.model_info, model_id, where)
    price = price_for(model_id, entry.model_info.price_overrides())
    mode = entry.model_info.mode or "realtime"
    if mode == TRANSCRIPTION_MODE and not profile.transcription_only:
        raise ConfigError(
            f"{where}: model_info.mode: {TRANSCRIPTION_MODE} needs a Gemini transcription model such as "
            f"gemini-3.5-transcribe-live (or model_info.transcription_only: true for one livegate does not know)"
        )
    api_key = params.api_key
    if provider is Provider.GEMINI and not api_key:
        api_key = environ.get(ENV_GEMINI_KEY) or None  # LiteLLM's default for gemini/ entries
        if not api_key:
            raise ConfigError(
                f"{where}: litellm_params.api_key: a Gemini API key is required for gemini/ models "
                f"(set api_key, e.g. api_key: os.environ/{ENV_GEMINI_KEY}, or the {ENV_GEMINI_KEY} variable)"
            )
    # Vertex defaults apply to vertex_ai/ entries only: on an emulator entry a project selects the Vertex path.
    vertex = defaults if provider is Provider.VERTEX else DefaultVertexConfig()
    project = params.vertex_project or vertex.vertex_project
    if provider is Provider.VERTEX and not project and not params.api_key:
        raise ConfigError(
            f"{where}: litellm_params.vertex_project: a Google Cloud project is required for vertex_ai/ models "
            f"(or litellm_settings.default_vertex_config.vertex_project, or {ENV_PROJECT}; "
            "an api_key selects Vertex express mode instead)"
        )
    if params.vertex_credentials:
        check_credentials(params.vertex_credentials, f"{where}: litellm_params.vertex_credentials")
    return Deployment(
        alias=entry.model_name,
        provider=provider,
        model_id=model_id,
        profile=profile,
        api_key=api_key,
        api_base=params.api_base,
        api_version=params.api_version,
        vertex_project=project,
        vertex_location=params.vertex_location or vertex.vertex_location,
        vertex_credentials=params.vertex_credentials or vertex.vertex_credentials,
        rest_fallback=entry.model_info.rest_fallback,
        price=price,
        mode=mode,
    )


def _profile(info: ModelInfo, model_id: str, where: str) -> ModelProfile:
    """The model's profile with the entry's `model_info` overrides; an unknown key is refused, an unknown
    model falls back to the default profile with a warning that says what that profile assumes."""
    overrides = dict(info.model_extra or {})
    for name in overrides:
        if name not in PROFILE_FIELDS:
            known = PROFILE_FIELDS | set(ModelInfo.model_fields)
            raise ConfigError(f"{where}: model_info.{name}: {unknown_field(name, known)}")
    if not is_known(model_id):
        log.warning(
            "%s: model %r is not in livegate's model table (schemas/profiles.py); using the default profile "
            "(%s); set model_info fields to describe it",
            where,
            model_id,
            _describe_profile(DEFAULT_PROFILE),
        )
    try:  # validated against the profile's own field types (UserText, Thinking, ints, bools)
        return _PROFILE.validate_python({**asdict(profile_for(model_id)), **overrides})
    except ValidationError as exc:
        problems = [f"{where}: model_info.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise ConfigError("\n".join(problems)) from None


def _describe_profile(profile: ModelProfile) -> str:
    names = ("text_output", "user_text", "history_at_start_only", "thinking")
    return ", ".join(f"{name}: {_plain(getattr(profile, name))}" for name in names)


def _plain_price(price: Price) -> dict[str, float | None]:
    return {name: getattr(price, name) for name in price.__dataclass_fields__}


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value
