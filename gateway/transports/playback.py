"""The server-side output audio buffer of a WebRTC call, and the events OpenAI sends about it
(OPENAI_REALTIME.md §2.2, WebRTC/SIP only).

The session's output audio deltas go to the call's track instead of the client. `output_audio_buffer.started`
marks a response's first audio, `output_audio_buffer.stopped` the moment its last sample has played (after
`response.done`), `output_audio_buffer.cleared` a flush: barge-in (`input_audio_buffer.speech_started`, or
speech the call hears over its own playback), a cancelled response, or the client's
`output_audio_buffer.clear`. A flushed response's remaining audio is dropped, and its item keeps only what was
heard: the gateway knows the playback position, so it truncates the item itself (the client sends no
`conversation.item.truncate` on WebRTC).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.transports.media import Cut, OutputTrack, decode_output, wire_format

Event = dict[str, Any]


class Playback:
    """Follows the session's server events (in order) and keeps the track and its events in step."""

    def __init__(
        self, send: Callable[[Event], None], emit: Callable[[str, Event], None], feed: Callable[[Event], None]
    ) -> None:
        self._send = send  # delivers a session event to the client now
        self._emit = emit  # delivers one of the call's own events (type, payload) to the client now
        self._feed = feed  # hands the session an event the call makes itself (a truncate)
        self.track = OutputTrack(self._drained)  # the gateway's audio track
        self.plays_audio = True  # the call has an audio track (else output audio is dropped)
        self.interrupts = True  # turn_detection.interrupt_response: speech flushes the track
        self._format = wire_format(None)  # the session's output format, followed from session events
        self._last: str | None = None  # the response whose audio last went into the track
        self._started: set[str] = set()  # responses whose output_audio_buffer.started went out
        self._open: set[str] = set()  # responses between response.created and response.done
        self._muted: set[str] = set()  # open responses whose audio was flushed: the rest of it is dropped
        self._cuts: dict[str, list[Cut]] = {}  # open responses' cut items, truncated once they are done
        self._items: set[str] = set()  # assistant items in the conversation (not out-of-band replies)

    def see(self, event: Event) -> bool:
        """Handle a session event; False: the channel delivers it as it is."""
        handler = _ON_EVENT.get(event["type"])
        return handler(self, event) if handler is not None else False

    def flush(self) -> list[Cut]:
        """Drop what the user has not heard, at once; say so; truncate what was cut short."""
        cut = self.track.clear()
        for response_id in dict.fromkeys(c.response_id for c in cut):
            self._started.discard(response_id)
            self._emit("output_audio_buffer.cleared", {"response_id": response_id})
        for c in cut:
            if c.response_id in self._open:  # the rest of its audio is not played either
                self._muted.add(c.response_id)
                self._cuts.setdefault(c.response_id, []).append(c)
            else:
                self._truncate(c)
        return cut

    def client_clear(self) -> None:
        """The client's `output_audio_buffer.clear`: answered with cleared even when nothing was left."""
        if not self.flush() and self._last is not None:
            self._emit("output_audio_buffer.cleared", {"response_id": self._last})

    # ---- session events (each returns whether it was delivered here) ----------------------------------
    def _on_session(self, event: Event) -> bool:
        session = event.get("session") or {}
        audio = session.get("audio") or {}
        incoming, outgoing = audio.get("input") or {}, audio.get("output") or {}
        self._format = wire_format(outgoing.get("format", session.get("output_audio_format")))
        detection = incoming.get("turn_detection", session.get("turn_detection"))
        self.interrupts = not isinstance(detection, dict) or detection.get("interrupt_response", True) is not False
        return False

    def _on_output_audio_delta(self, event: Event) -> bool:
        response_id = event["response_id"]
        if not self.plays_audio or response_id in self._muted:
            return True  # no track, or the rest of a reply the user interrupted
        if response_id not in self._started:
            self._started.add(response_id)
            self._emit("output_audio_buffer.started", {"response_id": response_id})
        self._last = response_id
        self.track.push(response_id, event["item_id"], decode_output(event["delta"], self._format), self._format.rate)
        return True

    def _on_response_created(self, event: Event) -> bool:
        self._open.add((event.get("response") or {}).get("id", ""))
        return False

    def _on_response_done(self, event: Event) -> bool:
        response = event.get("response") or {}
        response_id = response.get("id", "")
        self._send(event)
        self._open.discard(response_id)
        self._muted.discard(response_id)
        for cut in self._cuts.pop(response_id, ()):
            self._truncate(cut)
        if response_id in self._started:
            if response.get("status") == "cancelled":
                self.flush()  # its audio, if any is left, is cleared; else it had all played: stopped
            if response.get("status") == "cancelled" or self.track.finish(response_id):
                self._drained(response_id)
        return True

    def _on_speech_started(self, event: Event) -> bool:
        self._send(event)
        if self.interrupts:
            self.flush()
        return True

    def _on_item_added(self, event: Event) -> bool:
        item = event.get("item") or {}
        if item.get("role") == "assistant" and isinstance(item.get("id"), str):
            self._items.add(item["id"])
        return False

    def _on_item_deleted(self, event: Event) -> bool:
        self._items.discard(event.get("item_id", ""))
        return False

    # ---- the track's side ------------------------------------------------------------------------------
    def _drained(self, response_id: str) -> None:
        if response_id in self._started:
            self._started.discard(response_id)
            self._emit("output_audio_buffer.stopped", {"response_id": response_id})

    def _truncate(self, cut: Cut) -> None:
        if cut.item_id in self._items:
            truncate = {"item_id": cut.item_id, "content_index": 0, "audio_end_ms": cut.played_ms}
            self._feed({"type": "conversation.item.truncate", **truncate})


_ON_EVENT: dict[str, Callable[[Playback, Event], bool]] = {
    "session.created": Playback._on_session,
    "session.updated": Playback._on_session,
    "response.output_audio.delta": Playback._on_output_audio_delta,
    "response.audio.delta": Playback._on_output_audio_delta,  # beta name
    "response.created": Playback._on_response_created,
    "response.done": Playback._on_response_done,
    "input_audio_buffer.speech_started": Playback._on_speech_started,
    "conversation.item.added": Playback._on_item_added,
    "conversation.item.created": Playback._on_item_added,  # beta name
    "conversation.item.deleted": Playback._on_item_deleted,
}
