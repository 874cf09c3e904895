"""The error a client's illegal event raises: defined below both `schemas/` (which validates at the edge) and
`translators/` (which checks what validation cannot), so neither imports upward."""

from __future__ import annotations


class ClientProtocolError(Exception):
    """The client sent something illegal; becomes an OpenAI `error` event, the session goes on."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        param: str | None = None,
        event_id: str | None = None,
        error_type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.code = code  # OpenAI error code, e.g. "invalid_json" (OPENAI_REALTIME.md §4.2)
        self.message = message  # human-readable text sent to the client
        self.param = param  # the offending parameter path, e.g. "session.bogus_field"
        self.event_id = event_id  # the client's event_id, echoed so SDK sequencers can correlate
        self.error_type = error_type  # OpenAI error.type
