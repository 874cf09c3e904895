"""Issue #16 items 4-8 through real sockets: a failing limit check ends one session only, our own bugs close
1011 with a server_error, a large item reaches a prompt client, a silent client is dropped."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openai import AsyncOpenAI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from gateway.session import Session
from tests.faults.support import user_item
from tests.support.live import MASTER_KEY, GatewayThread, LiveGateway

AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}


class Live:
    """A gateway of its own with these limits, and its open sessions (to inject our own bugs into)."""

    def __init__(self, tmp_path: Path, **limits: object) -> None:
        self.thread = GatewayThread(tmp_path, general={"limits": limits} if limits else None)
        self.gateway = self.thread.start()
        self.url = f"{self.gateway.ws_base}/realtime?model=gemini-live"

    @property
    def sessions(self) -> set[Session]:
        return set(self.thread._server._app.state.live_sessions)

    async def open(self) -> tuple[ClientConnection, Session]:
        """A raw client, and the gateway's Session object for it."""
        before = self.sessions
        ws = await connect(self.url, additional_headers=AUTH, max_size=None)
        assert json.loads(await ws.recv())["type"] == "session.created"
        (session,) = self.sessions - before
        return ws, session


@pytest.fixture
def live(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Live]:
    marker = request.node.get_closest_marker("limits")
    rig = Live(tmp_path, **(marker.kwargs if marker else {}))
    yield rig
    rig.thread.stop()


async def until_closed(ws: ClientConnection, timeout: float = 10) -> list[dict[str, Any]]:
    seen = []
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(timeout):
            while True:
                seen.append(json.loads(await ws.recv()))
    return seen


def boom(*args: object, **kwargs: object) -> Any:
    raise RuntimeError("a bug of ours")


@pytest.mark.limits(idle_timeout_seconds=1.0)
async def test_a_failing_limit_check_ends_that_session_only(live: Live) -> None:
    """Item 4: one session's check_limits raises; it is ended (server_error, 1011) and the sweeper goes on
    ending the other session for idleness."""
    broken_ws, broken = await live.open()
    idle_ws, _ = await live.open()
    broken.check_limits = boom  # type: ignore[method-assign]
    broken_seen, idle_seen = await asyncio.gather(until_closed(broken_ws), until_closed(idle_ws))
    assert [e["error"]["code"] for e in broken_seen if e["type"] == "error"] == ["server_error"]
    assert broken_ws.close_code == 1011
    assert [e["error"]["code"] for e in idle_seen if e["type"] == "error"] == ["idle_timeout"]
    assert idle_ws.close_code == 1000


async def test_our_bug_on_a_client_frame_closes_1011_with_a_server_error(live: Live) -> None:
    """Item 5: an exception while handling a client event is an `error` (server_error) and close 1011, never
    a bare 1000 that looks like a normal end."""
    ws, session = await live.open()
    session.client.feed = boom  # type: ignore[method-assign]
    await ws.send(json.dumps({"type": "input_audio_buffer.clear", "event_id": "c1"}))
    seen = await until_closed(ws)
    (error,) = [e["error"] for e in seen if e["type"] == "error"]
    assert (error["type"], error["code"]) == ("server_error", "server_error")
    assert ws.close_code == 1011 and ws.close_reason == "server_error.server_error"


async def test_our_bug_in_the_upstream_pump_and_its_ending_still_closes_1011(live: Live) -> None:
    """Item 6: the upstream pump fails, and closing out the open response fails too; the client still gets a
    server_error and 1011 instead of waiting forever."""
    ws, session = await live.open()
    session.upstream.feed = boom  # type: ignore[method-assign]
    session.upstream.upstream_failed = boom  # type: ignore[method-assign]
    await ws.send(json.dumps({"type": "conversation.item.create", "item": user_item("hi")}))
    await ws.send(json.dumps({"type": "response.create"}))
    seen = await until_closed(ws)
    assert [e["error"]["code"] for e in seen if e["type"] == "error"] == ["server_error"]
    assert ws.close_code == 1011


async def test_audio_output_format_null_is_refused_and_audio_turns_go_on(gateway: LiveGateway) -> None:
    """Item 6: `audio.output.format: null` gets an error naming the field (the session is unchanged) and the
    next audio response streams and completes."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    async with client.realtime.connect(model="gemini-live") as connection:
        await connection.send(
            {"type": "session.update", "event_id": "c1",
             "session": {"type": "realtime", "audio": {"output": {"format": None}}}}
        )
        await connection.conversation.item.create(item=user_item("Hello there"))
        await connection.response.create()
        seen = []
        async with asyncio.timeout(15):
            async for event in connection:
                seen.append(event.to_dict())
                if event.type == "response.done":
                    break
    (error,) = [e["error"] for e in seen if e["type"] == "error"]
    assert (error["code"], error["param"], error["event_id"]) == ("invalid_type", "session.audio.output.format", "c1")
    assert seen[-1]["response"]["status"] == "completed"
    assert any(e["type"] == "response.output_audio.delta" for e in seen)


async def test_a_large_item_reaches_a_prompt_client(gateway: LiveGateway) -> None:
    """Item 7: a 12 MiB item (its two echoes are 24 MiB, over the 8 MiB backlog cap for a moment) reaches a
    client that reads promptly, and the turn it is context for completes: no client_too_slow."""
    text = "x" * (12 * 1024 * 1024)
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    options: Any = {"max_size": None}
    async with client.realtime.connect(model="gemini-live", websocket_connection_options=options) as connection:
        await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        await connection.conversation.item.create(item=user_item(text))
        await connection.conversation.item.create(item=user_item("Hello there"))  # what the model answers
        await connection.response.create()
        seen = []
        async with asyncio.timeout(60):
            async for event in connection:
                seen.append(event.type if event.type != "error" else event.to_dict())
                if event.type == "response.done":
                    break
    assert "conversation.item.added" in seen and "conversation.item.done" in seen
    assert [e for e in seen if isinstance(e, dict)] == []  # no error
    assert seen[-1] == "response.done"


@pytest.mark.limits(
    max_client_backlog_bytes=64 * 1024, slow_client_seconds=0.5, max_sessions_per_key=1, upstream_stall_seconds=600
)
async def test_a_silent_client_is_dropped_and_frees_its_slot(live: Live) -> None:
    """Item 8: a client asks for a long spoken answer, then neither reads nor sends. The gateway's writer
    blocks on the full socket, the backlog overflows, and the close cannot be written either: the gateway
    drops the connection, so the session, its key slot and its Gemini socket are freed."""
    ws, session = await live.open()
    await ws.send(json.dumps({"type": "conversation.item.create", "item": user_item("w " * 2000)}))
    await ws.send(json.dumps({"type": "response.create"}))  # ~25 MB of audio deltas follow
    ws.transport.pause_reading()  # from here on the client takes nothing, and says nothing
    started = time.monotonic()
    while session in live.sessions and time.monotonic() - started < 15:
        await asyncio.sleep(0.1)
    assert session not in live.sessions, "the silent client's session is still held"
    async with connect(live.url, additional_headers=AUTH) as second:  # the per-key slot is free again
        assert json.loads(await second.recv())["type"] == "session.created"
    ws.transport.resume_reading()  # what reached the client's socket, then no close frame: it was dropped
    await until_closed(ws, timeout=30)
    assert ws.protocol.close_rcvd is None and ws.close_code == 1006


async def test_our_bug_on_a_later_upstream_message_still_ends_the_turn(live: Live) -> None:
    """The upstream link is followed by callback once open (gateway/upstream/link.py `LinkFollower`): an
    exception while feeding a mid-turn message still closes out the open response with an error and ends the
    session, instead of leaving the client waiting."""
    ws, session = await live.open()
    await ws.send(json.dumps({"type": "conversation.item.create", "item": user_item("hi")}))
    await ws.send(json.dumps({"type": "response.create"}))
    async with asyncio.timeout(10):
        while json.loads(await ws.recv())["type"] != "response.done":  # the link is open and followed
            pass
    session.upstream.feed = boom  # type: ignore[method-assign]
    await ws.send(json.dumps({"type": "conversation.item.create", "item": user_item("again")}))
    await ws.send(json.dumps({"type": "response.create"}))
    seen = await until_closed(ws)
    (error,) = [e["error"] for e in seen if e["type"] == "error"]
    assert error["code"] == "upstream_error" and error["message"].endswith("internal gateway error")
    assert "response.done" in [e["type"] for e in seen]  # the open response is closed out first
    assert ws.close_code == 1011 and ws.close_reason == "server_error.upstream_error"
