"""Close codes and the words that go with them: Gemini's closes mapped for the OpenAI client (GEMINI_LIVE.md
§5.1), the OpenAI handshake refusals (OPENAI_REALTIME.md §1.2) and the native passthrough's closes (seed 000).

Reasons are passed on with anything that looks like a secret removed; exception text is never
forwarded (websockets' own warning: it may be security-sensitive).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from websockets.frames import CloseCode

from translators.errors import SessionEnd
from translators.resume import ABORTED, Retry


@dataclass(frozen=True)
class ClientClose:
    """The client-facing result of an upstream close."""

    close_code: int  # WebSocket close code sent to the client
    error_type: str  # OpenAI error.type
    error_code: str  # OpenAI error.code
    summary: str  # what happened, in words; the upstream reason is appended


# 4000 is what OpenAI uses for request-shape failures (OPENAI_REALTIME.md §1.2); 1011 for server faults.
UPSTREAM_TO_CLIENT: dict[int, ClientClose] = {
    CloseCode.NORMAL_CLOSURE: ClientClose(1000, "server_error", "upstream_closed", "Gemini ended the session"),
    CloseCode.GOING_AWAY: ClientClose(1011, "server_error", "upstream_going_away", "Gemini went away"),
    CloseCode.INVALID_DATA: ClientClose(
        4000, "invalid_request_error", "upstream_invalid_argument", "Gemini rejected the request"
    ),
    CloseCode.POLICY_VIOLATION: ClientClose(
        4000, "invalid_request_error", "upstream_not_found_or_policy", "Gemini refused the session"
    ),
    CloseCode.INTERNAL_ERROR: ClientClose(1011, "server_error", "upstream_error", "Gemini had an internal error"),
    CloseCode.ABNORMAL_CLOSURE: ClientClose(
        1011, "server_error", "upstream_connection_lost", "The connection to Gemini was lost"
    ),
}
UNKNOWN = ClientClose(1011, "server_error", "upstream_error", "The Gemini session ended unexpectedly")
# Quota and concurrency exhaustion arrive as 1011 with this in the reason (§5.1).
RATE_LIMITED = ClientClose(1013, "rate_limit_error", "rate_limit_exceeded", "Gemini quota or concurrency limit")
STALLED = ClientClose(1011, "server_error", "upstream_stalled", "Gemini stopped answering")
# 1008 "The operation was aborted" (§3.4, §5.1): input reached Gemini during a pending function call (mic audio
# the gateway sent before the toolCall reached it), or a proxy's session-age cut. Not a refusal of the request:
# the translator resumes it when a call was in flight (translators/resume.py `aborted_mid_call`).
ABORTED_REASON = "The operation was aborted"
ABORTED_CLOSE = ClientClose(1011, "server_error", ABORTED, "Gemini aborted the session")
DIAL_FAILED = ClientClose(1011, "server_error", "upstream_unavailable", "Could not connect to Gemini")
DIAL_REFUSED = ClientClose(4000, "invalid_request_error", "upstream_refused", "Gemini refused the connection")
# The gateway's own Google credentials are missing or refused (seed 000 uses 4001 for this).
UPSTREAM_AUTH = ClientClose(4001, "server_error", "upstream_auth_failed", "Could not authenticate to Google")
# HTTP answers to the upstream handshake (§5.1: a bad key can fail the upgrade itself); others: DIAL_FAILED.
HANDSHAKE_STATUS: dict[int, ClientClose] = {
    401: UPSTREAM_AUTH,
    403: DIAL_REFUSED,
    404: DIAL_REFUSED,
    429: RATE_LIMITED,
}
# Reasons that mean our credentials, whatever the close code (§5.1: "API key expired" arrives as 1007).
_AUTH_REASONS = re.compile(r"API key (?:not valid|expired)|invalid authentication credentials|UNAUTHENTICATED")


@dataclass(frozen=True)
class Refusal:
    """A refused OpenAI handshake: an `error` event with this code and message, then this close."""

    close_code: int
    error_code: str | None  # OpenAI error.code; None where the real server sends none
    message: str  # may hold {alias}, {known}, {detail}, {call_id} or {spoken}
    error_type: str = "invalid_request_error"  # OpenAI error.type

    def text(self, **values: str) -> str:
        return self.message.format(**values)

    @property
    def reason(self) -> str:
        """The close reason, as the real server words it (`<error.type>.<code>`)."""
        return f"{self.error_type}.{self.error_code}" if self.error_code else self.error_type


_BUDGET = SessionEnd.BUDGET_EXCEEDED.value
_SHUTDOWN = SessionEnd.SHUTDOWN.value


# OpenAI's HTTP API answers a request with no key this way (401, code null); its Realtime WebSocket says
# MISSING_KEY's words below. The HTTP routes (models, calls, client secrets) use this one: it says what to send.
NO_KEY_OVER_HTTP = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer "
    "auth (i.e. Authorization: Bearer YOUR_KEY)."
)


class HandshakeRefusal(enum.Enum):
    """Why `/v1/realtime` refuses a connection before any upstream dial (OPENAI_REALTIME.md §1.1, §1.2, §4.2):
    3000 for credentials, 4000 for the request, 1013 (RFC 6455: try again later) for a concurrency cap or rate,
    1008 for a spent budget (a policy: reconnecting does not help until it resets), 1001 while draining."""

    MISSING_KEY = Refusal(3000, None, "Missing bearer or basic authentication in header.")
    INVALID_KEY = Refusal(3000, "invalid_api_key", "Incorrect API key provided.")
    BLOCKED_KEY = Refusal(3000, "invalid_api_key", "This API key has been blocked.")
    EXPIRED_KEY = Refusal(3000, "invalid_api_key", "This API key has expired.")
    KEYS_UNAVAILABLE = Refusal(
        1013, "key_check_unavailable", "The gateway cannot check API keys right now. Try again shortly.", "server_error"
    )
    MISSING_MODEL = Refusal(
        4000, "missing_model", "Missing required parameter: 'model'. Connect to /v1/realtime?model=<alias>."
    )
    INVALID_MODEL = Refusal(4000, "invalid_model", "Invalid model: '{alias}'. This gateway serves: {known}.")
    MODEL_NOT_ALLOWED = Refusal(
        4000, "model_not_found", "The model `{alias}` does not exist or you do not have access to it."
    )
    # ?intent=transcription (§1.1) with no transcription alias to default to, or on a conversational model.
    NO_TRANSCRIPTION_MODEL = Refusal(
        4000, "missing_model", "No transcription model is configured (model_info.mode: realtime_transcription)."
    )
    NOT_TRANSCRIPTION_MODEL = Refusal(
        4000, "invalid_model", "Invalid model for a transcription session: '{alias}' is not a transcription model."
    )
    OVER_CAPACITY = Refusal(1013, "rate_limit_exceeded", "{detail}")
    BUDGET_SPENT = Refusal(_BUDGET.close_code, _BUDGET.code, _BUDGET.message, _BUDGET.error_type)
    DRAINING = Refusal(_SHUTDOWN.close_code, _SHUTDOWN.code, _SHUTDOWN.message, _SHUTDOWN.error_type)
    # Ephemeral client secrets (OPENAI_REALTIME.md §10): refused like a wrong key; pinned to their alias.
    SECRET_INVALID = Refusal(
        3000, "invalid_api_key", "Incorrect API key provided: the client secret is not valid here."
    )
    SECRET_EXPIRED = Refusal(3000, "invalid_api_key", "The client secret has expired. Ask your server for a new one.")
    SECRET_OTHER_MODEL = Refusal(
        4000, "invalid_model", "This client secret was minted for model '{minted}'; the URL asks for '{alias}'."
    )
    SECRET_SESSION = Refusal(4000, "invalid_value", "{detail}")
    # `?call_id=`: a sideband for a WebRTC call (OPENAI_REALTIME.md §10)
    CALL_NOT_FOUND = Refusal(
        4000, "call_not_found", "Call '{call_id}' not found (it has ended, or never existed on this gateway)."
    )
    CALL_DIALECT = Refusal(4000, "invalid_value", "This call speaks the {spoken} dialect; connect the sideband in it.")
    SIDEBAND_SECRET = Refusal(
        3000, "invalid_api_key", "A client secret cannot attach to a call: connect the sideband with your API key."
    )


# The native passthrough (/v1/vertex-ai/live) speaks Gemini to its client: bare close codes (seed 000).
PASSTHROUGH_CREDENTIALS = 4001  # Vertex AI credentials missing or refused, or no gateway key configured
PASSTHROUGH_NO_PROJECT = 4002  # no project_id in the query, the config or the environment
PASSTHROUGH_BAD_QUERY = 1008  # a project_id or location that cannot be a Google name
PASSTHROUGH_INTERNAL = 1011  # the gateway failed, or could not reach Vertex
# Without a gateway key the passthrough would lend this gateway's Google credentials, for any project the
# client names, to whoever connects (issue #16): it refuses every client instead.
PASSTHROUGH_NEEDS_GATEWAY_KEY = "The Vertex passthrough needs a gateway key: set general_settings.master_key"

_SECRETS = re.compile(
    r"(AIza[0-9A-Za-z_\-]{20,}|ya29\.[0-9A-Za-z_\-.]+|auth_tokens/[0-9A-Za-z_\-]+|"
    r"(?i:api_key|key|access_token|token)=[^&\s]+|Bearer\s+\S+)"  # api_key= whole, not "api_[redacted]"
)


def redact(text: str) -> str:
    """Drop API keys, OAuth tokens and key=… query values from a reason before it reaches anyone."""
    return _SECRETS.sub("[redacted]", text)


def for_upstream_close(code: int | None, reason: str) -> ClientClose:
    if "RESOURCE_EXHAUSTED" in reason or "quota" in reason.lower():
        return RATE_LIMITED
    if _AUTH_REASONS.search(reason):
        return UPSTREAM_AUTH
    if code is None:
        return UPSTREAM_TO_CLIENT[CloseCode.ABNORMAL_CLOSURE]
    if code == CloseCode.POLICY_VIOLATION and reason.startswith(ABORTED_REASON):
        return ABORTED_CLOSE
    return UPSTREAM_TO_CLIENT.get(code, UNKNOWN)


def for_handshake_status(status: int) -> ClientClose:
    return HANDSHAKE_STATUS.get(status, DIAL_FAILED)


def message(close: ClientClose, reason: str) -> str:
    reason = redact(reason).strip()
    return f"{close.summary}: {reason}" if reason else f"{close.summary}."


# Which upstream closes are worth a resumption (GEMINI_LIVE.md §5.1, §9.9): planned ends and faults are;
# refusals of the request (1007, 1008, quota) are not, except a refused resumption handle. A 1008 abort while a
# function call was in flight is resumed too; the translator decides that, as it knows the calls.
_RESUMABLE = frozenset(
    {CloseCode.NORMAL_CLOSURE, CloseCode.GOING_AWAY, CloseCode.ABNORMAL_CLOSURE, CloseCode.INTERNAL_ERROR}
)


def should_retry(code: int | None, reason: str) -> Retry:
    """The one retry policy: a pure function of the close code and reason."""
    if code == CloseCode.POLICY_VIOLATION and "session not found" in reason:
        return Retry.REPLAY
    if "goaway" in reason.lower():  # the planned end after a goAway we could not act on in time
        return Retry.RESUME
    if for_upstream_close(code, reason) is RATE_LIMITED:
        return Retry.NO
    return Retry.RESUME if code is None or code in _RESUMABLE else Retry.NO


def redial_policy(detail: str, ever_ready: bool, close: ClientClose | None = None, resuming: bool = False) -> Retry:
    """A failed redial: a refused handle is replayed without it; before any setupComplete, nothing is.

    A resumption refused as an invalid argument (1007) is a refused handle too: reported for Gemini 3.8
    sessions resumed after their deadline (discuss.ai.google.dev, unconfirmed by Google's docs), and a
    replay costs one connection at worst. A fresh setup refused that way is final.
    """
    if "session not found" in detail:
        return Retry.REPLAY
    invalid = close is UPSTREAM_TO_CLIENT[CloseCode.INVALID_DATA]
    if invalid and resuming:
        return Retry.REPLAY
    return Retry.RESUME if ever_ready and not invalid else Retry.NO
