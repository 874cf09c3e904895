"""The user's spoken turn: speech and commit events, the user audio item, and its transcript.

OPENAI_REALTIME.md §3.4 (speech_started → speech_stopped → committed → item added/done, transcription
deltas and one completed) and §5.3. Gemini reports none of this directly (GEMINI_LIVE.md §9.2); the
upstream translator decides when a turn starts and ends, this class only emits what follows.
"""

from __future__ import annotations

import enum
from typing import Any

from translators.commands import Command
from translators.context import SessionContext, SessionKind


class UserPhase(enum.Enum):
    SPEAKING = "speaking"  # speech_started sent, the item does not exist yet
    COMMITTED = "committed"  # the item exists; only its transcript may still change
    TRANSCRIBED = "transcribed"  # transcription.completed sent: nothing more to say


class UserTurn:
    """One user audio item, from speech start to its final transcript."""

    def __init__(self, state: SessionContext, start_ms: int) -> None:
        self._state = state  # the session it belongs to
        self.id = state.ids.new("item")  # the item id speech_started already announces (§7)
        self.start_ms = start_ms  # audio_start_ms: input audio position when speech began
        self.end_ms = start_ms  # audio_end_ms once committed
        self.phase = UserPhase.SPEAKING
        self._fragments: list[str] = []  # input transcription so far

    def speech_started(self) -> list[Command]:
        payload = {"audio_start_ms": self.start_ms, "item_id": self.id}
        return self._state.emit("input_audio_buffer.speech_started", payload)

    def commit(self, end_ms: int, *, detected: bool) -> list[Command]:
        """The buffer becomes an item; `detected` adds speech_stopped (server VAD, not a manual commit)."""
        if self.phase is not UserPhase.SPEAKING:
            return []
        state = self._state
        self.phase, self.end_ms = UserPhase.COMMITTED, max(end_ms, self.start_ms)
        out: list[Command] = []
        if detected:
            out += state.emit("input_audio_buffer.speech_stopped", {"audio_end_ms": self.end_ms, "item_id": self.id})
        item = self._item()
        previous = state.conversation.insert(item)
        out += state.emit("input_audio_buffer.committed", {"previous_item_id": previous, "item_id": self.id})
        out += state.emit("conversation.item.added", {"previous_item_id": previous, "item": dict(item)})
        out += state.emit("conversation.item.done", {"previous_item_id": previous, "item": dict(item)})
        if self._fragments:  # heard while speaking; deltas name the item, so they follow its creation
            out += self._delta("".join(self._fragments))
        return out

    def transcript(self, text: str) -> list[Command]:
        if self.phase is UserPhase.TRANSCRIBED or not text:
            return []
        self._fragments.append(text)
        return self._delta(text) if self.phase is UserPhase.COMMITTED else []

    def _delta(self, text: str) -> list[Command]:
        if not self._wanted():
            return []
        payload = {"item_id": self.id, "content_index": 0, "delta": text}
        return self._state.emit("conversation.item.input_audio_transcription.delta", payload)

    def transcribed(self, usage: dict[str, Any] | None = None) -> list[Command]:
        """The transcript is final: store it on the item and send `completed` once (with usage, §8.1): token
        usage when Gemini reported it, else the duration of the audio."""
        if self.phase is not UserPhase.COMMITTED:
            return []
        self.phase = UserPhase.TRANSCRIBED
        text = "".join(self._fragments)
        state = self._state
        if self.id in state.conversation:
            state.conversation.update(self._item(text))
        if not self._wanted():
            return []
        seconds = round(max(self.end_ms - self.start_ms, 0) / 1000, 3)
        payload = {
            "item_id": self.id,
            "content_index": 0,
            "transcript": text,
            "usage": usage or {"type": "duration", "seconds": seconds},
        }
        return state.emit("conversation.item.input_audio_transcription.completed", payload)

    def _wanted(self) -> bool:
        """Transcription events: asked for in a conversation, the whole point of a transcription session."""
        state = self._state
        return state.config.transcription is not None or state.kind is SessionKind.TRANSCRIPTION

    def _item(self, transcript: str | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": transcript}],
        }
