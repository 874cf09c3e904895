"""Builds server events for the session's dialect: GA shapes, renamed and reshaped for beta clients.

The translators write GA events; `Emitter` adds `event_id` and, for beta clients, applies the rename
table of OPENAI_REALTIME.md §2.3. Audio and text deltas take the cheap path: one dict lookup.
"""

from __future__ import annotations

from typing import Any

from schemas.openai import Dialect
from translators.commands import Command, Mark, Milestone, SendClient
from translators.ids import IdFactory

# GA name → beta name; None = the event does not exist in beta (§2.3).
BETA_NAMES: dict[str, str | None] = {
    "response.output_text.delta": "response.text.delta",
    "response.output_text.done": "response.text.done",
    "response.output_audio.delta": "response.audio.delta",
    "response.output_audio.done": "response.audio.done",
    "response.output_audio_transcript.delta": "response.audio_transcript.delta",
    "response.output_audio_transcript.done": "response.audio_transcript.done",
    "conversation.item.added": "conversation.item.created",
    "conversation.item.done": None,
}

# GA assistant content types → beta (§2.1 item shapes).
BETA_CONTENT_TYPES: dict[str, str] = {"output_text": "text", "output_audio": "audio"}

_ITEM_EVENTS = frozenset(
    {
        "conversation.item.created",
        "conversation.item.retrieved",
        "response.output_item.added",
        "response.output_item.done",
    }
)


def beta_item(item: dict[str, Any]) -> dict[str, Any]:
    """A GA item in beta form: `object` set, assistant content types renamed."""
    out = {"id": item["id"], "object": "realtime.item", **item}
    if "content" in item:
        out["content"] = [
            {**part, "type": BETA_CONTENT_TYPES.get(part["type"], part["type"])} for part in item["content"]
        ]
    return out


class Emitter:
    """Turns (type, payload) into `SendClient` commands for one session."""

    def __init__(self, dialect: Dialect, ids: IdFactory) -> None:
        self.dialect = dialect  # the client's dialect, fixed at the handshake
        self._beta = dialect is Dialect.BETA  # read per event (a plain attribute: cheaper than the enum's)
        self._ids = ids  # source of event ids

    def __call__(self, event_type: str, payload: dict[str, Any]) -> list[Command]:
        """Zero or one command: beta clients have no event for some GA events."""
        if self._beta and event_type in BETA_NAMES:
            renamed = BETA_NAMES[event_type]
            if renamed is None:
                return []
            event_type = renamed
        event = {"type": event_type, "event_id": self._ids.event(), **payload}
        if self._beta and event_type in _ITEM_EVENTS:
            event["item"] = beta_item(event["item"])
        return [SendClient(event)]

    def delta(self, event_type: str, ref: dict[str, Any], delta: str) -> list[Command]:
        """A text, transcript or audio delta (dozens a second): the event built as one dict. Every delta has a
        beta name in BETA_NAMES."""
        if self._beta:
            event_type = BETA_NAMES[event_type] or event_type
        return [SendClient({"type": event_type, "event_id": self._ids.event(), **ref, "delta": delta})]

    def error(
        self,
        code: str | None,
        message: str,
        *,
        param: str | None = None,
        event_id: str | None = None,
        error_type: str = "invalid_request_error",
    ) -> list[Command]:
        """An OpenAI `error` event (§4.1): non-fatal unless a close follows it."""
        detail = {"type": error_type, "code": code, "message": message, "param": param, "event_id": event_id}
        return [*self("error", {"error": detail}), Mark(Milestone.ERROR, code or error_type)]
