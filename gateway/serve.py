"""Running the app under uvicorn: a graceful drain, and HTTP requests bounded in size and time.

On SIGTERM readiness answers 503 and new sessions are refused, open turns finish, then clients get 1001 (a turn
longer than the grace is told too), then the spend queue is written. Requests whose
headers are too large get 431, and connections that do not finish their headers in time get 408 (issue #16
item 14): uvicorn alone would hold both sockets indefinitely.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from types import FrameType
from typing import Any, Protocol

import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from websockets.http11 import MAX_LINE_LENGTH, MAX_NUM_HEADERS

from gateway.ops.banner import Serving, base_url, print_startup
from schemas.limits import Limits

log = logging.getLogger("livegate.serve")


class Group(Protocol):
    """A worker's link to its master (gateway/workers.py): whether the whole group is draining, and reports."""

    banner: bool  # print the start-up lines (one worker of the group does)

    def group_draining(self) -> bool: ...

    def report(self, event: str) -> None: ...


class GracefulServer(uvicorn.Server):
    """On SIGTERM: stop accepting, let each session finish its turn (within the grace period), then close it
    with 1001; a session still in a turn after the grace gets its `server_shutdown` error and 1001 anyway.

    A worker of `livegate serve --workers N` (`group`) drains the same way; when it alone drains (its own
    SIGTERM, not the master's) it closes its copy of the listener at once, so its siblings take the new
    connections. SIGINT (a terminal's Ctrl-C reaches every process) is left to the master, which relays it.

    uvicorn's main loop wakes ten times a second to refresh its Date header and to look at `should_exit`: an
    idle gateway spent about 2.3 ms of CPU a second on it (issue #15). Here it wakes once a second, the Date
    header's resolution, and at once when `should_exit` is set, from any thread.
    """

    tick_seconds = 1.0  # between the main loop's wake-ups when nothing happens
    _exit_set = False  # the value behind `should_exit` (uvicorn's __init__ sets it through the property)
    _wake: asyncio.Event | None = None  # set when `should_exit` is (made by `main_loop`, in the loop)
    _loop: asyncio.AbstractEventLoop | None = None  # the serving loop (signal handlers call into it)

    def __init__(self, config: uvicorn.Config, app: Starlette, group: Group | None = None) -> None:
        super().__init__(config)
        self._app = app  # whose app.state.live_sessions are drained
        self._group = group  # None: a process of its own

    @property  # an attribute in uvicorn
    def should_exit(self) -> bool:
        return self._exit_set

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._exit_set = value
        if value and self._wake is not None and self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def main_loop(self) -> None:
        """uvicorn's loop (`on_tick` counts its 0.1 s ticks: a second is 10), woken by the second or by exit."""
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.tick_seconds):
                    await self._wake.wait()
            counter = (counter + 10) % 864000

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        group = self._group
        if group is not None and sig == signal.SIGINT:
            return  # the master got it too and sends SIGTERM to every worker
        if group is not None and not group.group_draining() and self._loop is not None:
            self._loop.call_soon_threadsafe(self._stop_listening)  # at once, not at uvicorn's next tick
        super().handle_exit(sig, frame)

    def _stop_listening(self) -> None:
        """A worker draining alone: its siblings take the port's new connections from now on."""
        if not self._app.state.draining:
            self._app.state.draining = True
            for server in self.servers:
                server.close()
            assert self._group is not None
            self._group.report("draining")

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's start-up, then the lines that say what is served and where (gateway/ops/banner.py)."""
        await super().startup(sockets)
        self._loop = asyncio.get_running_loop()
        if not self.started or not self.servers or not self.servers[0].sockets:
            return
        if self._group is not None:
            self._group.report("ready")
            if not self._group.banner:
                return
        port = self.servers[0].sockets[0].getsockname()[1]
        ws_base = base_url(self.config.host, port, self.config.is_ssl)
        state = self._app.state
        print_startup(Serving(state.config, state.limits, ws_base, state))

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Readiness answers 503 and new sessions are refused from now on; the listener stays open while
        # sessions drain, so a load balancer's health check sees the 503 rather than a refused connection.
        # A worker draining alone stops listening instead: the port stays ready through its siblings.
        if self._group is not None and not self._group.group_draining():
            self._stop_listening()
        self._app.state.draining = True
        sessions = list(self._app.state.live_sessions)
        grace = self._app.state.limits.shutdown_grace_seconds
        if sessions:
            log.info("draining %d session(s) for up to %.1f s", len(sessions), grace)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(s.drain() for s in sessions)), timeout=grace)
            for session in sessions:
                session.shut_now()  # no-op for those already closed
            await asyncio.sleep(0.05)  # let the close frames go out
        for server in self.servers:
            server.close()
        await super().shutdown(sockets)  # then the lifespan's exit flushes the spend queue


class _GuardedHttp(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for the request headers and a cap on their size.

    The caps are at most websockets' own (line length, header count): past those its handshake parser gives
    up without answering, so a request over them must be refused here, with a status.
    """

    max_header_bytes = 16 * 1024  # request line + headers (set per server by `guarded_http`)
    handshake_timeout = 10.0  # seconds from accept (or a request's first byte) to the end of its headers

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_bytes = 0  # of the request being read
        self._refused = False  # headers over a cap: 431 instead of uvicorn's 400
        self._deadline: asyncio.TimerHandle | None = self.loop.call_later(self.handshake_timeout, self._expired)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        if self._deadline is None:  # a later request on a kept-alive connection gets its own deadline
            self._deadline = self.loop.call_later(self.handshake_timeout, self._expired)

    def on_url(self, url: bytes) -> None:
        self._count(len(url), len(self.url) + len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4, len(name) + len(value) + 2)
        if len(self.headers) >= MAX_NUM_HEADERS:
            self._refuse()
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if not self._refused:
            super().send_400_response(msg)
            return
        self.logger.warning("Request headers too large; answered 431.")
        self._answer(b"431 Request Header Fields Too Large", b"Request header fields too large.")

    def _count(self, size: int, line: int) -> None:
        self._header_bytes += size
        if self._header_bytes > self.max_header_bytes or line > MAX_LINE_LENGTH:
            self._refuse()

    def _refuse(self) -> None:
        self._refused = True
        raise ValueError("request headers too large")  # httptools stops parsing; uvicorn answers via send_400

    def _expired(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self._answer(b"408 Request Timeout", b"Request headers not received in time.")

    def _answer(self, status: bytes, body: bytes) -> None:
        self._disarm()
        head = b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain\r\nconnection: close\r\n"
        self.transport.write(head + b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        self.transport.close()

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None


def guarded_http(limits: Limits) -> type[HttpToolsProtocol]:
    """The HTTP protocol class for one server's limits."""
    caps = {"max_header_bytes": limits.max_header_bytes, "handshake_timeout": limits.handshake_timeout_seconds}
    return type("GuardedHttp", (_GuardedHttp,), caps)


def server_config(app: Starlette, host: str, port: int, **options: Any) -> uvicorn.Config:
    """uvicorn settings from the app's limits: frame size and keep-alive pings (OPENAI_REALTIME.md §1.1, §8.14),
    request header caps and deadline."""
    limits = app.state.limits
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=guarded_http(limits),
        ws_max_size=limits.max_frame_bytes,
        ws_ping_interval=limits.ping_interval_seconds,
        ws_ping_timeout=limits.ping_interval_seconds,
        ws_per_message_deflate=limits.client_compression,
        **options,
    )
