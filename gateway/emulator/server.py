"""The Gemini Live emulator's WebSocket server: handshake gate, frame pump and the `livegate emulator` entry.

Protocol decisions live in `behaviour.py`; this module only accepts, receives and sends (§1, §2).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import signal
import ssl
import sys
from collections import deque
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any
from weakref import WeakKeyDictionary

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from schemas.profiles import Backend

from .behaviour import (
    Action,
    Cancel,
    Close,
    Drop,
    Pause,
    ResumptionStore,
    Send,
    SessionState,
    Stall,
    Timer,
    commit,
    on_open,
    on_timer,
    receive,
)
from .routes import Route, is_authorized, parse_route
from .script import Script

logger = logging.getLogger("livegate.emulator")
# websockets logs the raw request line and headers (`?key=`, x-goog-api-key, Authorization) at DEBUG:
# its records go to this child logger, which never goes below INFO.
_wire_logger = logging.getLogger("livegate.emulator.websockets")
# The gateway's built-in emulator is an internal detail: its connection records stay at WARNING and above.
_quiet_wire_logger = logging.getLogger("livegate.emulator.builtin")


class _AbandonedDials(logging.Filter):
    """A client that connects and leaves before its request (a dial it cancelled) is routine for a server, not
    an error with a traceback: websockets logs it as one, so it is logged here as a line at DEBUG instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if record.msg != "opening handshake failed" or exc is None or not isinstance(exc.__cause__, EOFError):
            return True
        logger.debug("a client left before sending its handshake request")
        return False


MAX_MESSAGE_BYTES = 32 * 1024 * 1024  # images and long audio chunks exceed websockets' 1 MiB default


@dataclass
class ConnectionRecord:
    """What one handshake carried and what the session received: for tests of other components."""

    path: str  # request target as sent, query string included
    headers: Headers  # handshake headers (case-insensitive lookups)
    route: Route | None  # None when the path was refused with 404
    status: int = 101  # HTTP status of the handshake answer
    authorized: bool = True
    session: SessionState | None = None  # set once the upgrade succeeded
    close_code: int | None = None  # the code of the close, whoever started it (1006: no close frame)
    close_reason: str | None = None
    closed_by_server: bool = False  # the emulator sent the close frame (close_code/close_reason are its)
    dropped: bool = False  # the emulator aborted the TCP connection (Script.drop_at)

    @property
    def setup(self) -> dict[str, Any] | None:
        """The raw `setup` object received (camelCase or snake_case as sent)."""
        return self.session.setup if self.session else None

    @property
    def usage_sent(self) -> list[dict[str, Any]]:
        """Every usageMetadata the emulator sent on this connection, in order."""
        return self.session.usage_sent if self.session else []

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every decoded client message, setup included, in order."""
        return self.session.messages if self.session else []

    @property
    def resumed_handle(self) -> str | None:
        """The sessionResumption.handle this connection resumed from."""
        return self.session.resumed_handle if self.session else None

    @property
    def go_aways(self) -> int:
        """goAway frames sent on this connection."""
        return self.session.go_aways_sent if self.session else 0

    @property
    def faults(self) -> list[str]:
        """Scripted faults carried out, as "kind@point" (e.g. "close@mid_audio")."""
        return self.session.faults if self.session else []


@dataclass
class _Options:
    api_key: str | None
    bearer_token: str | None
    script: Script
    record_messages: bool  # keep every client message in the ConnectionRecord
    store: ResumptionStore = field(default_factory=ResumptionStore)  # handles survive across connections
    sessions: Iterator[int] = field(default_factory=lambda: itertools.count(1))  # numbers connections
    call_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))  # function call ids


class _Writer:
    """Carries out one connection's actions in order, while the reader keeps taking client frames.

    The reader queues what `receive` returned and then waits (`settle`) until the writer has sent all
    of it or reached a pause or stall. With no pacing that is the old "answer, then read on" order; with
    pacing the reader handles barge-in while a reply streams. `Cancel` is applied when queued: it drops
    the unsent actions of its turn and cuts short a pause of that turn.
    """

    def __init__(self, connection: ServerConnection, record: ConnectionRecord, state: SessionState) -> None:
        self._connection = connection
        self._record = record
        self._state = state
        self._queue: deque[Action] = deque()
        self._work = asyncio.Event()  # set when the queue got actions
        self._settled = asyncio.Event()  # set while nothing is ready to send (empty, pausing, stalling)
        self._settled.set()
        self._waiting = True  # the writer waits for work (not busy, not pausing)
        self._pause_turn: int | None = None  # the turn of the pause in progress
        self._pause_cut = asyncio.Event()
        self._timers: set[asyncio.Task[None]] = set()
        self.done = False  # closed, dropped or the peer went away: nothing more is sent

    def push(self, actions: list[Action], *, front: bool = False) -> bool:
        """Queue `actions`; True when the reader should `settle` before reading on."""
        if self.done or not actions:
            return False
        items: list[Action] = []
        for action in actions:
            if isinstance(action, Cancel):
                self._cancel(action.turn, items)
            else:
                items.append(action)
        if front:
            self._queue.extendleft(reversed(items))
        else:
            self._queue.extend(items)
        if not items:
            return False
        self._work.set()
        if self._waiting:
            self._waiting = False
            self._settled.clear()
            return True
        return False

    def _cancel(self, turn: int, items: list[Action]) -> None:
        def keep(action: Action) -> bool:
            return getattr(action, "turn", None) != turn

        self._queue = deque(filter(keep, self._queue))
        items[:] = filter(keep, items)
        if self._pause_turn == turn:
            self._pause_cut.set()

    async def settle(self) -> None:
        await self._settled.wait()

    def stop(self) -> None:
        self.done = True
        self._settled.set()
        for task in self._timers:
            task.cancel()

    async def run(self) -> None:
        try:
            while not self.done:
                if not self._queue:
                    self._waiting = True
                    self._settled.set()
                    self._work.clear()
                    await self._work.wait()
                    continue
                await self._perform(self._queue.popleft())
        except ConnectionClosed:
            pass
        finally:
            self.stop()

    async def _perform(self, action: Action) -> None:
        if isinstance(action, Pause):
            await self._idle(self._pause(action))
        elif isinstance(action, Stall):
            await self._idle(asyncio.sleep(action.seconds) if action.seconds is not None else asyncio.Event().wait())
        elif isinstance(action, Timer):
            task = asyncio.create_task(self._timer(action))
            self._timers.add(task)
            task.add_done_callback(self._timers.discard)
        elif isinstance(action, Close):
            self.done = True
            record = self._record
            record.close_code, record.close_reason, record.closed_by_server = action.code, action.reason, True
            await self._connection.close(action.code, action.reason)
        elif isinstance(action, Drop):
            self.done = True
            self._record.dropped = True
            self._connection.transport.abort()
        elif isinstance(action, Send):
            follow = commit(self._state, action)  # before the await: the session's view stays exact
            usage = action.message.get("usageMetadata")
            if usage is not None:
                self._state.usage_sent.append(usage)
            await self._connection.send(orjson.dumps(action.message))  # bytes → binary frame, as Google does
            self._queue.extendleft(reversed(follow))

    async def _idle(self, wait: Awaitable[Any]) -> None:
        """Wait while the reader reads on (nothing is ready to send)."""
        self._settled.set()
        try:
            await wait
        finally:
            self._settled.clear()

    async def _pause(self, pause: Pause) -> None:
        self._pause_turn = pause.turn
        self._pause_cut.clear()
        try:
            await asyncio.wait_for(self._pause_cut.wait(), pause.seconds)
        except TimeoutError:
            pass
        finally:
            self._pause_turn = None

    async def _timer(self, timer: Timer) -> None:
        await asyncio.sleep(timer.seconds)
        self.push(on_timer(self._state, timer.name), front=True)


class EmulatorServer:
    """A Gemini Live (BidiGenerateContent) server on the Developer API and Vertex paths."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        api_key: str | None = None,
        bearer_token: str | None = None,
        script: Script | None = None,
        record_messages: bool = True,
        quiet: bool = False,
    ) -> None:
        self.host = host  # interface to bind
        self._info = logging.DEBUG if quiet else logging.INFO  # the level of start and handshake lines
        self.port = port  # 0 until start() binds an ephemeral port
        self.ssl_context = ssl_context  # TLS when set: the Python SDK always dials wss (§1.4)
        self.connections: list[ConnectionRecord] = []  # every handshake, in arrival order
        script = script or Script()
        self._options = _Options(
            api_key, bearer_token, script, record_messages, ResumptionStore(ttl_s=script.resumption_ttl_s)
        )
        self._pending: WeakKeyDictionary[ServerConnection, ConnectionRecord] = WeakKeyDictionary()  # → _handle
        self._server: Server | None = None

    @property
    def url(self) -> str:
        """Base URL: `wss://localhost:PORT` with TLS (certificates name localhost), else `ws://HOST:PORT`."""
        if self.ssl_context is not None:
            return f"wss://localhost:{self.port}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}"

    async def start(self) -> None:
        if _wire_logger.getEffectiveLevel() < logging.INFO:
            _wire_logger.setLevel(logging.INFO)
        if _quiet_wire_logger.getEffectiveLevel() < logging.WARNING:
            _quiet_wire_logger.setLevel(logging.WARNING)
        for wire in (_wire_logger, _quiet_wire_logger):
            if not any(isinstance(f, _AbandonedDials) for f in wire.filters):
                wire.addFilter(_AbandonedDials())
        self._server = await serve(
            self._handle,
            self.host,
            self.port,
            ssl=self.ssl_context,
            process_request=self._process_request,
            max_size=MAX_MESSAGE_BYTES,
            server_header="livegate-emulator",
            logger=_wire_logger if self._info == logging.INFO else _quiet_wire_logger,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        logger.log(self._info, "Gemini Live emulator listening on %s", self.url)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            try:  # a connection stuck in a scripted stall must not hold the whole server open
                await asyncio.wait_for(self._server.wait_closed(), timeout=3)
            except TimeoutError:
                logger.warning("emulator stopped with connections still closing")
            self._server = None

    async def __aenter__(self) -> EmulatorServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Refuse unknown paths (404) and bad Vertex credentials (401) before the upgrade (§1.1, §1.2)."""
        route = parse_route(request.path)
        record = ConnectionRecord(path=request.path, headers=request.headers, route=route)
        self.connections.append(record)
        logger.log(self._info, "handshake %s", request.path.partition("?")[0])  # never the query: it may carry ?key=
        if route is None:
            record.status = 404
            return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")
        options = self._options
        record.authorized = is_authorized(route, request.headers, request.path, options.api_key, options.bearer_token)
        if route.backend is Backend.VERTEX and not record.authorized:
            record.status = 401
            return connection.respond(HTTPStatus.UNAUTHORIZED, "Request had invalid authentication credentials.\n")
        self._pending[connection] = record
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        record = self._pending.pop(connection)
        if record.route is None:  # _process_request refused it; never reached
            return
        options = self._options
        state = SessionState(
            record.route,
            options.script,
            options.store,
            options.record_messages,
            connection_index=next(options.sessions),
            call_ids=options.call_ids,
        )
        record.session = state
        writer = _Writer(connection, record, state)
        task = asyncio.create_task(writer.run())
        try:
            if writer.push(on_open(state, record.authorized)):
                await writer.settle()
            async for raw in connection:
                if writer.push(receive(state, raw)):
                    await writer.settle()
        except ConnectionClosed:
            pass
        finally:
            writer.stop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if not record.closed_by_server:
                record.close_code, record.close_reason = connection.close_code, connection.close_reason


async def run_forever(
    host: str = "127.0.0.1",
    port: int = 4100,
    *,
    ssl_context: ssl.SSLContext | None = None,
    api_key: str | None = None,
    bearer_token: str | None = None,
    script: Script | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM; client messages are not kept (a long run would hoard audio)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with EmulatorServer(host, port, ssl_context, api_key, bearer_token, script, record_messages=False):
        await stop.wait()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(signum)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="livegate emulator", description="Offline Gemini Live emulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4100)
    parser.add_argument("--ssl-certfile", help="PEM certificate: serve wss:// (the Python SDK needs TLS)")
    parser.add_argument("--ssl-keyfile", help="PEM private key for --ssl-certfile")
    parser.add_argument("--api-key", help="require this Developer API key (x-goog-api-key or ?key=)")
    parser.add_argument("--bearer-token", help="require this Vertex bearer token")
    parser.add_argument(
        "--reply-chunk-interval",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="pause after each reply word (0.1 = real time; default 0: as fast as possible)",
    )
    parser.add_argument("--log-level", default="INFO")
    return parser


def main(argv: list[str] | None = None) -> int:
    """`livegate emulator`: parse the arguments and serve until interrupted."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    context = None
    if args.ssl_certfile:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.ssl_certfile, args.ssl_keyfile)
    script = Script(reply_chunk_interval_s=args.reply_chunk_interval)
    asyncio.run(
        run_forever(
            args.host,
            args.port,
            ssl_context=context,
            api_key=args.api_key,
            bearer_token=args.bearer_token,
            script=script,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
