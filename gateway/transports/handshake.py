"""Reading an OpenAI WebSocket handshake: the presented key, the dialect, the sub-protocol to answer.

OPENAI_REALTIME.md §1.2–§1.4: keys arrive as `Authorization: Bearer`, `api-key`, or the sub-protocol
`openai-insecure-api-key.<key>`; the beta dialect is marked by a header or a sub-protocol.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from schemas.openai import Dialect

INSECURE_KEY_PREFIX = "openai-insecure-api-key."
BETA_SUBPROTOCOL = "openai-beta.realtime-v1"
REALTIME_SUBPROTOCOL = "realtime"


def presented_key(headers: Mapping[str, str], subprotocols: Sequence[str]) -> str | None:
    """The key the client presented, wherever it put it."""
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if headers.get("api-key"):
        return headers["api-key"].strip()
    for protocol in subprotocols:
        if protocol.startswith(INSECURE_KEY_PREFIX):
            return protocol[len(INSECURE_KEY_PREFIX) :]
    return None


def dialect_of(headers: Mapping[str, str], subprotocols: Sequence[str]) -> Dialect:
    """Beta if marked by `OpenAI-Beta: realtime=v1` or the beta sub-protocol, else GA (§1.4)."""
    betas = [part.strip().lower() for part in headers.get("openai-beta", "").split(",")]
    if "realtime=v1" in betas or BETA_SUBPROTOCOL in subprotocols:
        return Dialect.BETA
    return Dialect.GA


def chosen_subprotocol(subprotocols: Sequence[str]) -> str | None:
    """Answer `realtime` when offered (clients abort otherwise, §1.3); never echo the key entry."""
    if REALTIME_SUBPROTOCOL in subprotocols:
        return REALTIME_SUBPROTOCOL
    safe = [p for p in subprotocols if not p.startswith(INSECURE_KEY_PREFIX)]
    return safe[0] if safe else None
