"""OpenAI transcription sessions, client side: `?intent=transcription`, GA `session.update{type:
"transcription"}`, beta `transcription_session.update` (OPENAI_REALTIME.md §1.1, §2.1, §3.8).

Audio, commits, clears and item lookups behave as in a conversation (the same `ClientTranslator` code does
them); what differs is the session object, the Gemini setup (translators/transcription_config.py), manual
commits ending the user's activity at once (there is no response.create), and every event about responses
or client-made items being refused. The upstream side is translators/transcription_upstream.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from schemas.openai import Dialect
from translators.client import ClientTranslator
from translators.commands import Command, SendClient, SendUpstream
from translators.errors import ClientProtocolError, SessionEnd
from translators.resume import connect, ready_to_switch, reconnect
from translators.state import SessionState, UpstreamPhase
from translators.transcription_config import render_transcription

Handler = Callable[["TranscriptionClient", dict[str, Any]], list[Command]]

_NOT_HERE = "'{kind}' is not available in a transcription session (it transcribes input audio only)."


class TranscriptionClient:
    """One transcription session's client → upstream direction."""

    def __init__(self, state: SessionState) -> None:
        self.state = state  # shared with the upstream side
        self._base = ClientTranslator(state)  # audio, commits, clears and items, exactly as in a conversation

    def start(self) -> list[Command]:
        """`session.created` (GA, type transcription) or `transcription_session.created` (beta), unprompted."""
        return self._session_event("created")

    def feed(self, event: dict[str, Any], shape: Dialect | None = None) -> list[Command]:
        handler = _HANDLERS.get(event["type"])
        if handler is None:
            return self._base.feed(event, shape)
        try:
            return handler(self, event)
        except ClientProtocolError as exc:
            return self.error(exc, event.get("event_id"))

    def error(self, exc: ClientProtocolError, event_id: Any = None) -> list[Command]:
        return self._base.error(exc, event_id)

    def end_session(self, why: SessionEnd, minutes: int = 0) -> list[Command]:
        return self._base.end_session(why, minutes)

    def client_left(self) -> list[Command]:
        return []  # no response to cancel: an utterance's usage comes with its transcript, or not at all

    def awaits_usage(self) -> bool:
        return False

    # ---- the session object ------------------------------------------------------------------------
    def _session_event(self, verb: str) -> list[Command]:
        state = self.state
        kind = f"session.{verb}" if state.dialect is Dialect.GA else f"transcription_session.{verb}"
        session = render_transcription(state.config, state.dialect, state.session_id, state.expires_at)
        return list(state.emit(kind, {"session": session}))

    def _on_session_update(self, event: dict[str, Any]) -> list[Command]:
        session = event["session"]
        if self.state.dialect is Dialect.BETA:
            raise ClientProtocolError(
                "invalid_value",
                "This is a transcription session: configure it with transcription_session.update.",
                param="type",
            )
        if session.get("type") != "transcription":
            raise ClientProtocolError(
                "invalid_value",
                "This is a transcription session (?intent=transcription): session.type must be 'transcription'.",
                param="session.type",
            )
        return self._apply(session, Dialect.GA)

    def _on_transcription_session_update(self, event: dict[str, Any]) -> list[Command]:
        return self._apply(event["session"], Dialect.BETA)

    def _apply(self, session: dict[str, Any], shape: Dialect) -> list[Command]:
        """The update on a copy (a refused one changes nothing); a change after the upstream started takes a
        new upstream at the next quiet moment, the translators' usual reconnect."""
        state = self.state
        before = state.config
        updated = before.apply(session, shape)
        if updated.turn_detection is not None:  # no responses here: VAD always ends turns by itself
            updated = replace(updated, turn_detection={**updated.turn_detection, "create_response": True})
        state.config = updated
        state.input_format_set()
        out = self._session_event("updated")
        if state.phase is not UpstreamPhase.IDLE and updated != before:
            state.reconnect_pending = True
            out += switch_when_quiet(state)
        return out

    # ---- audio -------------------------------------------------------------------------------------
    def _on_input_audio_buffer_commit(self, event: dict[str, Any]) -> list[Command]:
        """Manual turns end at the commit itself: the activity is closed so Gemini finalizes the transcript."""
        state = self.state
        out = self._base.feed(event)
        if state.activity_open and not any(_is_error(command) for command in out):
            state.activity_open = False
            out += self._send({"realtimeInput": {"activityEnd": {}}})
        return out

    def _send(self, message: dict[str, Any]) -> list[Command]:
        """To Gemini now if it is ready, else queued behind the setup (dialled here if need be)."""
        state = self.state
        out = connect(state, []) if state.phase is UpstreamPhase.IDLE else []
        if state.phase is UpstreamPhase.READY:
            return [*out, SendUpstream(message)]
        state.pending_upstream.append(message)
        return out

    def _refused(self, event: dict[str, Any]) -> list[Command]:
        raise ClientProtocolError("invalid_value", _NOT_HERE.format(kind=event["type"]), param="type")


def _is_error(command: Command) -> bool:
    return isinstance(command, SendClient) and command.event.get("type") == "error"


def switch_when_quiet(state: SessionState) -> list[Command]:
    """A setup change waits until no utterance is being heard or transcribed, then takes a new upstream."""
    turn = state.user_turn
    quiet = turn is None or turn.phase.value == "transcribed"
    if state.reconnect_pending and quiet and ready_to_switch(state):
        return reconnect(state)
    return []


_HANDLERS: dict[str, Handler] = {
    "session.update": TranscriptionClient._on_session_update,
    "transcription_session.update": TranscriptionClient._on_transcription_session_update,
    "input_audio_buffer.commit": TranscriptionClient._on_input_audio_buffer_commit,
    "conversation.item.create": TranscriptionClient._refused,
    "conversation.item.truncate": TranscriptionClient._refused,
    "response.create": TranscriptionClient._refused,
    "response.cancel": TranscriptionClient._refused,
}
