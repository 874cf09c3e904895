"""Issue #16 item 9: native passthrough sessions (/v1/vertex-ai/live) keep the same idle and duration limits
as /v1/realtime and take part in the graceful drain (the end of the current answer, then 1001), with raw
Gemini frames from a plain websockets client through the gateway to the emulator."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import respx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from gateway.emulator.script import Script
from gateway.transports.relay_watch import RelayWatch
from schemas.limits import Limits
from tests.support.live import MASTER_KEY, EmulatorThread, GatewayThread
from tests.upstream.support import TOKEN_URI, VERTEX_MODEL, http_base, service_account, token_response
from translators.errors import SessionEnd

AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}
TOKEN = "ya29.robust-passthrough"
SETUP = {"setup": {"model": VERTEX_MODEL, "generationConfig": {"responseModalities": ["AUDIO"]}}}
PLACEHOLDER = {"model_name": "unused", "litellm_params": {"model": "emulator/gemini-3.1-flash-live-preview"}}


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    thread = EmulatorThread(Script(reply_chunk_interval_s=0.15))  # a reply takes about a second
    yield http_base(thread.start())
    thread.stop()


@pytest.fixture
def token() -> Iterator[None]:
    with respx.mock(assert_all_called=False) as router:
        router.post(TOKEN_URI).mock(return_value=token_response(TOKEN))
        yield


def gateway(tmp_path: Path, emulator: str, **limits: object) -> GatewayThread:
    settings = {"api_base": emulator, "vertex_credentials": json.dumps(service_account()), "vertex_project": "p"}
    general = {"vertex_passthrough": settings, "limits": limits}
    return GatewayThread(tmp_path, [PLACEHOLDER], general=general)


async def frames_until_closed(ws: Any, timeout: float = 10) -> list[Any]:
    seen = []
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(timeout):
            while True:
                seen.append(json.loads(await ws.recv()))
    return seen


@pytest.mark.parametrize(
    ("limits", "code", "reason"),
    [
        ({"idle_timeout_seconds": 0.5}, 1000, "The session was idle for too long and has been closed."),
        ({"max_session_seconds": 0.6}, 1000, "Your session hit the maximum duration of 0 minutes."),
    ],
)
async def test_passthrough_sessions_end_at_the_limits(
    tmp_path: Path, emulator: str, token: None, limits: dict[str, float], code: int, reason: str
) -> None:
    """An idle or too-long passthrough session is closed with the reason, like a /v1/realtime one."""
    thread = gateway(tmp_path, emulator, **limits)
    live = thread.start()
    try:
        async with connect(f"{live.ws_base.removesuffix('/v1')}/v1/vertex-ai/live", additional_headers=AUTH) as ws:
            await ws.send(json.dumps(SETUP))
            seen = await frames_until_closed(ws)
        assert "setupComplete" in seen[0]
        assert (ws.close_code, ws.close_reason) == (code, reason)
    finally:
        thread.stop()


async def test_passthrough_drains_at_the_end_of_the_answer(tmp_path: Path, emulator: str, token: None) -> None:
    """On shutdown, a passthrough session mid-answer gets the rest of it, then 1001 (not uvicorn's bare 1012)."""
    thread = gateway(tmp_path, emulator, shutdown_grace_seconds=8)
    live = thread.start()
    try:
        async with connect(f"{live.ws_base.removesuffix('/v1')}/v1/vertex-ai/live", additional_headers=AUTH) as ws:
            await ws.send(json.dumps(SETUP))
            assert "setupComplete" in json.loads(await ws.recv())
            question = {"clientContent": {"turns": [{"role": "user", "parts": [{"text": "a b c d"}]}],
                                          "turnComplete": True}}
            await ws.send(json.dumps(question))
            first = json.loads(await ws.recv())
            assert "serverContent" in first or "sessionResumptionUpdate" in first
            thread.shutdown()
            seen = [first, *await frames_until_closed(ws)]
        contents = [m["serverContent"] for m in seen if "serverContent" in m]
        assert contents[-1].get("turnComplete") is True, "the answer was cut"
        assert ws.close_code == 1001 and "shutting down" in (ws.close_reason or "")
    finally:
        thread.stop()


async def test_budget_end_waits_for_the_turn_boundary() -> None:
    """A budget spent by usage that came mid-turn ends the relay only after Gemini's turnComplete went out; spent
    between turns, at once; with the budget's close code and message."""
    watch = RelayWatch(Limits())
    watch.start(1.0)
    watch.upstream_frame('{"serverContent": {"modelTurn": {"parts": [{"text": "hi"}]}}}')
    watch.end_after_turn(SessionEnd.BUDGET_EXCEEDED)
    watch.upstream_frame(b'{"serverContent": {"modelTurn": {"parts": [{"inlineData": {}}]}}}')
    assert not watch.ended.is_set()
    watch.upstream_frame('{"serverContent": {"turnComplete": true}, "usageMetadata": {}}')
    assert watch.ended.is_set() and watch.close is not None and watch.close[0] == 1008
    assert "budget" in watch.close[1]
    idle = RelayWatch(Limits())
    idle.start(1.0)
    idle.end_after_turn(SessionEnd.BUDGET_EXCEEDED)
    assert idle.ended.is_set()
