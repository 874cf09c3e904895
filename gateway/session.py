"""One client session: receive, decode, feed the translators, carry out their commands. Nothing more.

Every outgoing frame goes out synchronously in the order the translators produced it (written at once, or
queued behind earlier frames when a socket is backed up), so events from the two directions can never
overtake each other. Upstream messages are fed straight from the connection's callback (gateway/upstream/link.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import orjson

from gateway import close_codes, codecs
from gateway.config import Deployment
from gateway.ids import new_ids
from gateway.session_hooks import SessionHooks, Unwatched
from gateway.stall_clock import StallClock
from gateway.transports.channel import ClientChannel
from gateway.transports.outbox import ClientOutbox
from gateway.upstream.backoff import jittered
from gateway.upstream.connection import UpstreamConnection
from gateway.upstream.dial import (
    LiveConnection,
    LiveSocket,
    UpstreamContext,
    UpstreamUnavailable,
    dial_spare,
    model_resource,
    open_upstream,
)
from gateway.upstream.link import LinkFollower, UpstreamOutbox, read_link
from schemas.gemini import is_media_chunk
from schemas.limits import Limits
from schemas.openai import Dialect, binary_frame_error, parse_client_event_tolerant
from translators.commands import (
    CloseClient,
    Command,
    ConnectUpstream,
    Mark,
    PrepareUpstream,
    RecordUsage,
    RequestWakeup,
    SendClient,
    SendUpstream,
)
from translators.context import SessionKind
from translators.errors import ClientProtocolError, SessionEnd
from translators.pair import translators_for
from translators.resume import Retry, adopt_deployment, at_turn_boundary, setup_for_profile
from translators.session_config import SessionConfig
from translators.state import SessionState, UpstreamPhase

log = logging.getLogger("livegate.session")
SETTLE_POLL_S = 0.05  # how often `_settle` looks whether the usage it waits for has come


class Session:
    """Pumps one client channel and (once content arrives) one upstream socket."""

    def __init__(
        self,
        channel: ClientChannel,
        deployments: list[Deployment],
        ctx: UpstreamContext,
        dialect: Dialect,
        limits: Limits | None = None,
        kind: SessionKind = SessionKind.REALTIME,
        *,
        session_id: str | None = None,
        hooks: SessionHooks | None = None,
        preset: SessionConfig | None = None,
    ) -> None:
        """`preset`: the session config to start from (an ephemeral secret's, a WebRTC call's `session` part, a
        seed-003 `config`)."""
        self._client = channel  # the client's transport (WebSocket, …), already accepted
        self._limits = limits or Limits()  # caps on duration, idleness and backlogs
        self._deployments = deployments  # the alias's deployments, in the order they are tried
        self._ctx = ctx  # how to reach and authenticate to upstreams
        deployment = deployments[0]
        self.state = SessionState(
            dialect=dialect,
            profile=deployment.profile,
            model_resource=model_resource(deployment),
            config=preset or SessionConfig(model=deployment.alias),
            ids=new_ids(),
            created_at=int(time.time()),
            max_conversation_bytes=self._limits.max_conversation_bytes,
            kind=kind,
            session_id=session_id or "",
        )
        self.client, self.upstream = translators_for(self.state)
        self._outbox = ClientOutbox(channel, self._limits, self.state.session_id)  # frames for the client, in order
        self._to_upstream = UpstreamOutbox()  # frames for Gemini, in order
        self._link_task: asyncio.Task[None] | None = None  # the dial (+ read loop without callbacks); None when done
        self._generation = 0  # which ConnectUpstream the current link answers; older links are stale
        self._spare: asyncio.Task[LiveConnection | None] | None = None  # a socket dialled ahead of a switch
        self._upstream_ws: LiveSocket | None = None
        self._closing = False  # a close was queued for the client: stop reading
        self._loop: asyncio.AbstractEventLoop | None = None  # cached in `run`: no get_running_loop() per frame
        self._started = 0.0  # loop time the session started (maximum duration)
        self._last_frame = 0.0  # loop time of the client's last frame (idle timeout)
        self._stall = StallClock(self._limits.upstream_stall_seconds)  # when a silent Gemini is a fault
        self._wakeups: list[asyncio.TimerHandle] = []  # translators' RequestWakeup timers, cancelled at the end
        self._hooks: SessionHooks = hooks or Unwatched()  # spend rows, metrics, log lines
        self._stop_after_turn: SessionEnd | None = None  # end the session at the next turn boundary (budget)
        self._sent_close: tuple[int, str] | None = None  # the close the client got from us (None: it left first)
        self._held: list[str | bytes | dict[str, Any]] | None = None  # frames waiting for the codecs to load
        self._codec_task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._started = self._last_frame = self._loop.time()
        self._hooks.started()
        self._execute(self.client.start())
        try:
            await self._client_reader()
            await self._settle()
        finally:
            await self._shutdown()
            for command in self.upstream.session_ended():  # usage still unrecorded: billed before the summary
                if isinstance(command, RecordUsage):
                    self._hooks.usage(command)
            close = self._sent_close
            self._hooks.ended(close[0] if close else None, close[1] if close else None)

    async def _settle(self) -> None:
        """The client left mid-answer. Gemini's turn goes on, and the usage it sends with the turn's end is the
        only account of what the response cost: read Gemini, for `usage_settle_seconds` at most, until it comes.
        Else a client could leave before every turn's end and never be billed. What the translators send the
        client meanwhile is dropped by the outbox once the socket reports the client gone (a WebRTC call's
        sidebands, still attached, see the response cancelled)."""
        wait, loop = self._limits.usage_settle_seconds, self._loop
        if not wait or loop is None or self._sent_close is not None or self._closing or not self._linked():
            return  # nobody left mid-answer on their own, or there is no Gemini to read
        self._execute(self.client.client_left())
        deadline = loop.time() + wait
        while self.client.awaits_usage() and self._linked() and not self._closing and loop.time() < deadline:
            await asyncio.sleep(SETTLE_POLL_S)

    async def drain(self) -> None:
        """Graceful shutdown: let the open turn finish, then close the client with 1001."""
        while not self._closing and not at_turn_boundary(self.state):
            await asyncio.sleep(0.05)
        self._end(SessionEnd.SHUTDOWN)

    def shut_now(self) -> None:
        """The shutdown grace is over and a turn is still open: the client is told, then closed with 1001."""
        self._end(SessionEnd.SHUTDOWN)

    def check_limits(self, now: float) -> None:
        """Called by the gateway's sweeper: end the session at its maximum duration, when idle or stalled,
        or when its client has left a backlog unread for too long."""
        limits = self._limits
        if self._closing or not self._started:
            return
        if self._outbox.too_slow(now):
            self._hooks.overflow("client")
            self._end(SessionEnd.CLIENT_TOO_SLOW)
        elif now - self._started >= limits.max_session_seconds:
            self._end(SessionEnd.EXPIRED, minutes=round(limits.max_session_seconds / 60))
        elif limits.idle_timeout_seconds and now - self._last_frame >= limits.idle_timeout_seconds:
            self._end(SessionEnd.IDLE)
        elif self._linked() and self._stall.stalled(self._owes_frames(), now):
            seconds = f"{limits.upstream_stall_seconds:g}"
            self._lost(close_codes.STALLED, f"no frame from Gemini for {seconds} s mid-turn", Retry.RESUME)

    def crashed(self) -> None:
        """Our own bug (logged by the caller): the client gets a `server_error` and close 1011, never a
        normal-looking 1000 (issue #16 item 5). Touches no translator state but the event ids."""
        self._end(SessionEnd.INTERNAL)

    def _owes_frames(self) -> bool:
        """A turn is in flight: Gemini owes us its answer."""
        return self.state.response is not None or self.state.turn_trigger is not None

    def _linked(self) -> bool:
        return self._upstream_ws is not None and self.state.phase is UpstreamPhase.READY

    def _end(self, why: SessionEnd, minutes: int = 0) -> None:
        """One error event, then the close (issue #6): used for limits, overflow and shutdown."""
        if not self._closing:
            self._execute(self.client.end_session(why, minutes))

    # ---- commands --------------------------------------------------------------------------------
    def _execute(self, commands: list[Command]) -> None:
        """Carry out in order; never awaits, so nothing can run between two commands of one feed. The client's
        frames go out together at the end of the loop callback (`ClientOutbox.flush`)."""
        for command in commands:
            if isinstance(command, SendClient):
                frame = self._client.encode(command.event)
                if frame is not None and not self._outbox.put(frame):
                    self._hooks.overflow("client")
                    self._end(SessionEnd.CLIENT_TOO_SLOW)  # what it had not read is dropped: bounded memory
                    return
            elif isinstance(command, SendUpstream):
                if self._to_upstream.backlog > self._limits.max_upstream_backlog_bytes:  # any one frame fits
                    self._hooks.overflow("upstream")
                    self._end(SessionEnd.UPSTREAM_STALLED)
                    return
                self._to_upstream.put(orjson.dumps(command.message))
                if not is_media_chunk(command.message):  # Gemini answers it: out now, before the client's frames
                    self._to_upstream.flush()
            elif isinstance(command, ConnectUpstream):
                self._connect(command)
            elif isinstance(command, CloseClient):
                self._closing = True
                self._sent_close = (command.code, command.reason)
                self._outbox.close(command.code, command.reason)
            elif isinstance(command, PrepareUpstream):
                self._hooks.go_away()
                if self._spare is None:
                    self._spare = asyncio.create_task(dial_spare(self._deployments[0], self._ctx))
            elif isinstance(command, RecordUsage):
                self._outbox.flush()  # response.done first: pricing and the spend row need not delay it
                if self._hooks.usage(command) and self._stop_after_turn is None:
                    self._stop_after_turn = SessionEnd.BUDGET_EXCEEDED  # the response is done; no new turn
            elif isinstance(command, Mark):
                self._hooks.mark(command, (self._loop or asyncio.get_running_loop()).time())
            elif isinstance(command, RequestWakeup):
                loop = self._loop or asyncio.get_running_loop()
                self._wakeups.append(loop.call_later(command.delay_s, self._wakeup, command.token))
        if self._stop_after_turn is not None and not self._closing and at_turn_boundary(self.state):
            self._end(self._stop_after_turn)

    def _wakeup(self, token: int) -> None:
        if self._closing:
            return
        try:
            self._execute(self.upstream.wakeup(token))
        except Exception:  # our own bug: this session ends with a server_error, the gateway goes on
            log.exception("wakeup failed for %s", self.state.session_id)
            self.crashed()

    # ---- client side -----------------------------------------------------------------------------
    async def _client_reader(self) -> None:
        """Frames by callback where the channel offers it (read and fed in one go, issue #15), else by `receive`;
        either way until the client has gone."""
        deliver = getattr(self._client, "deliver", None)
        if deliver is not None and deliver(self._take_client_frame):
            try:
                while await self._client.receive() is not None:  # only the disconnect comes this way now
                    pass
            finally:
                deliver(None)
            return
        while not self._closing:
            frame = await self._client.receive()
            if frame is None:
                return
            self._take_client_frame(frame)

    def _take_client_frame(self, frame: str | bytes | dict[str, Any]) -> None:
        if self._closing:
            return  # a close was queued: nothing more is read
        loop = self._loop
        assert loop is not None
        self._last_frame = now = loop.time()
        if self._held is not None:  # behind a frame that waits for the codecs: in order
            self._held.append(frame)
            return
        if isinstance(frame, str) and codecs.frame_wants_codecs(frame):
            self._held = [frame]
            self._codec_task = loop.create_task(self._release_after_codecs())
            return
        try:
            self._on_client_frame(frame, now)
        except Exception:  # our own bug: this session ends with a server_error, the gateway goes on
            log.exception("client frame failed for %s", self.state.session_id)
            self.crashed()

    async def _release_after_codecs(self) -> None:
        """Load G.711's codecs off the loop (gateway/codecs.py), then take the frames held meanwhile, in order."""
        with contextlib.suppress(Exception):  # a broken install fails again, inline, on the frame that needs it
            await codecs.load()
        held, self._held = self._held or [], None
        for frame in held:
            self._take_client_frame(frame)

    def _on_client_frame(self, frame: str | bytes | dict[str, Any], now: float) -> None:
        if self.state.pending_bytes + self._to_upstream.backlog > self._limits.max_upstream_backlog_bytes:
            self._end(SessionEnd.UPSTREAM_STALLED)  # Gemini takes nothing: the setup unanswered, or its socket stuck
            return
        if isinstance(frame, dict):  # made by the transport itself (WebRTC mic audio): already well-formed
            self._execute(self.client.feed(frame))
            self._stall.turn(self._owes_frames(), now)
            return
        try:
            if not isinstance(frame, str):
                raise binary_frame_error()
            event, shape = parse_client_event_tolerant(frame, self.state.dialect)
        except ClientProtocolError as exc:
            self._execute(self.client.error(exc))
            return
        self._execute(self.client.feed(event, shape))
        self._stall.turn(self._owes_frames(), now)

    # ---- upstream side ---------------------------------------------------------------------------
    def _connect(self, command: ConnectUpstream) -> None:
        """A new upstream link replaces any current one; the old one's close is expected, not a fault."""
        self._generation += 1
        if self._link_task is not None:
            self._link_task.cancel()  # still dialling, or reading a socket without callbacks: its task closes it
        if isinstance(self._upstream_ws, UpstreamConnection):
            self._to_upstream.flush()  # what this callback put goes to the link it was made for, before its close
            self._upstream_ws.begin_close()  # followed by callback (LinkFollower): no task of its own to close it
        self._link_task = asyncio.create_task(self._upstream_main(command, self._generation))

    async def _upstream_main(self, command: ConnectUpstream, generation: int) -> None:
        try:
            if command.delay_s:
                await asyncio.sleep(jittered(command.delay_s))  # full jitter: no lock-step redials
            await self._upstream_link(command.setup, generation)
        except asyncio.CancelledError:
            raise
        except UpstreamUnavailable as exc:
            resuming = bool(command.setup["setup"].get("sessionResumption", {}).get("handle"))
            retry = close_codes.redial_policy(exc.detail, self.state.ever_ready, exc.close, resuming)
            self._lost(exc.close, exc.detail, retry)
        except Exception:  # our own bug: never leave the client hanging, never forward the text
            self._pump_failed()
        finally:
            if self._link_task is asyncio.current_task():
                self._link_task = None  # done: an open link is followed by callback, and holds no task (~0.8 KB)

    def _pump_failed(self) -> None:
        """Called in an `except` block for our own bug: logged, and the session's open response closed out."""
        log.exception("upstream pump failed for %s", self.state.session_id)
        try:
            self._fail(close_codes.UNKNOWN, "internal gateway error")  # closes out the open response
        except Exception:  # the state that failed the pump fails its ending too (issue #16 item 6)
            log.exception("closing out the session failed for %s", self.state.session_id)
            self.crashed()

    async def _upstream_link(self, setup: dict[str, Any], generation: int) -> None:
        def setup_for(deployment: Deployment) -> dict[str, Any]:
            return setup_for_profile(self.state, setup, deployment.profile, model_resource(deployment))

        spare, self._spare = self._spare, None
        warm = await spare if spare is not None else None  # a socket opened when goAway came (PrepareUpstream)
        began = asyncio.get_running_loop().time()
        opened = await open_upstream(self._deployments, setup_for, self._ctx, read_first_frame=True, spare=warm)
        if warm is not None and opened.ws is not warm:
            await warm.close()
        resumed = bool(setup["setup"].get("sessionResumption", {}).get("handle"))
        self._hooks.dialled(asyncio.get_running_loop().time() - began, opened.deployment, resumed)
        adopt_deployment(self.state, opened.deployment.profile, model_resource(opened.deployment))
        ws = self._upstream_ws = opened.ws
        loop = self._loop
        assert loop is not None

        def on_message(raw: bytes | str) -> None:
            if generation != self._generation:
                return  # a newer link has taken over; this one is being closed
            now = loop.time()
            self._stall.frame(now)
            self._execute(self.upstream.feed(orjson.loads(raw)))
            self._stall.turn(self._owes_frames(), now)

        self._to_upstream.attach(ws)
        self._stall.frame(loop.time())  # setupComplete, read by open_upstream, starts the clock
        first = opened.first_frame
        if isinstance(ws, UpstreamConnection):  # read by callback: this task ends here, holding nothing
            LinkFollower(ws, on_message, lambda failure: self._link_ended(ws, generation, failure)).start(first)
            return
        failure: Exception | None = None
        try:
            if first is not None:
                on_message(first)
            await read_link(ws, on_message)
        except asyncio.CancelledError:
            if generation == self._generation:
                self._to_upstream.detach()
            else:
                await ws.close()
            raise
        except Exception as exc:
            failure = exc
        self._link_ended(ws, generation, failure)

    def _link_ended(self, ws: LiveSocket, generation: int, failure: Exception | None) -> None:
        """The link closed (`failure` None), or feeding one of its messages raised `failure`."""
        current = generation == self._generation
        if current:
            self._to_upstream.detach()
        try:
            if isinstance(failure, orjson.JSONDecodeError):
                self._fail(close_codes.UNKNOWN, "Gemini sent a frame that is not JSON")
            elif failure is not None:
                raise failure
            elif not self._closing and current:
                reason = ws.close_reason or ""
                close = close_codes.for_upstream_close(ws.close_code, reason)
                self._lost(close, reason, close_codes.should_retry(ws.close_code, reason))
        except Exception:  # our own bug: never leave the client hanging, never forward the text
            self._pump_failed()

    def _lost(self, close: close_codes.ClientClose, reason: str, retry: Retry) -> None:
        where, why = self.state.session_id, close_codes.redact(reason)
        log.info("upstream lost for %s: %s %s (retry: %s)", where, close.error_code, why, retry.value)
        message = close_codes.message(close, reason)
        unsent = self._take_unsent()
        self._execute(
            self.upstream.upstream_lost(close.error_type, close.error_code, message, close.close_code, retry, unsent)
        )

    def _take_unsent(self) -> list[dict[str, Any]]:
        """Frames queued for the lost link and never written: handed back, so they go once, on the next."""
        return [orjson.loads(frame) for frame in self._to_upstream.take_unsent()]

    def _fail(self, close: close_codes.ClientClose, reason: str) -> None:
        where, why = self.state.session_id, close_codes.redact(reason)
        log.info("upstream ended for %s: %s %s", where, close.error_code, why)
        message = close_codes.message(close, reason)
        self._execute(self.upstream.upstream_failed(close.error_type, close.error_code, message, close.close_code))

    async def _shutdown(self) -> None:
        self._closing = True
        if self._codec_task is not None:
            self._codec_task.cancel()  # the import itself finishes on its thread; held frames are dropped
        for timer in self._wakeups:
            timer.cancel()
        if self._spare is not None:  # a socket dialled for a switch that never came
            spare, self._spare = self._spare, None
            with contextlib.suppress(Exception):
                warm = await asyncio.wait_for(spare, timeout=2)
                if warm is not None:
                    await warm.close()
        if self._upstream_ws is not None:
            self._to_upstream.flush()
            with contextlib.suppress(Exception):
                await self._upstream_ws.close()
        if self._link_task is not None:
            self._link_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._link_task
        await self._outbox.finish()
