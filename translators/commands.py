"""What a translator asks the gateway to do: the only outputs of `feed()`.

The translators never touch a socket; they return these commands and `gateway/session.py` carries them
out in order (the mitmproxy `commands.py` pattern).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SendClient:
    """Send one OpenAI server event (a dict with `type` and `event_id`) to the client."""

    event: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SendUpstream:
    """Send one Gemini Live client message (`setup` excluded) to the upstream socket."""

    message: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ConnectUpstream:
    """Dial the upstream and send `setup` as its first frame; later `SendUpstream`s follow it.

    A connect while an upstream is open replaces it (reconfiguration, resumption); `delay_s` is the most
    the gateway waits first (retry backoff): it draws the actual wait below it (full jitter), since
    translators own no clock and no randomness.
    """

    setup: dict[str, Any]
    delay_s: float = 0.0


@dataclass(frozen=True, slots=True)
class PrepareUpstream:
    """Open a spare upstream socket now (handshake only); the next `ConnectUpstream` sends its setup on
    it, so a planned switch (goAway) does not wait for a TCP/TLS/WebSocket handshake."""


@dataclass(frozen=True, slots=True)
class RequestWakeup:
    """Call the upstream translator's `wakeup(token)` after `delay_s` seconds: translators own no clock
    (mitmproxy's `RequestWakeup`). A token the translator no longer expects is ignored there."""

    delay_s: float
    token: int


@dataclass(frozen=True, slots=True)
class CloseClient:
    """Close the client socket with this code and reason (after any events before it were sent)."""

    code: int
    reason: str


class UsageKind(enum.Enum):
    """What a usage record is for: spend rows tell them apart (their `call_type`)."""

    RESPONSE = "response"  # one OpenAI response (a model turn)
    TRANSCRIPTION = "transcription"  # one utterance of a transcription session (no response exists there)


@dataclass(frozen=True, slots=True)
class RecordUsage:
    """One finished response's (or transcribed utterance's) usage, for spend and metrics; nothing is sent.

    `usage` is exactly what the client saw in `response.done` (GA shape), except for a response cancelled
    while Gemini's turn went on: its record waits for that turn's usage, which the client never sees.
    `metadata` is Gemini's own `usageMetadata` (GEMINI_LIVE.md §7), which the gateway prices by modality.
    """

    response_id: str
    status: str  # completed, cancelled, incomplete, failed
    usage: dict[str, Any]
    metadata: dict[str, Any]
    user_text: str  # what the user said or typed for this response (transcripts are stored only if opted in)
    assistant_text: str  # the response's text or audio transcript
    kind: UsageKind = UsageKind.RESPONSE  # an utterance's record names its item id as `response_id`


class Milestone(enum.Enum):
    """Moments the gateway timestamps or counts for its metrics (translators own no clock)."""

    RESPONSE_CREATED = "response_created"  # detail: the response id
    FIRST_AUDIO = "first_audio"  # the response's first audio delta; detail: the response id
    FIRST_TEXT = "first_text"  # its first text or transcript delta; detail: the response id
    ERROR = "error"  # an `error` event went to the client; detail: its code


@dataclass(frozen=True, slots=True)
class Mark:
    """A milestone for the gateway's metrics; no effect on either socket."""

    what: Milestone
    detail: str


Command = (
    SendClient | SendUpstream | ConnectUpstream | PrepareUpstream | RequestWakeup | CloseClient | RecordUsage | Mark
)
