"""One OpenAI response: the exact event sequence of OPENAI_REALTIME.md §3.2–§3.5, fed piece by piece.

The upstream translator calls `text`, `audio`, `transcript` as Gemini content arrives and `finish` at
the turn's end; this class owns output indices, item and part lifecycles, and the response object.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from schemas.openai import Dialect
from translators.audio import OutputEncoder, b64_size, bytes_per_ms, law_of
from translators.commands import Command, Mark, Milestone, RecordUsage
from translators.context import SessionContext
from translators.emit import beta_item
from translators.session_config import GA_TO_BETA_FORMAT
from translators.usage import beta_usage, empty_usage, map_usage


class Mode(enum.Enum):
    """What the client asked this response to produce (§5.1 output_modalities)."""

    TEXT = "text"  # output_text parts; upstream audio is withheld, its transcript becomes the text
    AUDIO = "audio"  # output_audio parts with a transcript


# Per mode: content part type (both dialects, §2.3), GA item content type, text field, done events.
_PART_TYPE = {Mode.TEXT: "text", Mode.AUDIO: "audio"}
_CONTENT_TYPE = {Mode.TEXT: "output_text", Mode.AUDIO: "output_audio"}
_TEXT_FIELD = {Mode.TEXT: "text", Mode.AUDIO: "transcript"}
_TEXT_DELTA = {Mode.TEXT: "response.output_text.delta", Mode.AUDIO: "response.output_audio_transcript.delta"}


class Response:
    """An in-flight response and the events that open, fill and close it."""

    def __init__(
        self,
        state: SessionContext,
        mode: Mode,
        *,
        in_conversation: bool = True,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._state = state  # the session this response belongs to
        self.id = state.ids.new("resp")  # resp_… id
        self.mode = mode  # text or audio output
        # Per-chunk checks read these plain attributes: on 3.11 `Mode.TEXT` costs ~0.1 us through EnumType's
        # __getattr__, and an enum dict key hashes in Python.
        self._drops_audio = mode is Mode.TEXT  # TEXT mode withholds upstream audio
        self._text_delta = _TEXT_DELTA[mode]  # the event type of this response's text or transcript deltas
        self.in_conversation = in_conversation  # False for `conversation: "none"` (out of band)
        self.metadata = metadata  # client metadata echoed on the response object
        self.output: list[dict[str, Any]] = []  # finished output items (GA shape)
        self._item: dict[str, Any] | None = None  # the message item being streamed, GA shape
        self._ref: dict[str, Any] = {}  # the open item's part as events name it (ids, indices), made once per item
        self._fragments: list[str] = []  # text or transcript of the open item so far
        self.audio_ms = 0.0  # audio sent in the open item, in ms (what conversation.item.truncate checks)
        self._encoder: OutputEncoder | None = None  # G.711 re-encoder of the open item, if the client wants it
        self._bytes_per_ms = 48.0  # of the open item's audio as the client gets it (pcm16 24 kHz until it opens)
        self._delta_seen = False  # a first audio/text delta was marked (time to first delta, gateway metrics)

    @property
    def started(self) -> bool:
        """Something of this response reached the client beyond response.created."""
        return bool(self.output) or self._item is not None

    # ---- events -------------------------------------------------------------------------------
    def created(self) -> list[Command]:
        created = self._state.emit("response.created", {"response": self._render("in_progress", None, None)})
        return [*created, Mark(Milestone.RESPONSE_CREATED, self.id)]

    def text(self, delta: str) -> list[Command]:
        """Model text (TEXT upstream) or an output transcript fragment: both are this item's words."""
        out = self._open_item(Milestone.FIRST_TEXT) if self._item is None else []
        self._fragments.append(delta)
        return out + self._state.emit.delta(self._text_delta, self._ref, delta)

    def audio(self, b64: str) -> list[Command]:
        """One audio chunk, forwarded as base64 untouched for pcm16 (hot path). TEXT mode drops it."""
        if self._drops_audio:
            return []
        out = self._open_item(Milestone.FIRST_AUDIO) if self._item is None else []
        if self._encoder is not None:
            b64 = self._encoder(b64)
            if not b64:
                return out
        return out + self._audio_delta(b64)

    def _audio_delta(self, b64: str) -> list[Command]:
        self.audio_ms += b64_size(b64) / self._bytes_per_ms
        return self._state.emit.delta("response.output_audio.delta", self._ref, b64)

    def function_call(self, call_id: str, name: str, arguments: str) -> list[Command]:
        """A complete function call item after any open message item (§3.6): status completed exactly once."""
        state = self._state
        out = self._close_item("completed")
        index = len(self.output)
        item = {"id": state.ids.new("item"), "type": "function_call", "status": "in_progress"}
        item |= {"name": name, "call_id": call_id, "arguments": ""}
        out += state.emit(
            "response.output_item.added", {"response_id": self.id, "output_index": index, "item": dict(item)}
        )
        previous = state.conversation.insert(dict(item)) if self.in_conversation else None
        if self.in_conversation:
            out += state.emit("conversation.item.added", {"previous_item_id": previous, "item": dict(item)})
        ref = {"response_id": self.id, "item_id": item["id"], "output_index": index, "call_id": call_id}
        out += state.emit("response.function_call_arguments.delta", {**ref, "delta": arguments})
        out += state.emit("response.function_call_arguments.done", {**ref, "name": name, "arguments": arguments})
        done = {**item, "status": "completed", "arguments": arguments}
        if self.in_conversation:
            state.conversation.update(done)
            out += state.emit("conversation.item.done", {"previous_item_id": previous, "item": dict(done)})
        out += state.emit(
            "response.output_item.done", {"response_id": self.id, "output_index": index, "item": dict(done)}
        )
        self.output.append(done)
        return out

    def finish(
        self,
        status: str = "completed",
        reason: str | None = None,
        metadata: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        *,
        bill_later: bool = False,
    ) -> list[Command]:
        """Close the open item and send `response.done` (§3.2 steps 8–12, §3.5 for cancellations), with the
        usage of Gemini's `usageMetadata`, then its `RecordUsage`. `bill_later`: Gemini's turn goes on (a
        cancellation), so the record waits in `state.unbilled` for that turn's usage (`bill_drained_turn`)."""
        out = self._close_item("completed" if status == "completed" else "incomplete")
        details: dict[str, Any] | None = None
        if status == "failed":
            details = {"type": "failed", "error": error}
        elif status != "completed":
            details = {"type": status, "reason": reason}
        usage = map_usage(metadata) if metadata is not None else empty_usage()
        out += self._state.emit("response.done", {"response": self._render(status, details, usage)})
        record = self._record(status, usage, metadata or {})
        if bill_later:
            self._state.unbilled.append(record)
            return out
        return [*out, record]

    def _record(self, status: str, usage: dict[str, Any], metadata: dict[str, Any]) -> RecordUsage:
        own = {item["id"] for item in self.output}
        user = self._state.conversation.user_text_before(own) if self.in_conversation else ""
        words = [part.get("text") or part.get("transcript") or "" for i in self.output for part in i.get("content", ())]
        return RecordUsage(self.id, status, usage, metadata, user, "".join(words))

    # ---- item lifecycle -----------------------------------------------------------------------
    def _open_item(self, first: Milestone) -> list[Command]:
        if self._item is not None:
            return []
        state = self._state
        marks: list[Command] = []
        if not self._delta_seen:
            self._delta_seen = True
            marks.append(Mark(first, self.id))
        self._item = {
            "id": state.ids.new("item"),
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        self._fragments = []
        self._ref = {
            "response_id": self.id,
            "item_id": self._item["id"],
            "output_index": len(self.output),
            "content_index": 0,
        }
        self.audio_ms = 0.0
        law = law_of(state.config.output_format)
        self._encoder = OutputEncoder(law) if law is not None and self.mode is Mode.AUDIO else None
        self._bytes_per_ms = bytes_per_ms(state.config.output_format)  # of what the client gets, once per item
        out = state.emit(
            "response.output_item.added",
            {"response_id": self.id, "output_index": len(self.output), "item": dict(self._item)},
        )
        if self.in_conversation:
            previous = state.conversation.insert(dict(self._item))
            out += state.emit("conversation.item.added", {"previous_item_id": previous, "item": dict(self._item)})
        part = {"type": _PART_TYPE[self.mode], _TEXT_FIELD[self.mode]: ""}
        return marks + out + state.emit("response.content_part.added", {**self._ref, "part": part})

    def _close_item(self, status: str) -> list[Command]:
        if self._item is None:
            return []
        state, mode, text = self._state, self.mode, "".join(self._fragments)
        ref, field = self._ref, _TEXT_FIELD[mode]
        if mode is Mode.TEXT:
            out = state.emit("response.output_text.done", {**ref, "text": text})
        else:
            tail = self._encoder.flush() if self._encoder is not None else ""
            out = self._audio_delta(tail) if tail else []
            out += state.emit("response.output_audio.done", ref)
            state.item_audio_ms[self._item["id"]] = self.audio_ms
            out += state.emit("response.output_audio_transcript.done", {**ref, "transcript": text})
        out += state.emit("response.content_part.done", {**ref, "part": {"type": _PART_TYPE[mode], field: text}})
        item = {**self._item, "status": status, "content": [{"type": _CONTENT_TYPE[mode], field: text}]}
        if self.in_conversation:
            state.conversation.update(item)
            previous = state.conversation.previous_id(item["id"])
            out += state.emit("conversation.item.done", {"previous_item_id": previous, "item": dict(item)})
        out += state.emit(
            "response.output_item.done",
            {"response_id": self.id, "output_index": len(self.output), "item": dict(item)},
        )
        self.output.append(item)
        self._item = None
        return out

    # ---- the response object ------------------------------------------------------------------
    def _render(self, status: str, details: Any, usage: Any) -> dict[str, Any]:
        state, cfg = self._state, self._state.config
        body: dict[str, Any] = {
            "object": "realtime.response",
            "id": self.id,
            "status": status,
            "status_details": details,
            "output": [dict(item) for item in self.output],
            "conversation_id": state.conversation_id if self.in_conversation else None,
        }
        if state.dialect is Dialect.GA:
            body["output_modalities"] = [self.mode.value]
            body["max_output_tokens"] = cfg.max_output_tokens
            body["audio"] = {"output": {"format": cfg.output_format, "voice": cfg.voice}}
        else:
            body["output"] = [beta_item(item) for item in self.output]
            body["modalities"] = ["audio", "text"] if self.mode is Mode.AUDIO else ["text"]
            body["voice"] = cfg.voice
            body["output_audio_format"] = GA_TO_BETA_FORMAT[cfg.output_format["type"]]
            body["temperature"] = 0.8 if cfg.temperature is None else cfg.temperature
            body["max_output_tokens"] = cfg.max_output_tokens
            usage = beta_usage(usage) if usage is not None else None
        body["usage"] = usage
        body["metadata"] = self.metadata
        return body


def bill_drained_turn(state: SessionContext, metadata: dict[str, Any] | None) -> list[Command]:
    """The turnComplete of a turn whose response was cancelled: its record goes out with the turn's usage. A
    drained turn no response waits for (the continuation of a superseded call) is billed on its own."""
    if not state.unbilled:
        return [unclaimed_usage(state, metadata)] if metadata is not None else []
    record = state.unbilled.pop(0)
    if metadata is None:
        return [record]
    return [dataclasses.replace(record, usage=map_usage(metadata), metadata=metadata)]


def bill_all_unbilled(state: SessionContext) -> list[Command]:
    """The upstream is gone: cancelled responses still waiting for usage are recorded as they are."""
    records, state.unbilled = state.unbilled, []
    return list(records)


def unclaimed_usage(state: SessionContext, metadata: dict[str, Any], status: str = "cancelled") -> RecordUsage:
    """Usage of a Gemini turn no response shows (dropped, cut by a loss, or left when the session ended): billed
    under an id of its own, so it is neither lost nor added to another response's record."""
    return RecordUsage(state.ids.new("resp"), status, map_usage(metadata), metadata, "", "")
