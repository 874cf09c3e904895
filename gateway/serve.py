"""Running the app under uvicorn with a graceful drain: open turns finish, then clients get 1001."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

import uvicorn
from starlette.applications import Starlette

from gateway.ops.banner import Serving, base_url, print_startup

log = logging.getLogger("livegate.serve")


class GracefulServer(uvicorn.Server):
    """On SIGTERM: stop accepting, let each session finish its turn (within the grace period), then
    close it with 1001; only what is still open after that meets uvicorn's own shutdown (1012)."""

    def __init__(self, config: uvicorn.Config, app: Starlette) -> None:
        super().__init__(config)
        self._app = app  # whose app.state.live_sessions are drained

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's start-up, then the lines that say what is served and where (gateway/ops/banner.py)."""
        await super().startup(sockets)
        if not self.started or not self.servers or not self.servers[0].sockets:
            return
        port = self.servers[0].sockets[0].getsockname()[1]
        ws_base = base_url(self.config.host, port, self.config.is_ssl)
        state = self._app.state
        print_startup(Serving(state.config, state.limits, ws_base, state))

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        sessions = list(self._app.state.live_sessions)
        grace = self._app.state.limits.shutdown_grace_seconds
        if sessions:
            log.info("draining %d session(s) for up to %.1f s", len(sessions), grace)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(s.drain() for s in sessions)), timeout=grace)
            await asyncio.sleep(0.05)  # let the close frames go out
        await super().shutdown(sockets)


def server_config(app: Starlette, host: str, port: int, **options: object) -> uvicorn.Config:
    """uvicorn settings from the app's limits: frame size and keep-alive pings (OPENAI_REALTIME.md §1.1, §8.14)."""
    limits = app.state.limits
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        ws_max_size=limits.max_frame_bytes,
        ws_ping_interval=limits.ping_interval_seconds,
        ws_ping_timeout=limits.ping_interval_seconds,
        ws_per_message_deflate=limits.client_compression,
        **options,  # type: ignore[arg-type]
    )
