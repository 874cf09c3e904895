"""One client session: receive, decode, feed the translators, carry out their commands. Nothing more.

Every outgoing frame goes through one queue per socket, filled synchronously in the order the
translators produced it, so events from the two directions can never overtake each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from gateway import close_codes
from gateway.config import Deployment
from gateway.upstream import UpstreamContext, UpstreamUnavailable, model_resource, open_upstream
from schemas.openai import Dialect, binary_frame_error, parse_client_event_tolerant
from translators.client import ClientTranslator
from translators.commands import (
    CloseClient,
    CloseUpstream,
    Command,
    ConnectUpstream,
    SendClient,
    SendUpstream,
)
from translators.errors import ClientProtocolError
from translators.ids import IdFactory
from translators.resume import Retry
from translators.session_config import SessionConfig
from translators.state import SessionState
from translators.upstream import UpstreamTranslator

log = logging.getLogger("livegate.session")


@dataclass(frozen=True)
class _Close:
    code: int
    reason: str


class Session:
    """Pumps one client socket and (once content arrives) one upstream socket."""

    def __init__(
        self, websocket: WebSocket, deployments: list[Deployment], ctx: UpstreamContext, dialect: Dialect
    ) -> None:
        self._ws = websocket  # the accepted client socket
        self._deployments = deployments  # the alias's deployments, in the order they are tried
        self._ctx = ctx  # how to reach and authenticate to upstreams
        deployment = deployments[0]
        self.state = SessionState(
            dialect=dialect,
            profile=deployment.profile,
            model_resource=model_resource(deployment),
            config=SessionConfig(model=deployment.alias),
            ids=IdFactory(),
            created_at=int(time.time()),
        )
        self.client = ClientTranslator(self.state)
        self.upstream = UpstreamTranslator(self.state)
        self._to_client: asyncio.Queue[str | _Close] = asyncio.Queue()  # frames for the client, in order
        self._to_upstream: asyncio.Queue[bytes | None] = asyncio.Queue()  # frames for Gemini, in order
        self._link_task: asyncio.Task[None] | None = None  # the current upstream link's dial + read loop
        self._generation = 0  # which ConnectUpstream the current link answers; older links are stale
        self._upstream_ws: ClientConnection | None = None
        self._closing = False  # a close was queued for the client: stop reading

    async def run(self) -> None:
        writer = asyncio.create_task(self._client_writer())
        self._execute(self.client.start())
        try:
            await self._client_reader()
        finally:
            await self._shutdown(writer)

    # ---- commands --------------------------------------------------------------------------------
    def _execute(self, commands: list[Command]) -> None:
        """Enqueue in order; never awaits, so nothing can run between two commands of one feed."""
        for command in commands:
            if isinstance(command, SendClient):
                self._to_client.put_nowait(orjson.dumps(command.event).decode())
            elif isinstance(command, SendUpstream):
                self._to_upstream.put_nowait(orjson.dumps(command.message))
            elif isinstance(command, ConnectUpstream):
                self._connect(command)
            elif isinstance(command, CloseClient):
                self._closing = True
                self._to_client.put_nowait(_Close(command.code, command.reason))
            elif isinstance(command, CloseUpstream):
                self._to_upstream.put_nowait(None)

    # ---- client side -----------------------------------------------------------------------------
    async def _client_reader(self) -> None:
        dialect = self.state.dialect
        while not self._closing:
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            try:
                if text is None:
                    raise binary_frame_error()
                event, shape = parse_client_event_tolerant(text, dialect)
            except ClientProtocolError as exc:
                self._execute(self.client.error(exc))
                continue
            self._execute(self.client.feed(event, shape))

    async def _client_writer(self) -> None:
        while True:
            frame = await self._to_client.get()
            if isinstance(frame, _Close):
                with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                    await self._ws.close(frame.code, frame.reason)
                return
            try:
                await self._ws.send_text(frame)
            except (RuntimeError, WebSocketDisconnect):
                return

    # ---- upstream side ---------------------------------------------------------------------------
    def _connect(self, command: ConnectUpstream) -> None:
        """A new upstream link replaces any current one; the old one's close is expected, not a fault."""
        self._generation += 1
        if self._link_task is not None:
            self._link_task.cancel()
        self._link_task = asyncio.create_task(self._upstream_main(command, self._generation))

    async def _upstream_main(self, command: ConnectUpstream, generation: int) -> None:
        try:
            if command.delay_s:
                await asyncio.sleep(command.delay_s)
            await self._upstream_link(command.setup, generation)
        except asyncio.CancelledError:
            raise
        except UpstreamUnavailable as exc:
            self._lost(exc.close, exc.detail, Retry.RESUME if self.state.ever_ready else Retry.NO)
        except Exception:  # our own bug: never leave the client hanging, never forward the text
            log.exception("upstream pump failed for %s", self.state.session_id)
            self._fail(close_codes.UNKNOWN, "internal gateway error")

    async def _upstream_link(self, setup: dict[str, Any], generation: int) -> None:
        opened = await open_upstream(self._deployments, setup, self._ctx)
        ws = self._upstream_ws = opened.ws
        writer = asyncio.create_task(self._upstream_writer(ws))
        try:
            async for raw in ws:
                self._execute(self.upstream.feed(orjson.loads(raw)))
        except ConnectionClosed:
            pass
        except orjson.JSONDecodeError:
            self._fail(close_codes.UNKNOWN, "Gemini sent a frame that is not JSON")
            return
        finally:
            writer.cancel()
            if generation != self._generation:
                await ws.close()
        if not self._closing and generation == self._generation:
            reason = ws.close_reason or ""
            close = close_codes.for_upstream_close(ws.close_code, reason)
            self._lost(close, reason, close_codes.should_retry(ws.close_code, reason))

    async def _upstream_writer(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            while (frame := await self._to_upstream.get()) is not None:
                await ws.send(frame, text=True)
            await ws.close()

    def _lost(self, close: close_codes.ClientClose, reason: str, retry: Retry) -> None:
        log.info(
            "upstream lost for %s: %s %s (%s)",
            self.state.session_id,
            close.error_code,
            close_codes.redact(reason),
            retry.value,
        )
        message = close_codes.message(close, reason)
        self._execute(self.upstream.upstream_lost(close.error_type, close.error_code, message, close.close_code, retry))

    def _fail(self, close: close_codes.ClientClose, reason: str) -> None:
        log.info(
            "upstream ended for %s: %s %s",
            self.state.session_id,
            close.error_code,
            close_codes.redact(reason),
        )
        message = close_codes.message(close, reason)
        self._execute(self.upstream.upstream_failed(close.error_type, close.error_code, message, close.close_code))

    async def _shutdown(self, writer: asyncio.Task[None]) -> None:
        self._closing = True
        if self._upstream_ws is not None:
            with contextlib.suppress(Exception):
                await self._upstream_ws.close()
        if self._link_task is not None:
            self._link_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._link_task
        self._to_client.put_nowait(_Close(1000, ""))
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(writer, timeout=5)
