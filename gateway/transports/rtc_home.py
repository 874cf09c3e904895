"""The gateway's WebRTC side, loaded with its first call: aiortc and PyAV take ~0.1–0.3 s and ~25 MB to import,
which a gateway that never takes a call should not pay (start-up time, memory per worker; `make bench`)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from schemas.limits import Limits
from schemas.webrtc import WebRTCSettings

if TYPE_CHECKING:
    from gateway.transports.webrtc import Call, CallRegistry


class WebRTCHome:
    """Where the routes find the call registry; nothing of aiortc is imported until `registry()` is called."""

    def __init__(self, settings: WebRTCSettings, limits: Limits) -> None:
        self._settings = settings  # general_settings.webrtc
        self._limits = limits  # the sessions' limits (the data channel's backlog cap)
        self._registry: CallRegistry | None = None  # created with the first call
        self._watch: asyncio.Task[None] | None = None  # the registry's liveness task

    def registry(self) -> CallRegistry:
        """The call registry, set up (ICE addresses, aiortc's audio level, its logs) on first use."""
        if self._registry is None:
            from gateway.transports import rtc_process
            from gateway.transports.webrtc import CallRegistry

            rtc_process.use_host_addresses(self._settings.host_addresses)
            rtc_process.use_fast_audio_level()
            rtc_process.quiet_library_logs()
            self._registry = CallRegistry(self._settings, self._limits)
            self._watch = asyncio.create_task(self._registry.watch())
        return self._registry

    def get(self, call_id: str) -> Call | None:
        """An open call (never loads aiortc: without a registry there is none)."""
        return self._registry.get(call_id) if self._registry is not None else None

    async def close(self) -> None:
        """Gateway shutdown: every call ends, the liveness task stops."""
        if self._registry is not None:
            await self._registry.close_all()
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
