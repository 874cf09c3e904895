"""Logging: text or JSON lines (`--log-format`), the session and refusal lines, and no client key in any line.

Event lines carry their fields twice: rendered into the message (readable under any logging setup) and
as `record.fields`, which the JSON formatter puts at the top level of the object.
"""

from __future__ import annotations

import logging
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from gateway.close_codes import redact

events = logging.getLogger("livegate.sessions")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _RedactKeyHeaders(logging.Filter):
    """uvicorn's websockets layer logs every handshake header at DEBUG: keep the client's key out of it."""

    _HEADERS = frozenset({"authorization", "api-key", "x-goog-api-key", "sec-websocket-protocol"})

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.msg == "< %s: %s" and isinstance(args, tuple) and str(args[0]).lower() in self._HEADERS:
            record.args = (args[0], "[redacted]")
        return True


class _RedactQueryKeys(logging.Filter):
    """uvicorn logs each request's path with its query string (access log, and `"WebSocket /…" [accepted]`):
    a client that puts its key there (`?key=`, `?api_key=`, `?token=`) must not find it in our logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(isinstance(a, str) and "=" in a for a in args):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in args)
        return True


def redact_server_logs() -> None:
    for name, kind in (("uvicorn.error", _RedactKeyHeaders), ("uvicorn.error", _RedactQueryKeys),
                       ("uvicorn.access", _RedactQueryKeys)):
        server_log = logging.getLogger(name)
        if not any(isinstance(f, kind) for f in server_log.filters):
            server_log.addFilter(kind())


class JsonFormatter(_JsonFormatter):
    """One JSON object per line: time, level, logger, message, and an event line's fields at the top level."""

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data.pop("color_message", None)  # uvicorn's ANSI copy of the message
        fields = log_data.pop("fields", None)
        if isinstance(fields, dict):
            log_data.update(fields)


def default_format() -> str:
    """Text, unless asked for JSON (`--log-format json`, `LIVEGATE_LOG_FORMAT=json`): a terminal, a pipe into
    less and the tests read the same lines; log collectors ask for JSON."""
    return "text"


def logging_config(log_format: str, level: str = "info") -> dict[str, Any]:
    """A `logging.config.dictConfig` for the gateway and uvicorn alike (passed to uvicorn as `log_config`)."""
    formatter: dict[str, Any]
    if log_format == "json":
        formatter = {
            "()": f"{__name__}.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    else:
        formatter = {"format": TEXT_FORMAT}
    handler = {"class": "logging.StreamHandler", "formatter": "main", "stream": "ext://sys.stderr"}
    upper = level.upper() if level != "trace" else "DEBUG"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {"main": handler},
        "root": {"handlers": ["main"], "level": upper},
        "loggers": {
            **{
                name: {"handlers": [], "level": upper, "propagate": True}
                for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
            },
            "alembic.runtime.plugins": {"level": "WARNING"},  # one line per plugin at every start-up
        },
    }


def _render(fields: dict[str, Any]) -> str:
    return " ".join(f"{name}={value}" for name, value in fields.items() if value is not None)


def event(what: str, level: int = logging.INFO, **fields: Any) -> None:
    """One event line: `what k=v …`. Values are redacted of anything that looks like a key or token."""
    clean = {name: redact(value) if isinstance(value, str) else value for name, value in fields.items()}
    events.log(level, "%s %s", what, _render(clean), extra={"fields": {"event": what.replace(" ", "_"), **clean}})


def session_started(session_id: str, alias: str, key_alias: str | None, dialect: str, client: str | None) -> None:
    event("session start", session_id=session_id, alias=alias, key_alias=key_alias, dialect=dialect, client=client)


def session_ended(session_id: str, alias: str, **fields: Any) -> None:
    event("session end", session_id=session_id, alias=alias, **fields)


def connection_refused(path: str, reason: str, close_code: int | str, client: str | None, **fields: Any) -> None:
    event("connection refused", logging.INFO, path=path, reason=reason, close=close_code, client=client, **fields)
