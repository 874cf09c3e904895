"""OpenAI client events → Gemini Live messages and immediate OpenAI replies (sans-I/O).

`ClientTranslator.feed(event)` takes one event already checked by `schemas.openai.parse_client_event`
and returns the commands to carry out. Setup is deferred until the first content so that every
`session.update` before it lands in one Gemini `setup` (issue #2).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from schemas.openai import Dialect
from schemas.profiles import UserText
from translators.audio import b64_size
from translators.commands import CloseClient, Command, SendUpstream
from translators.context_update import context_update
from translators.errors import ClientProtocolError, SessionEnd
from translators.history import as_turns, realtime_text, split_history
from translators.items import check_room, message_item, output_item
from translators.media import video_frames
from translators.response import Response
from translators.response_input import input_turn, instruction_note
from translators.response_params import ResponseOptions, response_options
from translators.resume import connect, ready_to_switch, reconnect
from translators.session_config import SessionConfig, build_setup
from translators.state import SessionState, UpstreamPhase
from translators.supersede import as_heard, speech_over_calls, supersede_pending, take_output
from translators.turns import UserPhase, UserTurn

Handler = Callable[["ClientTranslator", dict[str, Any]], list[Command]]

PCM_MIME = "audio/pcm;rate=24000"  # OpenAI pcm16 is always 24 kHz (§5.2); Gemini resamples
MIN_COMMIT_MS = 100  # a shorter commit is input_audio_buffer_commit_empty (§4.2)
MAX_HELD_MS = 60_000  # mic audio held while a function call is pending, at most


class ClientTranslator:
    """One session's client → upstream direction."""

    def __init__(self, state: SessionState) -> None:
        self.state = state  # shared with the UpstreamTranslator
        self._shape = state.dialect  # payload dialect of the event being handled (see feed)

    def start(self) -> list[Command]:
        """What goes out as soon as the socket is accepted: `session.created`, unprompted (§3.1)."""
        return list(self.state.emit("session.created", {"session": self.state.render_session()}))

    def feed(self, event: dict[str, Any], shape: Dialect | None = None) -> list[Command]:
        """Handle one event; `shape` is its payload dialect when a GA client sent a beta payload."""
        self._shape = shape or self.state.dialect
        handler = _HANDLERS.get(event["type"])
        try:
            if handler is None:
                raise ClientProtocolError(
                    "invalid_value",
                    f"Invalid value: '{event['type']}'. This event is not supported.",
                    param="type",
                )
            return handler(self, event)
        except ClientProtocolError as exc:
            return self.error(exc, event.get("event_id"))

    def end_session(self, why: SessionEnd, minutes: int = 0) -> list[Command]:
        """The gateway ends the session (a limit, a slow peer, shutdown): one error, then the close."""
        end = why.value
        out = list(self.state.emit.error(end.code, end.message.format(minutes=minutes), error_type=end.error_type))
        return [*out, CloseClient(end.close_code, f"{end.error_type}.{end.code}"[:123])]

    def error(self, exc: ClientProtocolError, event_id: Any = None) -> list[Command]:
        """The `error` event for a rejected client event; the session goes on (§4.1)."""
        echo = exc.event_id if exc.event_id is not None else event_id
        return list(
            self.state.emit.error(
                exc.code,
                exc.message,
                param=exc.param,
                event_id=echo if isinstance(echo, str) else None,
                error_type=exc.error_type,
            )
        )

    # ---- upstream plumbing ---------------------------------------------------------------------
    def _connect(self, history: list[dict[str, Any]] | None = None) -> list[Command]:
        """Send the merged setup once, at the first content (GEMINI_LIVE.md §3.1)."""
        if self.state.phase is not UpstreamPhase.IDLE:
            return []
        return connect(self.state, history or [])

    def _send(self, message: dict[str, Any]) -> list[Command]:
        """To Gemini now if setupComplete was seen, else queued behind the setup (counted: the gateway caps it)."""
        if self.state.phase is UpstreamPhase.READY:  # the common case first: one enum read per append
            return [SendUpstream(message)]
        out = self._connect()
        self.state.pending_upstream.append(message)
        self.state.pending_bytes += _weight(message)
        return out

    # ---- session -------------------------------------------------------------------------------
    def _on_session_update(self, event: dict[str, Any]) -> list[Command]:
        state = self.state
        before = state.config
        state.config = before.apply(event["session"], self._shape)
        state.input_format_set()
        out = list(state.emit("session.updated", {"session": state.render_session()}))
        if state.phase is UpstreamPhase.IDLE or not _setup_changed(state, before):
            return out
        update = None if state.reconnect_pending else context_update(state, before)
        if update is not None:  # instructions or tools only, on a model that takes them in place (issue #13)
            return out + self._send(update)
        # A setup change mid-session: a new upstream, resumed by handle, at the next turn boundary (issue #4).
        if ready_to_switch(state):
            return out + reconnect(state)
        state.reconnect_pending = True
        return out

    def _on_transcription_session_update(self, event: dict[str, Any]) -> list[Command]:
        raise ClientProtocolError(
            "invalid_value",
            "This is a conversation session: for transcription only, connect with ?intent=transcription.",
            param="type",
        )

    def _on_session_close(self, event: dict[str, Any]) -> list[Command]:
        return [CloseClient(1000, "session.close")]

    # ---- audio (the hot path: pcm16 base64 is forwarded untouched) ----------------------------
    def _on_input_audio_buffer_append(self, event: dict[str, Any]) -> list[Command]:
        state = self.state
        audio = event["audio"]
        if not audio:  # no samples: nothing to forward, and no empty manual activity (Gemini would not reply)
            return []
        ms = b64_size(audio) / state.input_bytes_per_ms
        state.input_ms += ms
        state.buffer_ms += ms
        out: list[Command] = []
        if state.manual_activity() and not state.activity_open:
            state.activity_open = True  # manual turns bracket the user's audio (GEMINI_LIVE.md §9.5)
            out = self._send({"realtimeInput": {"activityStart": {}}})
        decoder = state.input_decoder
        blob = (
            {"mimeType": PCM_MIME, "data": audio}
            if decoder is None
            else {"mimeType": decoder.mime, "data": decoder(audio)}
        )
        message = {"realtimeInput": {"audio": blob}}
        if state.calls_pending:
            return out + self._hold(message, ms)
        return out + self._send(message)

    def _hold(self, message: dict[str, Any], ms: float) -> list[Command]:
        """Audio during a pending call: 2.5 aborts the session (GEMINI_LIVE.md §3.4, field reports), 3.8 cancels
        a BLOCKING call on new input (its migration guide): hold it until the outputs went out. With server VAD,
        speech in it is a new user turn, as OpenAI's VAD hears it: the calls are superseded as for a typed turn
        and the held audio goes on to Gemini, whose VAD answers it (translators/supersede.py)."""
        state = self.state
        if state.held_ms + ms > MAX_HELD_MS:
            raise ClientProtocolError(
                "input_audio_held_too_long",
                f"A function call has been awaiting its output for more than {MAX_HELD_MS // 1000} s of input "
                "audio; audio beyond that is dropped. Send the function_call_output, then response.create.",
                error_type="invalid_request_error",
            )
        state.held_ms += ms
        state.held_audio.append(message)
        vad = not (state.config.manual_turns or state.manual_activity() or state.tool_outputs)
        if vad and speech_over_calls(state, message, ms):
            return self._answer_pending()
        return []

    def _on_input_audio_buffer_commit(self, event: dict[str, Any]) -> list[Command]:
        state = self.state
        if state.buffer_ms < MIN_COMMIT_MS:
            raise ClientProtocolError(
                "input_audio_buffer_commit_empty",
                "Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, "
                f"but buffer only has {state.buffer_ms:.2f}ms of audio.",
            )
        turn = state.user_turn
        if turn is None or turn.phase is not UserPhase.SPEAKING:
            turn = state.user_turn = UserTurn(state, int(state.input_ms - state.buffer_ms))
        state.buffer_ms = 0.0
        out: list[Command] = list(turn.commit(int(state.input_ms), detected=False))
        if not state.manual_activity():
            out += self._send({"realtimeInput": {"audioStreamEnd": True}})  # flush Gemini's VAD now
        return out

    def _on_input_audio_buffer_clear(self, event: dict[str, Any]) -> list[Command]:
        # Audio already streamed stays with Gemini (it cannot be recalled); the buffer count restarts.
        self.state.buffer_ms = 0.0
        return list(self.state.emit("input_audio_buffer.cleared", {}))

    def _on_output_audio_buffer_clear(self, event: dict[str, Any]) -> list[Command]:
        raise ClientProtocolError(
            "invalid_value",
            "output_audio_buffer.clear is only available on WebRTC and SIP connections.",
            param="type",
        )

    # ---- conversation items --------------------------------------------------------------------
    def _on_conversation_item_create(self, event: dict[str, Any]) -> list[Command]:
        state = self.state
        kind = event["item"].get("type")
        blobs: list[dict[str, Any]] = []
        if kind == "function_call_output":
            item = output_item(event["item"], state)
        else:
            item, blobs = message_item(event["item"], state)
        size = sum(len(blob["data"]) for blob in blobs)
        check_room(state, item, size)
        previous = state.conversation.insert(item, event.get("previous_item_id"))
        if blobs:
            state.keep_media(item["id"], blobs, size)
        if kind == "function_call_output":
            take_output(state, item)
        else:
            state.unsent_items.append(item["id"])
        out = list(state.emit("conversation.item.added", {"previous_item_id": previous, "item": dict(item)}))
        out += state.emit("conversation.item.done", {"previous_item_id": previous, "item": dict(item)})
        if state.profile.history_at_start_only:
            return out  # 3.x: dial at the first trigger, once it is known which items are history
        return out + self._connect()  # dial now, so the handshake overlaps the client's next event

    def _on_conversation_item_retrieve(self, event: dict[str, Any]) -> list[Command]:
        item = self._existing_item(event["item_id"], "item_retrieve_invalid_item_id", "retrieving")
        return list(self.state.emit("conversation.item.retrieved", {"item": dict(item)}))

    def _on_conversation_item_delete(self, event: dict[str, Any]) -> list[Command]:
        item_id = event["item_id"]
        self._existing_item(item_id, "item_delete_invalid_item_id", "deleting")
        self.state.conversation.delete(item_id)
        self.state.drop_media(item_id)
        if item_id in self.state.unsent_items:
            self.state.unsent_items.remove(item_id)
        return list(self.state.emit("conversation.item.deleted", {"item_id": item_id}))

    def _on_conversation_item_truncate(self, event: dict[str, Any]) -> list[Command]:
        """Trim an assistant audio item to what was played (§3.5); its transcript is cut in proportion."""
        state, item_id, end_ms = self.state, event["item_id"], event["audio_end_ms"]
        item = self._existing_item(item_id, "item_truncate_invalid_item_id", "truncating")
        content = item.get("content") or []
        if item.get("role") != "assistant" or not content or content[0].get("type") != "output_audio":
            raise ClientProtocolError(
                "invalid_value", "Only assistant messages with audio can be truncated.", param="item_id"
            )
        total = state.item_audio_ms.get(item_id, 0.0)
        if end_ms > total + 1:
            raise ClientProtocolError(
                "invalid_value",
                f"Audio content of {total:.0f}ms is already shorter than {end_ms}ms",
                param="audio_end_ms",
            )
        transcript = content[0].get("transcript") or ""
        keep = round(len(transcript) * end_ms / total) if total else 0
        state.conversation.update({**item, "content": [{**content[0], "transcript": transcript[:keep]}]})
        state.item_audio_ms[item_id] = float(end_ms)
        payload = {"item_id": item_id, "content_index": event.get("content_index", 0), "audio_end_ms": end_ms}
        return list(state.emit("conversation.item.truncated", payload))

    def _existing_item(self, item_id: str, code: str, verb: str) -> dict[str, Any]:
        item = self.state.conversation.get(item_id)
        if item is None:
            raise ClientProtocolError(
                code, f"Error {verb} item: the item with id '{item_id}' does not exist.", param="item_id"
            )
        return item

    # ---- responses -----------------------------------------------------------------------------
    def _on_response_create(self, event: dict[str, Any]) -> list[Command]:
        state = self.state
        if state.response is not None:
            raise ClientProtocolError(
                "conversation_already_has_active_response",
                f"Conversation already has an active response in progress: {state.response.id}. "
                "Wait until the response is finished before creating a new one.",
            )
        options = response_options(event.get("response") or {}, state, self._shape)
        if options.instructions and (state.tool_outputs or state.activity_open):
            raise ClientProtocolError(
                "invalid_value",
                "Per-response instructions can only go with a text turn on Gemini (not after audio or tool output).",
                param="response.instructions",
            )
        trigger = self._trigger(options.instructions) if options.input is None else self._input_trigger(options)
        response = Response(state, options.mode, in_conversation=options.in_conversation, metadata=options.metadata)
        state.response = response
        return response.created() + trigger

    def release_held_audio(self) -> list[Command]:
        """Once Gemini has every output it waits for, the mic audio held meanwhile goes, in order."""
        out: list[Command] = []
        for message in self.state.take_held_audio():
            out += self._send(message)
        return out

    def _trigger(self, instructions: str) -> list[Command]:
        """Send what makes Gemini answer: tool outputs, the end of the user's activity, or new items."""
        state = self.state
        state.turn_trigger, state.turn_items = None, []  # only a text trigger can be asked again if lost
        if state.tool_outputs:
            return self._send(self._tool_response()) + self.release_held_audio()
        items = as_heard([item for item in map(state.conversation.get, state.unsent_items) if item], state)
        note = instruction_note(instructions)
        realtime = not state.activity_open and state.profile.user_text is UserText.REALTIME_TEXT
        history, items = split_history(items) if realtime and state.phase is UpstreamPhase.IDLE else ([], items)
        if realtime and not realtime_text(items):
            raise ClientProtocolError(
                "missing_input",
                "This model only answers new user input: add a user message (conversation.item.create) "
                "or audio before response.create.",
            )
        state.turn_history, state.turn_calls = [], []
        out = self._answer_pending()
        if state.activity_open:
            state.activity_open = False  # manual turns: the end of the user's activity starts the reply
            return out + self._activity_items(items) + self._send({"realtimeInput": {"activityEnd": {}}})
        if realtime:
            return out + self._realtime_text_trigger(history, items, note)
        turns = as_turns(note + items, state.media)
        state.turn_items = [item["id"] for item in items]
        state.turn_history = list(turns)
        state.unsent_items.clear()
        trigger = {"clientContent": {"turns": turns, "turnComplete": True} if turns else {"turnComplete": True}}
        state.turn_trigger = trigger
        return out + self._send(trigger)

    def _activity_items(self, items: list[dict[str, Any]]) -> list[Command]:
        """Items added during the user's activity join it, before its end starts the reply (issue #16 item 12):
        2.x as appended turns (`turnComplete: false` adds without a reply), 3.x as realtime text in the activity."""
        state = self.state
        if not items:
            return []
        state.unsent_items.clear()
        if state.profile.user_text is UserText.CLIENT_CONTENT:
            turns = as_turns(items, state.media)
            return self._send({"clientContent": {"turns": turns, "turnComplete": False}}) if turns else []
        out: list[Command] = []
        for frame in video_frames(items, state.media):
            out += self._send(frame)
        text = realtime_text(items)
        return out + self._send({"realtimeInput": {"text": text}}) if text else out

    def _input_trigger(self, options: ResponseOptions) -> list[Command]:
        """response.input: the given items are the turn (translators/response_input.py)."""
        messages = input_turn(self.state, options.input or [], options.instructions)  # checked before any change
        out = self._answer_pending()
        for message in messages:
            out += self._send(message)
        return out

    def _answer_pending(self) -> list[Command]:
        """A new turn while calls are pending: the calls are answered first (translators/supersede.py)."""
        superseded = supersede_pending(self.state)
        return [*self._send(superseded), *self.release_held_audio()] if superseded is not None else []

    def _realtime_text_trigger(
        self, history: list[dict[str, Any]], items: list[dict[str, Any]], note: list[dict[str, Any]]
    ) -> list[Command]:
        """3.x models: new user text as realtime text; before the first connect, older items are history."""
        state = self.state
        text = realtime_text(note + items)
        frames = video_frames(items, state.media)  # images go as frames just before the words
        state.unsent_items.clear()
        state.turn_items = [item["id"] for item in items]
        state.turn_trigger = {"realtimeInput": {"text": text}}
        out = self._connect(history)
        for frame in frames:
            out += self._send(frame)
        return out + self._send(state.turn_trigger)

    def _tool_response(self) -> dict[str, Any]:
        """Outputs go back to Gemini together; held mic audio follows them (see `_send_trigger`)."""
        state = self.state
        responses, state.tool_outputs = state.tool_outputs, []
        answered = [{"role": "user", "parts": [{"functionResponse": answer}]} for answer in responses]
        state.turn_history += answered
        if state.calls_via_history:  # the calls were made on a lost connection: this one knows them as history
            state.turn_trigger = {"clientContent": {"turns": state.turn_history, "turnComplete": True}}
            return {"clientContent": {"turns": answered, "turnComplete": True}}
        return {"toolResponse": {"functionResponses": responses}}

    def client_left(self) -> list[Command]:
        """The client went away mid-answer: its response ends as cancelled, and, as for response.cancel, its
        record waits for the usage Gemini sends with the turn's end (the session reads Gemini a while for it)."""
        response = self.state.response
        return self._cancel(response) if response is not None else []

    def awaits_usage(self) -> bool:
        """A cancelled response's record waits for Gemini's turn to end, and that turn will end by itself (it
        does not wait for a tool's answer)."""
        state = self.state
        return bool(state.unbilled) and state.drain_turns > 0 and not state.pending_calls

    def _on_response_cancel(self, event: dict[str, Any]) -> list[Command]:
        response = self.state.response
        wanted = event.get("response_id")
        if response is None or (wanted and wanted != response.id):
            raise ClientProtocolError("response_cancel_not_active", "Cancellation failed: no active response found.")
        return self._cancel(response)

    def _cancel(self, response: Response) -> list[Command]:
        state = self.state
        state.response = None
        state.drain_turns += 1  # Gemini's turn goes on; drop the rest of it (GEMINI_LIVE.md §9.3)
        return list(response.finish("cancelled", "client_cancelled", bill_later=True))


def _weight(message: dict[str, Any]) -> int:
    """About the bytes a queued message will take on the wire: audio by its base64, the rest (rare) as JSON."""
    audio = (message.get("realtimeInput") or {}).get("audio")
    if audio is not None:
        return len(audio["data"]) + 64
    return len(json.dumps(message))


def _setup_changed(state: SessionState, before: SessionConfig) -> bool:
    setup = build_setup(state.config, state.profile, state.model_resource)
    return setup != build_setup(before, state.profile, state.model_resource)


_HANDLERS: dict[str, Handler] = {
    "session.update": ClientTranslator._on_session_update,
    "transcription_session.update": ClientTranslator._on_transcription_session_update,
    "session.close": ClientTranslator._on_session_close,
    "input_audio_buffer.append": ClientTranslator._on_input_audio_buffer_append,
    "input_audio_buffer.commit": ClientTranslator._on_input_audio_buffer_commit,
    "input_audio_buffer.clear": ClientTranslator._on_input_audio_buffer_clear,
    "conversation.item.truncate": ClientTranslator._on_conversation_item_truncate,
    "output_audio_buffer.clear": ClientTranslator._on_output_audio_buffer_clear,
    "conversation.item.create": ClientTranslator._on_conversation_item_create,
    "conversation.item.retrieve": ClientTranslator._on_conversation_item_retrieve,
    "conversation.item.delete": ClientTranslator._on_conversation_item_delete,
    "response.create": ClientTranslator._on_response_create,
    "response.cancel": ClientTranslator._on_response_cancel,
}
