"""The sideband: a server-side WebSocket (`/v1/realtime?call_id=…`, with a key) attached to a WebRTC call.

It sees the call's events as the data channel does (no audio: that is on the call's track) and its client
events go to the same session, in arrival order with the data channel's (OpenAI's "server-side controls").
It speaks the call's dialect. Closing it leaves the call running; the call's end closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from starlette.websockets import WebSocket, WebSocketDisconnect

from gateway.transports.rtc_home import WebRTCHome

if TYPE_CHECKING:
    from gateway.transports.webrtc import Call

log = logging.getLogger("livegate.sideband")


class WebSocketSideband:
    """One attached WebSocket: its own write queue, so a slow server never holds up the call."""

    def __init__(self, websocket: WebSocket, max_backlog: int) -> None:
        self._ws = websocket  # accepted and authenticated
        self._max_backlog = max_backlog  # unsent bytes allowed before this sideband is dropped
        self._queue: asyncio.Queue[str | tuple[int, str]] = asyncio.Queue()  # frames, then a (code, reason) close
        self._backlog = 0  # bytes queued and not yet written
        self._writer = asyncio.create_task(self._write())  # drains the queue until a close

    def deliver(self, frame: str) -> None:
        if self._writer.done():
            return
        self._backlog += len(frame)
        if self._backlog > self._max_backlog:
            log.warning("sideband reads too slowly (over %d bytes queued): closing it", self._max_backlog)
            self._drop_queue()
            self._queue.put_nowait((1008, "client_too_slow"))
            return
        self._queue.put_nowait(frame)

    async def close(self, code: int, reason: str) -> None:
        """After the frames already queued: the call is over."""
        self._queue.put_nowait((code, reason))
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(self._writer), timeout=2)

    def stop(self) -> None:
        self._writer.cancel()

    def _drop_queue(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()
        self._backlog = 0

    async def _write(self) -> None:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            while True:
                item = await self._queue.get()
                if isinstance(item, tuple):
                    await self._ws.close(*item)
                    return
                await self._ws.send_text(item)
                self._backlog -= len(item)


async def attach_sideband(websocket: WebSocket, call: Call, calls: WebRTCHome, max_backlog: int) -> None:
    """Pump one sideband until it disconnects or the call ends."""
    sideband = WebSocketSideband(websocket, max_backlog)
    call.channel.sidebands.add(sideband)
    log.info("sideband attached to call %s", call.call_id)
    try:
        while calls.get(call.call_id) is call:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            call.channel.client_frame(text if text is not None else (message.get("bytes") or b""))
    finally:
        call.channel.sidebands.discard(sideband)
        sideband.stop()
