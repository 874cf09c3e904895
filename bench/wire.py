"""The two raw clients: OpenAI Realtime GA through the gateway, and Gemini Live straight to the emulator.

Both ask for the same reply from the same emulated model and stop their clock on the frame that ends
the turn, found by a byte search (neither side pays for JSON decoding the other does not do). The
direct client dials with the gateway's own `dial()` and sends the setup the gateway would send.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Self

import orjson
from websockets.asyncio.client import ClientConnection, connect

from bench.procs import ALIAS, MASTER_KEY, BenchError
from gateway.config import load_config
from gateway.upstream.connection import UpstreamConnection
from gateway.upstream.dial import Endpoint, dial, endpoint_for
from schemas.openai import Dialect
from schemas.profiles import UserText
from translators.session_config import SessionConfig, build_setup

USER_TEXT = "What is the capital of France?"
SESSION = {"type": "realtime", "output_modalities": ["text"], "instructions": "Be brief."}
TURN_TIMEOUT = 10.0  # seconds for one turn, either path
MAX_FRAMES = 200  # frames read for one turn before giving up

_ITEM = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": USER_TEXT}]}
ITEM_CREATE = orjson.dumps({"type": "conversation.item.create", "item": _ITEM}).decode()
RESPONSE_CREATE = orjson.dumps({"type": "response.create"}).decode()
_DONE, _ERROR = b'"type":"response.done"', b'"type":"error"'
_TURN_COMPLETE, _RESUMPTION = b'"turnComplete":true', b'"sessionResumptionUpdate"'


Socket = ClientConnection | UpstreamConnection  # websockets' client (to the gateway), or what `dial` opens


async def _frames_until(ws: Socket, marker: bytes, error: bytes | None = None) -> bytes:
    """Read frames (undecoded) until one contains `marker`; bounded in count and time."""
    async with asyncio.timeout(TURN_TIMEOUT):
        for _ in range(MAX_FRAMES):
            raw = await ws.recv(decode=False)
            if not isinstance(raw, bytes):  # decode=False: both sockets hand over the frame's bytes
                raise BenchError(f"a decoded frame: {raw[:100]!r}")
            if marker in raw:
                return raw
            if error is not None and error in raw:
                raise BenchError(f"error event: {raw[:300]!r}")
    raise BenchError(f"no {marker.decode()} within {MAX_FRAMES} frames")


class GatewaySession:
    """One GA session: `session.created`, a text `session.update`, then text turns."""

    # The byte markers of the frames waited for, as this server writes them; UPDATED None: no answer to wait for.
    CREATED: bytes = b'"type":"session.created"'
    UPDATED: bytes | None = b'"type":"session.updated"'
    DONE, ERROR = _DONE, _ERROR

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, url: str, key: str = MASTER_KEY, session: dict[str, Any] | None = None, *,
                   compression: bool = True) -> Self:
        """Connect with `key` and send `session.update` with `session` (default: the text turns' SESSION).
        `compression`: offer permessage-deflate, as SDKs and browsers do; False: offer none."""
        ws = await connect(url, additional_headers={"Authorization": f"Bearer {key}"}, max_size=None,
                           compression="deflate" if compression else None)
        try:
            await _frames_until(ws, cls.CREATED, cls.ERROR)
            await ws.send(orjson.dumps({"type": "session.update", "session": session or SESSION}).decode())
            if cls.UPDATED is not None:
                await _frames_until(ws, cls.UPDATED, cls.ERROR)
        except BaseException:
            await ws.close()
            raise
        return cls(ws)

    async def turn(self) -> int:
        """Nanoseconds from sending the item to receiving `response.done`."""
        start = time.perf_counter_ns()
        await self.ws.send(ITEM_CREATE)
        await self.ws.send(RESPONSE_CREATE)
        await _frames_until(self.ws, self.DONE, self.ERROR)
        return time.perf_counter_ns() - start

    async def send(self, frame: str) -> None:
        await self.ws.send(frame)

    async def close(self) -> None:
        await self.ws.close()


class LiteLLMSession(GatewaySession):
    """The same session and turns through LiteLLM's proxy (bench/peers/litellm.txt). It writes JSON with a space
    after each colon, and answers `session.update` with no `session.updated` (its Gemini setup is sent at
    connect), so the update is sent without waiting. It does not honour `output_modalities: ["text"]` with a
    native-audio model: its turns carry the model's audio deltas, as its users get them."""

    CREATED, UPDATED = b'"type": "session.created"', None
    DONE, ERROR = b'"type": "response.done"', b'"type": "error"'


class DirectSession:
    """One Gemini Live session: the gateway's `setup`, then the gateway's turn message, as a text frame."""

    def __init__(self, ws: Socket, plan: DirectPlan) -> None:
        self.ws = ws
        self.plan = plan

    @classmethod
    async def open(cls, plan: DirectPlan, url: str | None = None) -> DirectSession:
        """Dial `plan.endpoint` (or `url`, e.g. a relay in front of it) and complete the setup."""
        endpoint = plan.endpoint if url is None else Endpoint(url, plan.endpoint.model_resource)
        return await cls.start(await dial(endpoint), plan)

    @classmethod
    async def start(cls, ws: Socket, plan: DirectPlan) -> DirectSession:
        """Send the setup on an open socket and wait for `setupComplete`."""
        try:
            await ws.send(plan.setup, text=True)
            await _frames_until(ws, b'"setupComplete"')
        except BaseException:
            await ws.close()
            raise
        return cls(ws, plan)

    async def turn(self) -> int:
        """Nanoseconds from sending the turn to receiving `turnComplete` (the resumption update is read after)."""
        start = time.perf_counter_ns()
        await self.ws.send(self.plan.trigger, text=True)
        await _frames_until(self.ws, _TURN_COMPLETE)
        elapsed = time.perf_counter_ns() - start
        if self.plan.resumable:
            await _frames_until(self.ws, _RESUMPTION)
        return elapsed

    async def send(self, frame: str) -> None:
        await self.ws.send(frame)

    async def close(self) -> None:
        await self.ws.close()


class DirectPlan:
    """Where the gateway dials for the bench alias and exactly what it sends there for a text turn."""

    def __init__(self, config_path: str, alias: str = ALIAS) -> None:
        deployment = load_config(config_path, {}).deployments[alias][0]
        self.endpoint = endpoint_for(deployment)
        self.profile = deployment.profile
        config = SessionConfig(model=alias).apply(SESSION, Dialect.GA)
        setup: dict[str, Any] = build_setup(config, deployment.profile, self.endpoint.model_resource)
        self.setup = orjson.dumps(setup)
        self.resumable = "sessionResumption" in setup["setup"]
        if deployment.profile.user_text is UserText.CLIENT_CONTENT:
            turn = {"role": "user", "parts": [{"text": USER_TEXT}]}
            self.trigger = orjson.dumps({"clientContent": {"turns": [turn], "turnComplete": True}})
        else:
            self.trigger = orjson.dumps({"realtimeInput": {"text": USER_TEXT}})


def gateway_url(port: int, alias: str = ALIAS) -> str:
    return f"ws://127.0.0.1:{port}/v1/realtime?model={alias}"
