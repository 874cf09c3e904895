"""The two roots of protocol errors: the client's fault and Gemini's (h11's Local/Remote split)."""

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


class UpstreamProtocolError(Exception):
    """Gemini sent something we cannot map; the client gets a `server_error` and the session goes on."""

    def __init__(self, message: str, *, close_code: int = 1011) -> None:
        super().__init__(message)
        self.message = message
        self.close_code = close_code  # the client close code this error implies if it is fatal
