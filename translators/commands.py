"""What a translator asks the gateway to do: the only outputs of `feed()`.

The translators never touch a socket; they return these commands and `gateway/session.py` carries them
out in order (the mitmproxy `commands.py` pattern).
"""

from __future__ import annotations

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


Command = SendClient | SendUpstream | ConnectUpstream | PrepareUpstream | RequestWakeup | CloseClient
