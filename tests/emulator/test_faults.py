"""Scripted faults, goAway and resumption over real sockets (GEMINI_LIVE.md §5, §5.1, §9.9)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from gateway.emulator import FAULT_POINTS, EmulatorServer, Script
from tests.support.waits import eventually

from .helpers import (
    TIMEOUT,
    dev_setup,
    dial,
    expect_close,
    open_session,
    recv,
    recv_turn,
    recv_until,
    send,
    transcript_of,
)

PING = {"functionDeclarations": [{"name": "ping"}]}
STALL_S = 0.2
Frame = dict[str, Any]


def scripted(**knobs: Any) -> Script:
    return Script(**knobs)


def _content(key: str) -> Callable[[Frame], bool]:
    return lambda frame: key in frame.get("serverContent", {})


def _handle(frame: Frame) -> bool:
    return bool(frame.get("sessionResumptionUpdate", {}).get("resumable"))


# point → (setup fields, message that leads there, last frame before the fault, message that makes more output)
POINTS: dict[str, tuple[dict[str, Any], Frame, Callable[[Frame], bool], Frame | None]] = {
    "mid_audio": ({}, {"realtimeInput": {"text": "a b"}}, _content("modelTurn"), None),
    "mid_text": (
        {"outputAudioTranscription": {}},
        {"realtimeInput": {"text": "a b"}},
        _content("outputTranscription"),
        None,
    ),
    "mid_tool_call": (
        {"tools": [PING]},
        {"realtimeInput": {"text": "ping"}},
        lambda frame: "toolCall" in frame,
        {"toolResponse": {"functionResponses": [{"id": "fc_1", "response": {}}]}},
    ),
    "between_turns": (
        {"sessionResumption": {}},
        {"realtimeInput": {"text": "a b"}},
        _handle,
        {"realtimeInput": {"text": "again"}},
    ),
}


async def closed_after(ws: ClientConnection) -> tuple[list[Frame], ConnectionClosed]:
    """Frames received until the connection ends, and how it ended."""
    frames: list[Frame] = []
    try:
        while True:
            frames.append(await recv(ws))
    except ConnectionClosed as exc:
        return frames, exc


async def reach(server: EmulatorServer, point: str) -> tuple[ClientConnection, list[Frame]]:
    """Open a session and drive it to `point`; the frames up to the point."""
    fields, message, last, _ = POINTS[point]
    ws, _ = await open_session(server, dev_setup(**fields))
    await send(ws, message)
    return ws, await recv_until(ws, last)


@pytest.mark.parametrize("point", list(POINTS))
async def test_close_at(point: str) -> None:
    """close_at: the chosen code and reason right after the point; nothing else is sent."""
    script = scripted(close_at=point, close_code=1011, close_reason="Internal error.")
    async with EmulatorServer(script=script) as server:
        ws, _ = await reach(server, point)
        frames, closed = await closed_after(ws)
        assert frames == [] and closed.rcvd is not None
        assert (closed.rcvd.code, closed.rcvd.reason) == (1011, "Internal error.")
        record = server.connections[-1]
        assert record.faults == [f"close@{point}"] and record.closed_by_server and record.close_code == 1011


@pytest.mark.parametrize("point", list(POINTS))
async def test_drop_at(point: str) -> None:
    """drop_at: the TCP connection is aborted right after the point, without a close frame."""
    async with EmulatorServer(script=scripted(drop_at=point)) as server:
        ws, _ = await reach(server, point)
        frames, closed = await closed_after(ws)
        assert frames == [] and closed.rcvd is None
        record = server.connections[-1]
        await eventually(lambda: record.close_code is not None, "the server recorded the drop")
        assert record.dropped and record.close_code == 1006 and record.faults == [f"drop@{point}"]


@pytest.mark.parametrize("point", list(POINTS))
async def test_stall_at(point: str) -> None:
    """stall_at: nothing is sent for stall_s after the point; then the session goes on.

    The time is measured from before the message that leads to the point, so the whole stall lies inside it
    however late the client reads: a lower bound that load cannot break (from the moment the client *read* the
    point, a late read shortened it)."""
    async with EmulatorServer(script=scripted(stall_at=point, stall_s=STALL_S)) as server:
        started = time.monotonic()
        ws, _ = await reach(server, point)
        follow_up = POINTS[point][3]
        if follow_up is not None:
            await send(ws, follow_up)
        frames = await recv_turn(ws)
        assert time.monotonic() - started >= STALL_S
        assert frames[-1]["serverContent"]["turnComplete"]
        assert server.connections[-1].faults == [f"stall@{point}"]
        await ws.close()


@pytest.mark.parametrize("kind", ["close", "drop", "stall"])
async def test_before_setup_complete(kind: str) -> None:
    """The fault comes instead of setupComplete (close, drop) or delays it (stall)."""
    script = scripted(**{f"{kind}_at": "before_setup_complete"}, stall_s=STALL_S, close_code=1011)
    async with EmulatorServer(script=script) as server:
        ws = await dial(server)
        started = time.monotonic()
        await send(ws, dev_setup())
        if kind == "stall":
            assert "setupComplete" in await recv(ws)
            assert time.monotonic() - started >= STALL_S * 0.9
            await ws.close()
            return
        frames, closed = await closed_after(ws)
        assert frames == []
        assert (closed.rcvd is None) if kind == "drop" else (closed.rcvd is not None and closed.rcvd.code == 1011)


def test_every_point_is_covered() -> None:
    assert set(POINTS) | {"before_setup_complete"} == set(FAULT_POINTS)


async def test_only_the_first_connections_fault() -> None:
    """fault_connections=1: the first connection fails, the next one works; occurrence picks the Nth time."""
    script = Script(close_at="between_turns", fault_occurrence=2, fault_connections=1)
    async with EmulatorServer(script=script) as server:
        ws, _ = await open_session(server, dev_setup())
        await send(ws, {"realtimeInput": {"text": "one"}})
        await recv_turn(ws)
        await send(ws, {"realtimeInput": {"text": "two"}})
        await recv_turn(ws)
        assert (await expect_close(ws))[0] == 1011
        ws, _ = await open_session(server, dev_setup())
        for text in ("one", "two", "three"):
            await send(ws, {"realtimeInput": {"text": text}})
            await recv_turn(ws)
        await ws.close()
        assert [record.faults for record in server.connections] == [["close@between_turns"], []]


async def test_go_away_after_seconds_then_close() -> None:
    """goAway{timeLeft} go_away_after_s after setupComplete; 1008 when the time is up (§5, §5.1)."""
    script = Script(go_away_after_s=0.05, go_away_time_left_s=0.15)
    async with EmulatorServer(script=script) as server:
        started = time.monotonic()  # before the setup: goAway and the close both come after it (a lower bound)
        ws, _ = await open_session(server, dev_setup())
        assert await recv(ws) == {"goAway": {"timeLeft": "0.15s"}}
        code, reason = await expect_close(ws)
        assert time.monotonic() - started >= 0.05 + 0.15
        assert code == 1008 and reason.startswith("Connection aborted because the client failed to close")
        assert server.connections[-1].go_aways == 1


async def test_client_closing_after_go_away_wins() -> None:
    """A client that leaves within timeLeft closes normally; the server's deadline no longer applies."""
    async with EmulatorServer(script=Script(go_away_after_s=0.0, go_away_time_left_s=0.2)) as server:
        ws, _ = await open_session(server, dev_setup())
        assert "goAway" in await recv(ws)
        left = asyncio.get_running_loop().time() + 0.2  # when timeLeft runs out (it began before the goAway)
        await ws.close()
        record = server.connections[-1]
        await eventually(lambda: record.close_code is not None, "the server recorded the close")
        await asyncio.sleep(max(0.0, left + 0.1 - asyncio.get_running_loop().time()))  # past timeLeft
        assert (record.close_code, record.closed_by_server) == (1000, False)


async def test_go_away_then_resume_with_history() -> None:
    """goAway after a turn; a new connection resumes with the handle and the conversation goes on."""
    script = Script(go_away_after_turns=1, go_away_time_left_s=5, fault_connections=1)
    async with EmulatorServer(script=script) as server:
        system = {"parts": [{"text": "be brief"}]}
        ws, _ = await open_session(server, dev_setup(sessionResumption={}, systemInstruction=system))
        await send(ws, {"realtimeInput": {"text": "remember seven"}})
        first = await recv_turn(ws)
        assert first[-1]["usageMetadata"]["promptTokenCount"] == 2 + 2
        handle = (await recv(ws))["sessionResumptionUpdate"]["newHandle"]
        assert await recv(ws) == {"goAway": {"timeLeft": "5s"}}
        await ws.close()
        setup = dev_setup(sessionResumption={"handle": handle}, systemInstruction=system, outputAudioTranscription={})
        ws, _ = await open_session(server, setup)
        await send(ws, {"realtimeInput": {"text": "and?"}})
        frames = await recv_turn(ws)
        # system 2 + "remember seven" 2 + "You said: remember seven" 4 + "and?" 1
        assert frames[-1]["usageMetadata"]["promptTokenCount"] == 9
        assert transcript_of(frames) == "You said: and?"
        assert (await recv(ws))["sessionResumptionUpdate"]["resumable"] is True
        await ws.close()
        first_record, second_record = server.connections
        assert first_record.go_aways == 1 and second_record.go_aways == 0, "fault_connections=1"
        assert second_record.resumed_handle == handle
        session = second_record.session
        assert session is not None and [t.text() for t in session.history][:2] == [
            "remember seven",
            "You said: remember seven",
        ]


async def test_resume_after_a_drop_mid_reply() -> None:
    """A drop mid-reply: the resumed session has the turns completed before it, not the cut one (§9.9)."""
    script = Script(drop_at="mid_audio", fault_occurrence=2, fault_connections=1)
    async with EmulatorServer(script=script) as server:
        ws, _ = await open_session(server, dev_setup(sessionResumption={}))
        await send(ws, {"realtimeInput": {"text": "one"}})
        await recv_turn(ws)
        handle = (await recv(ws))["sessionResumptionUpdate"]["newHandle"]
        await send(ws, {"realtimeInput": {"text": "two words"}})
        _, closed = await closed_after(ws)
        assert closed.rcvd is None
        ws, _ = await open_session(server, dev_setup(sessionResumption={"handle": handle}))
        await send(ws, {"realtimeInput": {"text": "three"}})
        frames = await recv_turn(ws)
        assert frames[-1]["usageMetadata"]["promptTokenCount"] == 1 + 3 + 1  # "one", "You said: one", "three"
        await ws.close()


async def test_unknown_handle_is_1008(emulator: EmulatorServer) -> None:
    ws = await dial(emulator)
    await send(ws, dev_setup(sessionResumption={"handle": "emulator-nope"}))
    assert await asyncio.wait_for(expect_close(ws), TIMEOUT) == (1008, "BidiGenerateContent session not found")
