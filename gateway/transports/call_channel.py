"""A WebRTC call as the session pump sees it (a `ClientChannel`): events on the `oai-events` data channel and
on any sideband WebSockets, microphone audio as internal appends, output audio on the call's track.

What differs from the WebSocket, as OpenAI's WebRTC does it (OPENAI_REALTIME.md §2.2, §10):
- `response.output_audio.delta` is not sent: its audio goes to the track. `output_audio_buffer.started`
  marks a response's first audio, `output_audio_buffer.stopped` the moment its last sample has played (after
  `response.done`), `output_audio_buffer.cleared` a flush: barge-in (`input_audio_buffer.speech_started`),
  a cancelled response, or the client's `output_audio_buffer.clear`.
- The client sends no `input_audio_buffer.append`: the microphone is the call's audio track.
Data-channel writes never block (SCTP buffers them), so events are delivered in `encode`, in order, and the
track's own events (a drained buffer) can never overtake the session's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import av
import orjson

from gateway.transports.media import MicConverter, OutputTrack, SpeechOnset, decode_output, mono, wire_format
from schemas.limits import Limits
from schemas.openai import Dialect
from translators.commands import SendClient
from translators.emit import Emitter
from translators.ids import IdFactory

log = logging.getLogger("livegate.webrtc")

MIC_HOLD_S = 0.5  # mic audio waits this long for the client's first event (its session.update) before going
MIC_HOLD_FRAMES = 250  # at most 5 s of 20 ms frames are held meanwhile
FLUSH_WAIT_S = 1.0  # at the end, how long the last events get to leave the data channel

Inbound = str | bytes | dict[str, Any] | None  # a client frame, an event the transport made itself, or the end


class DataChannel(Protocol):
    """What the channel uses of aiortc's RTCDataChannel."""

    readyState: str
    bufferedAmount: int

    def send(self, data: str) -> None: ...


class Sideband(Protocol):
    """A server-side WebSocket attached to the call (`/v1/realtime?call_id=…`)."""

    def deliver(self, frame: str) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


class CallChannel:
    """One call's event transport and the session-facing half of its media."""

    def __init__(
        self,
        dialect: Dialect,
        limits: Limits,
        *,
        barge_in_level: float | None,
        on_close: Callable[[], Awaitable[None]],
    ) -> None:
        self._limits = limits  # max_client_backlog_bytes bounds the data channel's unsent bytes
        self._on_close = on_close  # ends the peer connection once the session is over
        self._emit = Emitter(dialect, IdFactory())  # the transport's own events (output_audio_buffer.*)
        self._inbox: asyncio.Queue[Inbound] = asyncio.Queue()  # client frames and mic appends, in arrival order
        self._dc: DataChannel | None = None  # the `oai-events` data channel, once the peer opened it
        self._early: list[str] = []  # frames encoded before the data channel opened
        self._expects_dc = True  # the offer negotiated a data channel (else nothing waits for one)
        self.sidebands: set[Sideband] = set()  # attached server-side WebSockets
        self.track = OutputTrack(self._on_drained)  # the gateway's audio track
        self._mic = MicConverter()  # mic frames → the session's input format
        self._onset = SpeechOnset(barge_in_level) if barge_in_level is not None else None  # speech over playback
        # Mic audio waits for the client's first event: with a preset config too, since clients (the Agents
        # SDK) send their own session.update as the channel opens, and Gemini's setup goes with the first audio.
        self._mic_held: deque[str] | None = deque(maxlen=MIC_HOLD_FRAMES)  # None: released
        self._mic_timer: asyncio.TimerHandle | None = None  # releases held mic audio if the client stays silent
        self._out_format = wire_format(None)  # the session's output format, followed from session events
        self._interrupts = True  # turn_detection.interrupt_response: speech flushes the track
        self._audio_of: str | None = None  # the response whose audio last went into the track
        self._started: set[str] = set()  # responses whose output_audio_buffer.started went out
        self._plays_audio = True  # the call has an audio track for the replies
        self.gone_reason: str | None = None  # why the call ended from the peer's side, once it has

    # ---- the peer's side ---------------------------------------------------------------------------
    def attach_data_channel(self, dc: Any) -> None:
        """The peer's `oai-events` channel (aiortc RTCDataChannel): frames in, frames out once it is open."""
        self._dc = dc
        dc.on("message", self._on_dc_message)
        dc.on("open", self._on_dc_open)
        dc.on("close", lambda: self.gone("the peer closed the oai-events data channel"))
        if dc.readyState == "open":
            self._on_dc_open()

    def no_audio_track(self) -> None:
        """The offer has no audio: output audio has nowhere to play, so it is dropped (events still go out)."""
        self._plays_audio = False

    def no_data_channel(self) -> None:
        """The offer has no data channel: events go to sidebands only, and nothing waits for the client."""
        self._expects_dc = False
        self._early.clear()
        self._release_mic()

    def _on_dc_open(self) -> None:
        early, self._early = self._early, []
        for frame in early:
            self._send_dc(frame)

    def _on_dc_message(self, message: str | bytes) -> None:
        self.client_frame(message)  # a binary message gets the session's "binary frames" error

    def client_frame(self, text: str | bytes) -> None:
        """A text frame from the data channel or a sideband; the first one lets held mic audio go after it."""
        self._inbox.put_nowait(text)
        self._release_mic()

    def feed_mic(self, frame: av.AudioFrame) -> None:
        """One decoded 20 ms mic frame, as an append in the session's input format."""
        samples = mono(frame)
        if self._onset is not None and self._interrupts and self.track.buffered:
            if self._onset(samples, frame.sample_rate):
                self._flush()  # barge-in over audio Gemini finished generating: it will not say so itself
                self._onset.reset()
        elif self._onset is not None:
            self._onset.reset()
        audio = self._mic(samples, frame.sample_rate)
        if not audio:
            return  # soxr emits in bursts: this frame's samples come out with the next one
        if self._mic_held is not None:
            self._mic_held.append(audio)
            if self._mic_timer is None:
                self._mic_timer = asyncio.get_running_loop().call_later(MIC_HOLD_S, self._release_mic)
            return
        self._inbox.put_nowait({"type": "input_audio_buffer.append", "audio": audio})

    def _release_mic(self) -> None:
        held, self._mic_held = self._mic_held, None
        if self._mic_timer is not None:
            self._mic_timer.cancel()
        for audio in held or ():
            self._inbox.put_nowait({"type": "input_audio_buffer.append", "audio": audio})

    def gone(self, reason: str) -> None:
        """The call is over from the outside (hangup, peer lost, timeout): the session stops reading."""
        if self.gone_reason is None:
            self.gone_reason = reason
            self._inbox.put_nowait(None)

    # ---- ClientChannel -----------------------------------------------------------------------------
    def encode(self, event: dict[str, Any]) -> str | None:
        """Deliver the event now (data-channel writes never block); the pump has nothing left to write."""
        handler = _ON_EVENT.get(event["type"])
        if handler is None or handler(self, event):
            self._deliver(orjson.dumps(event).decode())
        return None

    async def receive(self) -> str | bytes | dict[str, Any] | None:
        while True:
            item = await self._inbox.get()
            if item is None:
                self._inbox.put_nowait(None)  # the end stays the end for any later reader
                return None
            if not isinstance(item, str) or not self._handled_here(item):
                return item

    async def send(self, frame: str) -> None:
        self._deliver(frame)

    async def close(self, code: int, reason: str) -> None:
        """Let the last events leave, close the sidebands with the session's code, then end the peer."""
        dc = self._dc
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FLUSH_WAIT_S
        while dc is not None and dc.readyState == "open" and dc.bufferedAmount and loop.time() < deadline:
            await asyncio.sleep(0.02)
        for sideband in list(self.sidebands):
            with contextlib.suppress(Exception):
                await sideband.close(code, reason)
        self.sidebands.clear()
        if self._mic_timer is not None:
            self._mic_timer.cancel()
        await self._on_close()

    # ---- delivery ------------------------------------------------------------------------------------
    def _deliver(self, frame: str) -> None:
        if self._dc is not None and self._dc.readyState == "open":
            self._send_dc(frame)
        elif self._expects_dc and self.gone_reason is None:
            self._early.append(frame)
            if sum(map(len, self._early)) > self._limits.max_client_backlog_bytes:
                self._early.clear()
                self.gone("the peer never opened its oai-events data channel")
        for sideband in list(self.sidebands):
            sideband.deliver(frame)

    def _send_dc(self, frame: str) -> None:
        dc = self._dc
        assert dc is not None
        try:
            dc.send(frame)
        except Exception:  # closed under us: the close handler ends the call
            return
        if dc.bufferedAmount > self._limits.max_client_backlog_bytes:
            log.warning("call: data channel backlog over %d bytes", self._limits.max_client_backlog_bytes)
            self.gone("the peer reads its data channel too slowly")

    def _own_event(self, event_type: str, payload: dict[str, Any]) -> None:
        for command in self._emit(event_type, payload):
            if isinstance(command, SendClient):
                self._deliver(orjson.dumps(command.event).decode())

    # ---- server events the call treats differently (each returns whether the event goes out) --------
    def _on_session(self, event: dict[str, Any]) -> bool:
        """Follow the session's audio formats and barge-in setting (GA `audio.*`, beta flat fields)."""
        session = event.get("session") or {}
        audio = session.get("audio") or {}
        incoming, outgoing = audio.get("input") or {}, audio.get("output") or {}
        self._mic.set_format(wire_format(incoming.get("format", session.get("input_audio_format"))))
        self._out_format = wire_format(outgoing.get("format", session.get("output_audio_format")))
        detection = incoming.get("turn_detection", session.get("turn_detection"))
        self._interrupts = not isinstance(detection, dict) or detection.get("interrupt_response", True) is not False
        return True

    def _on_output_audio_delta(self, event: dict[str, Any]) -> bool:
        response_id = event["response_id"]
        if not self._plays_audio:
            return False
        if response_id not in self._started:
            self._started.add(response_id)
            self._own_event("output_audio_buffer.started", {"response_id": response_id})
        self._audio_of = response_id
        self.track.push(response_id, decode_output(event["delta"], self._out_format), self._out_format.rate)
        return False

    def _on_response_done(self, event: dict[str, Any]) -> bool:
        response = event.get("response") or {}
        response_id = response.get("id", "")
        self._deliver(orjson.dumps(event).decode())
        if response_id not in self._started:
            return False
        if response.get("status") == "cancelled":
            self._flush()  # its audio, if any is left, is cleared; else it had all played: stopped
        if response.get("status") == "cancelled" or self.track.finish(response_id):
            self._on_drained(response_id)
        return False

    def _on_speech_started(self, event: dict[str, Any]) -> bool:
        self._deliver(orjson.dumps(event).decode())
        if self._interrupts:
            self._flush()
        return False

    def _flush(self) -> list[str]:
        """Barge-in or cancel: what the user has not heard is dropped at once; the responses cut."""
        cut = self.track.clear()
        for response_id in cut:
            self._started.discard(response_id)
            self._own_event("output_audio_buffer.cleared", {"response_id": response_id})
        return cut

    def _on_drained(self, response_id: str) -> None:
        if response_id in self._started:
            self._started.discard(response_id)
            self._own_event("output_audio_buffer.stopped", {"response_id": response_id})

    # ---- client events the call answers itself -------------------------------------------------------
    def _handled_here(self, text: str) -> bool:
        """`output_audio_buffer.clear` is the track's; an append has no place on a call (its mic is the track)."""
        if "output_audio_buffer.clear" not in text and "input_audio_buffer.append" not in text:
            return False  # the common case costs a substring scan, not a parse
        try:
            event = orjson.loads(text)
        except orjson.JSONDecodeError:
            return False
        kind = event.get("type") if isinstance(event, dict) else None
        event_id = event.get("event_id") if isinstance(event, dict) else None
        if kind == "output_audio_buffer.clear":
            if not self._flush() and self._audio_of is not None:  # nothing left to cut: say so all the same
                self._own_event("output_audio_buffer.cleared", {"response_id": self._audio_of})
            return True
        if kind == "input_audio_buffer.append":
            message = (
                "input_audio_buffer.append is not used on WebRTC calls: the microphone audio travels on the "
                "call's audio track."
            )
            for command in self._emit.error(
                "invalid_value", message, param="type", event_id=event_id if isinstance(event_id, str) else None
            ):
                if isinstance(command, SendClient):
                    self._deliver(orjson.dumps(command.event).decode())
            return True
        return False


_ON_EVENT: dict[str, Callable[[CallChannel, dict[str, Any]], bool]] = {
    "session.created": CallChannel._on_session,
    "session.updated": CallChannel._on_session,
    "response.output_audio.delta": CallChannel._on_output_audio_delta,
    "response.audio.delta": CallChannel._on_output_audio_delta,  # beta name
    "response.done": CallChannel._on_response_done,
    "input_audio_buffer.speech_started": CallChannel._on_speech_started,
}
