"""What a config mistake says at start-up: the file (and line for YAML syntax), the entry and the field, in
plain words — no pydantic prefixes, and never the value of a secret (keys, credentials, `api_base`, anything
taken from the environment). Also the start-up check of credentials files, and how secrets are masked."""

from __future__ import annotations

import difflib
import json
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from schemas.config import GatewayConfigFile


class ConfigError(Exception):
    """The config file cannot be used; the message says exactly where and why."""


class Locator:
    """Names a place in the file: `config.yaml: model_list[2] ('live'): litellm_params.api_key`.

    `origin` maps an entry's index among the entries livegate kept to its index in the file, so messages
    name the entry the user wrote even when LiteLLM-only entries before it were skipped.
    """

    def __init__(self, where: str, entries: Any, origin: Sequence[int] | None = None) -> None:
        self.where = where  # the file, as given
        self._entries = entries if isinstance(entries, list) else []  # the file's model_list, as written
        self._origin = list(origin) if origin is not None else list(range(len(self._entries)))

    def entry(self, index: int) -> str:
        """`model_list[2] ('live')` for a kept entry's index."""
        original = self._origin[index] if 0 <= index < len(self._origin) else index
        raw = self._entries[original] if original < len(self._entries) else None
        name = raw.get("model_name") if isinstance(raw, dict) else None
        return f"model_list[{original}]" + (f" ({name!r})" if isinstance(name, str) else "")

    def __call__(self, loc: Sequence[str | int]) -> str:
        parts = [str(part) for part in loc]
        if len(parts) >= 2 and parts[0] == "model_list" and parts[1].isdigit():
            head = f"{self.where}: {self.entry(int(parts[1]))}"
            return f"{head}: {_dotted(parts[2:])}" if parts[2:] else head
        return f"{self.where}: {_dotted(parts) or 'top level'}"


def _dotted(parts: Sequence[str]) -> str:
    """`webrtc.ice_servers[0].urls`: list indices in brackets, as `model_list[0]` is written."""
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text


def yaml_error(where: str, exc: yaml.YAMLError) -> ConfigError:
    """`config.yaml:3:9: not valid YAML: …`, from the parser's own problem text; the offending line itself
    (which may hold a key) is not quoted."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    position = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
    context, problem = getattr(exc, "context", None), getattr(exc, "problem", None)
    detail = ", ".join(str(part) for part in (context, problem) if part) or "cannot be parsed"
    return ConfigError(f"{where}{position}: not valid YAML: {detail}")


def validation_error(
    locate: Locator, exc: ValidationError, from_env: Mapping[tuple[str, ...], str] | None = None
) -> ConfigError:
    """One line per problem, each naming its entry and field; a value that came from `os.environ/NAME` is
    named by its variable, never shown. A field that may take several types (pydantic reports one error per
    type, under the type's name) gets one line listing what it takes."""
    found: dict[tuple[str, ...], list[ErrorDetails]] = {}
    for error in exc.errors():
        loc = tuple(str(part) for part in error["loc"] if not _is_type_tag(part))
        found.setdefault(loc, []).append(error)
    lines = []
    for loc, errors in found.items():
        message = _message(errors[0]) if len(errors) == 1 else _alternatives(errors)
        name = (from_env or {}).get(loc)
        if name is not None and isinstance(errors[0].get("input"), str):
            message = message.replace(repr(errors[0]["input"]), f"the value of {name}")
        lines.append(f"{locate(loc)}: {message}")
    return ConfigError("\n".join(lines))


def _is_type_tag(part: str | int) -> bool:
    """A union member's name in pydantic's error location (`str`, `list[str]`, `function-after[...]`)."""
    return isinstance(part, str) and ("[" in part or part in _TYPE_NAMES)


_TYPE_NAMES = frozenset({"str", "int", "float", "bool", "dict", "list", "none", "tagged-union"})
# What a field takes, by the error pydantic gives for a value of another type.
_TAKES = {
    "string_type": "a string",
    "list_type": "a list",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "none_required": "nothing (null)",
}


def _alternatives(errors: list[ErrorDetails]) -> str:
    takes = list(dict.fromkeys(_TAKES.get(error["type"], _message(error)) for error in errors))
    return "must be " + " or ".join(takes)


def unknown_field(name: str, known: Iterable[str]) -> str:
    """`unknown field (did you mean 'master_key'?)` when a known field is a near miss."""
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
    return f"unknown field (did you mean {close[0]!r}?)" if close else "unknown field"


def near_miss(name: str, known: Iterable[str]) -> bool:
    return bool(difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75))


_PREFIXES = ("Value error, ", "Assertion failed, ")
# Messages for problems pydantic words in its own terms, by (location, error type).
_WORDED: dict[tuple[tuple[str | int, ...], str], str] = {
    (("model_list",), "too_short"): "no realtime model entries (livegate serves gemini/, vertex_ai/ and emulator/ "
    "models with model_info.mode realtime or no mode)",
}


def _message(error: ErrorDetails) -> str:
    if error["type"] == "extra_forbidden":
        return unknown_field(str(error["loc"][-1]), fields_at(GatewayConfigFile, error["loc"][:-1]))
    if error["type"] == "missing":
        return "required, but missing"
    if error["type"] in ("model_type", "dict_type"):
        return "must be a mapping of fields" + (" (it is empty)" if error.get("input") is None else "")
    worded = _WORDED.get((tuple(error["loc"]), error["type"]))
    if worded is not None:
        return worded
    if error["type"] == "value_error" and "error" in error.get("ctx", {}):
        return str(error["ctx"]["error"])
    message = error["msg"]
    for prefix in _PREFIXES:
        message = message.removeprefix(prefix)
    return message


def fields_at(model: type[BaseModel], loc: Sequence[str | int]) -> set[str]:
    """The field names of the section at `loc` (for suggestions); empty when it is no known section."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue  # a list index: the element type was already taken below
        field = current.model_fields.get(part) if _is_model(current) else None
        if field is None:
            return set()
        current = _model_in(field.annotation)
    return set(current.model_fields) if _is_model(current) else set()


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _model_in(annotation: Any) -> Any:
    """The pydantic model inside `X | None` or `list[X]`, if any."""
    if _is_model(annotation):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, list):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def check_credentials(value: str, label: str) -> None:
    """`vertex_credentials` must be credentials JSON or a readable file of it: found out now, not at the
    first call. The value is shown only when it looks like a file path (never when it could be the JSON)."""
    if value.lstrip().startswith("{"):
        text = value
    else:
        shown = f" {value!r}" if _looks_like_path(value) else ""
        try:
            text = Path(value).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{label}: cannot read the credentials file{shown}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{label}: the credentials file{shown} is not JSON text") from None
    try:
        info = json.loads(text)
    except ValueError:
        info = None
    if not isinstance(info, dict) or not isinstance(info.get("type"), str):
        raise ConfigError(f"{label}: not Google credentials JSON (a service-account or ADC key file with a 'type')")


def _looks_like_path(value: str) -> bool:
    return len(value) < 1024 and not any(c.isspace() for c in value) and ("/" in value or value.endswith(".json"))


def mask(secret: str | None) -> str | None:
    """A secret as messages show it: its last four characters at most."""
    if not secret:
        return secret
    return "****" + secret[-4:] if len(secret) > 12 else "****"


def masked_url(url: str | None) -> str | None:
    """An `api_base` as messages show it: a password or query (where keys hide) is masked."""
    if not url:
        return url
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username}:****@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc, query="****" if parts.query else "", fragment=""))
