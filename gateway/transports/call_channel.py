"""A WebRTC call as the session pump sees it (a `ClientChannel`): events on the `oai-events` data channel and
on any sideband WebSockets, microphone audio as internal appends, output audio through `Playback` to the
call's track (OPENAI_REALTIME.md §10).

The client sends no `input_audio_buffer.append` (the microphone is the call's audio track: an `error` says
so) and may send `output_audio_buffer.clear`, which the call answers itself. Data-channel writes never block
(SCTP buffers them), so events are delivered in `encode`, in order, and the call's own events (a drained
buffer) can never overtake the session's.
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

from gateway.transports.channel import Frame
from gateway.transports.media import MicConverter, SpeechOnset, mono, wire_format
from gateway.transports.playback import Playback
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
        self.playback = Playback(self._send_event, self._own_event, self._inbox.put_nowait)  # output audio
        self._mic = MicConverter()  # mic frames → the session's input format
        self._onset = SpeechOnset(barge_in_level) if barge_in_level is not None else None  # speech over playback
        # Mic audio waits for the client's first event: with a preset config too, since clients (the Agents
        # SDK) send their own session.update as the channel opens, and Gemini's setup goes with the first audio.
        self._mic_held: deque[str] | None = deque(maxlen=MIC_HOLD_FRAMES)  # None: released
        self._mic_timer: asyncio.TimerHandle | None = None  # releases held mic audio if the client stays silent
        self.gone_reason: str | None = None  # why the call ended from the peer's side, once it has
        self._abort: asyncio.Future[None] | None = None  # the peer connection's close, when the session aborted

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
        self.playback.plays_audio = False

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
        playback = self.playback
        if self._onset is not None and playback.interrupts and playback.track.buffered:
            if self._onset(samples, frame.sample_rate):
                playback.flush()  # barge-in over audio Gemini finished generating: it will not say so itself
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
        kind = event["type"]
        if kind in _SESSION_EVENTS:  # the mic follows the session's input format
            session = event.get("session") or {}
            incoming = (session.get("audio") or {}).get("input") or {}
            self._mic.set_format(wire_format(incoming.get("format", session.get("input_audio_format"))))
        if not self.playback.see(event):
            self._send_event(event)
        return None

    async def receive(self) -> str | bytes | dict[str, Any] | None:
        while True:
            item = await self._inbox.get()
            if item is None:
                self._inbox.put_nowait(None)  # the end stays the end for any later reader
                return None
            if not isinstance(item, str) or not self._handled_here(item):
                return item

    async def send(self, frame: Frame) -> None:
        self._deliver(frame if isinstance(frame, str) else frame.decode())  # never bytes: `encode` makes none

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

    def abort(self) -> None:
        """The session gives up on this peer (it took nothing): the peer connection closes, no flush awaited."""
        self.gone("dropped: the peer took nothing")
        if self._abort is None:
            self._abort = asyncio.ensure_future(self._on_close())

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

    def _send_event(self, event: dict[str, Any]) -> None:
        self._deliver(orjson.dumps(event).decode())

    def _own_event(self, event_type: str, payload: dict[str, Any]) -> None:
        for command in self._emit(event_type, payload):
            if isinstance(command, SendClient):
                self._deliver(orjson.dumps(command.event).decode())

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
            self.playback.client_clear()
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


_SESSION_EVENTS = frozenset({"session.created", "session.updated"})
