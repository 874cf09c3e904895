"""The Gemini Live emulator's WebSocket server: handshake gate, frame pump and the `livegate emulator` entry.

Protocol decisions live in `behaviour.py`; this module only accepts, receives and sends (§1, §2).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import ssl
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

from .behaviour import Action, Close, ResumptionStore, Script, SessionState, on_open, receive
from .routes import Route, is_authorized, parse_route

logger = logging.getLogger("livegate.emulator")
# websockets logs the raw request line and headers (`?key=`, x-goog-api-key, Authorization) at DEBUG:
# its records go to this child logger, which never goes below INFO.
_wire_logger = logging.getLogger("livegate.emulator.websockets")

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
    close_code: int | None = None  # the code of the close, whoever started it
    close_reason: str | None = None

    @property
    def setup(self) -> dict[str, Any] | None:
        """The raw `setup` object received (camelCase or snake_case as sent)."""
        return self.session.setup if self.session else None

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every decoded client message, setup included, in order."""
        return self.session.messages if self.session else []


@dataclass
class _Options:
    api_key: str | None
    bearer_token: str | None
    script: Script
    record_messages: bool  # keep every client message in the ConnectionRecord
    store: ResumptionStore = field(default_factory=ResumptionStore)


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
    ) -> None:
        self.host = host  # interface to bind
        self.port = port  # 0 until start() binds an ephemeral port
        self.ssl_context = ssl_context  # TLS when set: the Python SDK always dials wss (§1.4)
        self.connections: list[ConnectionRecord] = []  # every handshake, in arrival order
        self._options = _Options(api_key, bearer_token, script or Script(), record_messages)
        self._pending: WeakKeyDictionary[ServerConnection, ConnectionRecord] = (
            WeakKeyDictionary()
        )  # → _handle
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
        self._server = await serve(
            self._handle,
            self.host,
            self.port,
            ssl=self.ssl_context,
            process_request=self._process_request,
            max_size=MAX_MESSAGE_BYTES,
            server_header="livegate-emulator",
            logger=_wire_logger,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        logger.info("Gemini Live emulator listening on %s", self.url)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
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
        logger.info("handshake %s", request.path.partition("?")[0])  # never the query: it may carry ?key=
        if route is None:
            record.status = 404
            return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")
        options = self._options
        record.authorized = is_authorized(
            route, request.headers, request.path, options.api_key, options.bearer_token
        )
        if route.backend is Backend.VERTEX and not record.authorized:
            record.status = 401
            return connection.respond(
                HTTPStatus.UNAUTHORIZED, "Request had invalid authentication credentials.\n"
            )
        self._pending[connection] = record
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        record = self._pending.pop(connection)
        if record.route is None:  # _process_request refused it; never reached
            return
        options = self._options
        state = SessionState(record.route, options.script, options.store, options.record_messages)
        record.session = state
        try:
            if await self._perform(connection, record, on_open(state, record.authorized)):
                return
            async for raw in connection:
                if await self._perform(connection, record, receive(state, raw)):
                    return
        except ConnectionClosed:
            pass
        finally:
            if record.close_code is None:
                record.close_code, record.close_reason = connection.close_code, connection.close_reason

    async def _perform(
        self, connection: ServerConnection, record: ConnectionRecord, actions: list[Action]
    ) -> bool:
        """Carry out the actions in order; True once the connection was closed."""
        for action in actions:
            if isinstance(action, Close):
                record.close_code, record.close_reason = action.code, action.reason
                await connection.close(action.code, action.reason)
                return True
            await connection.send(orjson.dumps(action.message))  # bytes → binary frame, as Google does (§2)
        return False


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
    asyncio.run(
        run_forever(
            args.host, args.port, ssl_context=context, api_key=args.api_key, bearer_token=args.bearer_token
        )
    )
    return 0
