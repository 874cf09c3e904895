"""WebRTC calls terminated by the gateway (aiortc): the peer connection, its tracks and data channel, and the
registry that finds a call by id (hangup, sideband) and ends calls whose peer never came or went away.

A call is a `Session` pump over a `CallChannel`; the session runs in a task the registry owns, since the
HTTP request that created the call returns as soon as the SDP answer is ready (OPENAI_REALTIME.md §10).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from gateway.session import Session
from gateway.transports.call_channel import CallChannel
from gateway.transports.rtc_process import rtc_configuration
from schemas.limits import Limits
from schemas.openai import Dialect
from schemas.webrtc import WebRTCSettings

log = logging.getLogger("livegate.webrtc")

DATA_CHANNEL_LABEL = "oai-events"  # the only channel OpenAI's clients open (OPENAI_REALTIME.md §10)
OFFER_PROBLEM = (
    "The SDP offer could not be answered: send the offer of an RTCPeerConnection with an audio track "
    "(and the oai-events data channel), as Content-Type application/sdp or as the 'sdp' part of a form."
)
WATCH_INTERVAL_S = 0.5  # how often the registry looks for calls past their connect or media timeout


class InvalidOffer(Exception):
    """The SDP offer could not be applied; the message is safe to show the client."""


@dataclass(eq=False)
class Call:
    """One call: its peer connection, the channel the session talks through, and when media last came."""

    call_id: str
    pc: RTCPeerConnection
    channel: CallChannel
    dialect: Dialect  # the session's dialect; a sideband must speak it too
    created: float  # loop time the offer was answered (connect timeout)
    last_media: float | None = None  # loop time of the peer's latest audio frame (or of connecting); None: unarmed
    sends_audio: bool = False  # the answer has the peer sending audio: its silence means it is gone
    session: Session | None = None  # set once the session exists (after the answer is ready)
    key_id: str = ""  # the caller's key (its sha256): only it may attach a sideband
    tasks: set[asyncio.Task[None]] = field(default_factory=set)  # the session and the mic reader

    def hangup(self, reason: str = "hangup") -> None:
        self.channel.gone(reason)


class CallRegistry:
    """The gateway's open calls, by call id."""

    def __init__(self, settings: WebRTCSettings, limits: Limits) -> None:
        self._settings = settings  # ICE servers and the call timeouts
        self._limits = limits  # backlog caps for the data channel
        self._calls: dict[str, Call] = {}  # open calls

    def get(self, call_id: str) -> Call | None:
        """An open call; one that is ending (hung up, peer gone) is not found any more."""
        call = self._calls.get(call_id)
        return call if call is not None and call.channel.gone_reason is None else None

    def __len__(self) -> int:
        return len(self._calls)

    async def open(
        self,
        offer: str,
        dialect: Dialect,
        make_session: Callable[[CallChannel], Session],
        on_end: Callable[[Call], Awaitable[None]],
    ) -> tuple[Call, str]:
        """Answer an offer and start the call's session; returns the call and the SDP answer."""
        pc = RTCPeerConnection(rtc_configuration(self._settings))

        async def close_peer() -> None:
            channel.playback.track.stop()
            with contextlib.suppress(Exception):
                await pc.close()

        level = self._settings.barge_in_level
        channel = CallChannel(dialect, self._limits, barge_in_level=level, on_close=close_peer)
        call = Call(_call_id(), pc, channel, dialect, asyncio.get_running_loop().time())
        self._wire(call)
        try:
            answer = await self._answer(call, offer)
        except Exception as exc:  # aiortc raises anything from ValueError to KeyError on a malformed offer
            log.info("call offer refused: %s: %s", type(exc).__name__, str(exc)[:200])
            await close_peer()
            raise InvalidOffer(OFFER_PROBLEM) from None
        call.session = make_session(call.channel)
        self._calls[call.call_id] = call
        self._spawn(call, self._run(call, on_end))
        return call, answer

    def _wire(self, call: Call) -> None:
        pc, channel = call.pc, call.channel

        @pc.on("datachannel")
        def on_datachannel(dc: Any) -> None:
            if dc.label == DATA_CHANNEL_LABEL:
                channel.attach_data_channel(dc)
            else:
                log.info("call %s: ignoring data channel %r", call.call_id, dc.label)

        @pc.on("track")
        def on_track(track: Any) -> None:
            if track.kind == "audio":
                self._spawn(call, self._read_mic(call, track))

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                channel.gone(f"the peer connection {pc.connectionState}")
            elif pc.connectionState == "connected" and call.sends_audio and call.last_media is None:
                call.last_media = asyncio.get_running_loop().time()  # its audio is due from now on

    async def _answer(self, call: Call, offer: str) -> str:
        pc = call.pc
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        audio = any(t.kind == "audio" for t in pc.getTransceivers())
        if not audio and pc.sctp is None:
            raise ValueError("the offer has neither an audio section nor a data channel")
        if audio:
            pc.addTrack(call.channel.playback.track)  # joins the offer's audio transceiver
        else:
            call.channel.no_audio_track()
        if pc.sctp is None:
            call.channel.no_data_channel()
        await pc.setLocalDescription(await pc.createAnswer())  # gathers every candidate first: no trickle ICE
        call.sends_audio = any(t.kind == "audio" and t.currentDirection in ("sendrecv", "recvonly")
                               for t in pc.getTransceivers())
        return str(pc.localDescription.sdp)

    async def _read_mic(self, call: Call, track: Any) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            call.last_media = loop.time()
            call.channel.feed_mic(frame)

    async def _run(self, call: Call, on_end: Callable[[Call], Awaitable[None]]) -> None:
        assert call.session is not None
        try:
            await call.session.run()
        except Exception:
            log.exception("call %s: session failed", call.call_id)
        finally:
            call.channel.playback.track.stop()
            with contextlib.suppress(Exception):
                await call.pc.close()
            self._calls.pop(call.call_id, None)
            for task in list(call.tasks):
                if task is not asyncio.current_task():
                    task.cancel()
            await on_end(call)
            log.info("call %s ended: %s", call.call_id, call.channel.gone_reason or "session closed")

    def _spawn(self, call: Call, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        call.tasks.add(task)
        task.add_done_callback(call.tasks.discard)

    # ---- liveness: one task for every call ----------------------------------------------------------
    async def watch(self) -> None:
        """End calls whose peer never connected, or whose audio stopped (a peer gone without a DTLS close)."""
        settings = self._settings
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(WATCH_INTERVAL_S)
            now = loop.time()
            for call in list(self._calls.values()):
                state = call.pc.connectionState
                if state != "connected" and now - call.created > settings.connect_timeout_seconds:
                    call.hangup(f"the peer did not connect within {settings.connect_timeout_seconds:g} s")
                elif call.last_media is not None and now - call.last_media > settings.media_timeout_seconds:
                    call.hangup(f"no audio from the peer for {settings.media_timeout_seconds:g} s")

    async def close_all(self) -> None:
        """Gateway shutdown: every call's session ends, its peer connection closes."""
        calls = list(self._calls.values())
        for call in calls:
            call.hangup("the gateway is shutting down")
        tasks = [task for call in calls for task in call.tasks]
        if tasks:
            await asyncio.wait(tasks, timeout=5)


def _call_id() -> str:
    """OpenAI's shape: `rtc_` and 32 hex digits (its samples show `rtc_u1_…`; clients treat it as opaque)."""
    return f"rtc_{secrets.token_hex(16)}"
