"""Issue #16 items 1-3 through openai-python and scripted emulators: model latency is no stall, a Gemini that
cuts every turn ends the session after three tries, and input queued behind an unanswered setup is capped."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from openai import AsyncOpenAI
from websockets.exceptions import ConnectionClosed

from gateway.emulator.script import Script
from gateway.emulator.server import EmulatorServer
from tests.faults.support import AUDIO_MODEL, EmulatorFarm, alias_for, connections, user_item
from tests.support.live import MASTER_KEY, GatewayThread, LiveGateway
from translators.resume import MAX_RESUME_ATTEMPTS

STALL_S = 3.0  # upstream_stall_seconds of this module's gateway: over 2 s above the slow model's latency, so a
# busy machine's delays never add up to a stall
LATENCY_S = 0.8  # the slow model's time to first frame: well under the stall limit, but over a sweeper tick
BACKLOG = 64 * 1024  # max_upstream_backlog_bytes of this module's gateway


@dataclass
class Rig:
    gateway: LiveGateway
    servers: dict[str, EmulatorServer]


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    farm = EmulatorFarm().start()
    servers = {
        "slow": farm.add(Script(reply_latency_s=LATENCY_S)),
        "always-cut": farm.add(Script(close_at="mid_text")),  # every connection, every turn
        "mute": farm.add(Script(stall_at="before_setup_complete")),  # never answers a setup
    }
    models = [alias_for(server, alias, AUDIO_MODEL) for alias, server in servers.items()]
    limits = {"limits": {"upstream_stall_seconds": STALL_S, "max_upstream_backlog_bytes": BACKLOG}}
    thread = GatewayThread(tmp_path_factory.mktemp("robust-upstream"), models, general=limits)
    yield Rig(thread.start(), servers)
    thread.stop()
    farm.stop()


async def _turn(connection: Any, text: str) -> list[dict[str, Any]]:
    await connection.conversation.item.create(item=user_item(text))
    await connection.response.create()
    seen = []
    async with asyncio.timeout(15):
        async for event in connection:
            seen.append(event.to_dict())
            if event.type == "response.done":
                return seen


async def test_model_latency_is_not_a_stall(rig: Rig) -> None:
    """Item 1: a first turn whose answer takes 0.8 s, and a turn after 3.5 s of quiet (longer than the 3 s stall
    limit since Gemini's last frame), both complete on the first upstream connection."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=rig.gateway.http_base)
    async with client.realtime.connect(model="slow") as connection:
        await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        first = await _turn(connection, "Hello there")
        await asyncio.sleep(STALL_S + 0.5)
        second = await _turn(connection, "Still there")
    for seen, text in ((first, "Hello there"), (second, "Still there")):
        done = seen[-1]["response"]
        assert done["status"] == "completed", done["status_details"]
        assert done["output"][0]["content"][0]["text"] == f"You said: {text}"
        assert not [e for e in seen if e["type"] == "error"]
    assert len(connections(rig.servers["slow"])) == 1, "a stall was declared: the gateway dialled again"


async def test_a_gemini_that_cuts_every_turn_ends_the_session_after_three_tries(rig: Rig) -> None:
    """Item 2: Gemini fails every turn mid-reply; the gateway resumes three times for the turn, then sends one
    final error and closes (not thousands of handshakes)."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=rig.gateway.http_base)
    seen: list[dict[str, Any]] = []
    started = time.monotonic()
    with pytest.raises(ConnectionClosed):
        async with client.realtime.connect(model="always-cut") as connection:
            await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
            await connection.conversation.item.create(item=user_item("Hello there"))
            await connection.response.create()
            async with asyncio.timeout(15):
                while True:
                    seen.append((await connection.recv()).to_dict())
    close = connection._connection  # the SDK's websockets connection: how the gateway closed it
    errors = [e["error"] for e in seen if e["type"] == "error"]
    assert [e["code"] for e in errors] == ["upstream_error"] and close.close_code == 1011
    assert len(connections(rig.servers["always-cut"])) == MAX_RESUME_ATTEMPTS + 1
    failed = [e for e in seen if e["type"] == "response.done" and e["response"]["status"] == "failed"]
    assert 1 <= len(failed) <= MAX_RESUME_ATTEMPTS + 1
    assert time.monotonic() - started < 10


async def test_input_queued_behind_an_unanswered_setup_is_capped(rig: Rig) -> None:
    """Item 3: while Gemini leaves the setup unanswered, what the client queues counts against
    max_upstream_backlog_bytes: past it the session ends (upstream_stalled, 1011), long before the setup
    timeout, instead of growing without bound."""
    chunk = base64.b64encode(bytes(16_000)).decode()  # ~21 KB of base64 per append
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=rig.gateway.http_base)
    seen: list[dict[str, Any]] = []
    started = time.monotonic()
    with pytest.raises(ConnectionClosed):
        async with client.realtime.connect(model="mute") as connection:
            for _ in range(2 * BACKLOG // len(chunk)):
                await connection.input_audio_buffer.append(audio=chunk)
            async with asyncio.timeout(8):
                while True:
                    seen.append((await connection.recv()).to_dict())
    errors = [e["error"] for e in seen if e["type"] == "error"]
    assert [e["code"] for e in errors] == ["upstream_stalled"]
    assert connection._connection.close_code == 1011
    assert time.monotonic() - started < 8  # the setup timeout (10 s) did not end it
