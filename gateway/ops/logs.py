"""Logging hygiene: no client key reaches a log line."""

from __future__ import annotations

import logging
import re

# `?key=…` (seed-003 clients put their key or client secret in the URL): its value, wherever in a query.
_URL_KEY = re.compile(r"([?&]key=)[^&\s\"]*")


class _RedactKeyHeaders(logging.Filter):
    """uvicorn's websockets layer logs every handshake header and request line at DEBUG and each WebSocket's
    path with its query at INFO: keep the client's key out of all of them."""

    _HEADERS = frozenset({"authorization", "api-key", "x-goog-api-key", "sec-websocket-protocol"})

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.msg == "< %s: %s" and isinstance(args, tuple) and str(args[0]).lower() in self._HEADERS:
            record.args = (args[0], "[redacted]")
        elif isinstance(args, tuple) and any(isinstance(a, str) and "key=" in a for a in args):
            record.args = tuple(_URL_KEY.sub(r"\1[redacted]", a) if isinstance(a, str) else a for a in args)
        return True


def redact_server_logs() -> None:
    server_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _RedactKeyHeaders) for f in server_log.filters):
        server_log.addFilter(_RedactKeyHeaders())
