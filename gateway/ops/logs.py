"""Logging hygiene: no client key reaches a log line, from a header or from a query string."""

from __future__ import annotations

import logging

from gateway.close_codes import redact


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
