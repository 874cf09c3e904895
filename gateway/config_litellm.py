"""LiteLLM compatibility at load: the LiteLLM keys livegate deliberately ignores (`schemas/config.py`
LITELLM_IGNORED), every `litellm_settings` entry it has no use for and non-realtime `model_list` entries are
dropped with one warning line each, so a LiteLLM user's file loads; everything else unknown stays and is
refused by the strict shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.config_errors import Locator, near_miss
from schemas.config import (
    LITELLM_IGNORED,
    GatewayConfigFile,
    GeneralSettings,
    LitellmParams,
    LitellmSettings,
    ModelInfo,
)
from schemas.profiles import PROFILE_FIELDS

_NOT_USED = "a LiteLLM setting livegate does not use; ignored"


@dataclass
class Prepared:
    """The file as livegate reads it."""

    document: dict[str, Any]  # without the dropped keys and entries
    locate: Locator  # names places in the file (entry indices as written)
    warnings: list[str] = field(default_factory=list)  # one line per key or entry dropped


def prepare(raw: dict[str, Any], where: str) -> Prepared:
    warnings: list[str] = []
    document = _drop(raw, "", set(GatewayConfigFile.model_fields), f"{where}: ", warnings)
    general = document.get("general_settings")
    if isinstance(general, dict):
        known = set(GeneralSettings.model_fields)
        label = f"{where}: general_settings."
        document["general_settings"] = _drop(general, "general_settings", known, label, warnings)
    settings = document.get("litellm_settings")
    if isinstance(settings, dict):
        document["litellm_settings"] = _litellm_settings(settings, f"{where}: litellm_settings.", warnings)
    entries = document.get("model_list")
    if not isinstance(entries, list):
        return Prepared(document, Locator(where, entries), warnings)
    locate = Locator(where, entries)
    kept, origin = [], []
    for index, entry in enumerate(entries):
        label = f"{where}: {locate.entry(index)}: "
        mode = _mode(entry)
        if mode is not None and mode not in SERVED_MODES:
            warnings.append(f"{label}mode {mode!r} is not realtime; livegate serves realtime models only, skipped")
            continue
        kept.append(_entry(entry, label, warnings) if isinstance(entry, dict) else entry)
        origin.append(index)
    document["model_list"] = kept
    return Prepared(document, Locator(where, entries, origin), warnings)


SERVED_MODES = ("realtime", "realtime_transcription")  # model_info.mode values livegate serves (schemas/config.py)


def _mode(entry: Any) -> str | None:
    """An entry's LiteLLM `model_info.mode` (chat, embedding, realtime, …), if it states one."""
    info = entry.get("model_info") if isinstance(entry, dict) else None
    mode = info.get("mode") if isinstance(info, dict) else None
    return mode if isinstance(mode, str) else None


def _entry(entry: dict[str, Any], label: str, warnings: list[str]) -> dict[str, Any]:
    entry = dict(entry)
    params = entry.get("litellm_params")
    if isinstance(params, dict):
        known = set(LitellmParams.model_fields)
        entry["litellm_params"] = _drop(params, "litellm_params", known, f"{label}litellm_params.", warnings)
    info = entry.get("model_info")
    if isinstance(info, dict):
        known = set(ModelInfo.model_fields) | PROFILE_FIELDS
        entry["model_info"] = _drop(info, "model_info", known, f"{label}model_info.", warnings)
    return entry


def _drop(section: dict[str, Any], name: str, known: set[str], label: str, warnings: list[str]) -> dict[str, Any]:
    """The section without the LiteLLM keys it may hold that livegate ignores (its own fields always win)."""
    ignored = LITELLM_IGNORED.get(name, frozenset())
    kept = {}
    for key, value in section.items():
        if key in ignored and key not in known:
            warnings.append(f"{label}{key}: {_NOT_USED}")
        else:
            kept[key] = value
    return kept


def _litellm_settings(section: dict[str, Any], label: str, warnings: list[str]) -> dict[str, Any]:
    """LiteLLM's module settings: livegate's own entries are kept, and so are near misses of them (a typo
    of `default_vertex_config` must fail, not be ignored); every other entry is LiteLLM's and ignored."""
    known = set(LitellmSettings.model_fields)
    kept = {}
    for key, value in section.items():
        if key in known or near_miss(str(key), known):
            kept[key] = value
        else:
            warnings.append(f"{label}{key}: {_NOT_USED}")
    return kept
