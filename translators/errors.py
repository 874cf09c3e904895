"""Protocol errors from the client (`ClientProtocolError`, defined in schemas/errors.py so schemas can raise it
too), and the table of ways the gateway ends a session.

Gemini sending something we cannot map is not an exception: the upstream translator ignores unknown
keys (Google adds fields) and maps closes through gateway/close_codes.py.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from schemas.errors import ClientProtocolError

__all__ = ["ClientProtocolError", "Ending", "SessionEnd"]


@dataclass(frozen=True)
class Ending:
    """How the client is told that the gateway ended its session: error type/code/text, close code."""

    error_type: str
    code: str
    message: str  # may hold {minutes}
    close_code: int


class SessionEnd(enum.Enum):
    """Why the gateway ends a session (limits, slow peers, shutdown: issue #6); the one table below."""

    EXPIRED = Ending(
        "invalid_request_error", "session_expired", "Your session hit the maximum duration of {minutes} minutes.", 1000
    )
    IDLE = Ending(
        "invalid_request_error", "idle_timeout", "The session was idle for too long and has been closed.", 1000
    )
    CLIENT_TOO_SLOW = Ending(
        "invalid_request_error",
        "client_too_slow",
        "The client did not read its events fast enough; the session was closed.",
        1008,
    )
    UPSTREAM_STALLED = Ending("server_error", "upstream_stalled", "Gemini stopped reading this session's input.", 1011)
    SHUTDOWN = Ending("server_error", "server_shutdown", "The server is shutting down; reconnect to continue.", 1001)
    # The key's max_budget is spent (issue #10): after the response in flight, never mid-turn. 1008: a policy
    # ends the session; reconnecting does not help until the budget resets (OpenAI's own quota error code).
    BUDGET_EXCEEDED = Ending(
        "insufficient_quota",
        "insufficient_quota",
        "This API key has used up its budget. Ask the gateway operator to raise it or wait for its reset.",
        1008,
    )
    # Our own bug: never a normal close (1000) that would look like the client's doing (issue #16 item 5).
    INTERNAL = Ending("server_error", "server_error", "The gateway hit an internal error and closed the session.", 1011)
