"""Logging hygiene: no client key reaches a log line."""

from __future__ import annotations

import logging


class _RedactKeyHeaders(logging.Filter):
    """uvicorn's websockets layer logs every handshake header at DEBUG: keep the client's key out of it."""

    _HEADERS = frozenset({"authorization", "api-key", "x-goog-api-key", "sec-websocket-protocol"})

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.msg == "< %s: %s" and isinstance(args, tuple) and str(args[0]).lower() in self._HEADERS:
            record.args = (args[0], "[redacted]")
        return True


def redact_server_logs() -> None:
    server_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _RedactKeyHeaders) for f in server_log.filters):
        server_log.addFilter(_RedactKeyHeaders())
