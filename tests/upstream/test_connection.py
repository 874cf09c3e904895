"""gateway/upstream/connection.py: the sans-I/O upstream socket against the (strict) emulator, on both loops the
gateway runs on (asyncio in tests, uvloop under `livegate serve`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest
import uvloop
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from gateway.emulator import EmulatorServer, developer_path
from gateway.upstream.connection import UpstreamConnection
from gateway.upstream.dial import Endpoint, dial

SETUP = orjson.dumps({"setup": {"model": "models/gemini-2.5-flash-native-audio-preview-12-2025",
                                "generationConfig": {"responseModalities": ["AUDIO"]}}})
TURN = orjson.dumps({"clientContent": {"turns": [{"role": "user", "parts": [{"text": "hi"}]}], "turnComplete": True}})
LOOPS = {"asyncio": asyncio.run, "uvloop": uvloop.run}


def on_both_loops(test: Callable[[str], Awaitable[None]]) -> Callable[[str], None]:
    def run(loop: str) -> None:
        LOOPS[loop](asyncio.wait_for(test(loop), 20))

    run.__name__, run.__doc__ = test.__name__, test.__doc__
    return pytest.mark.parametrize("loop", sorted(LOOPS))(run)


async def _opened(server: EmulatorServer, path: str | None = None) -> UpstreamConnection:
    ws = await dial(Endpoint(server.url + (path or developer_path()), "", {"x-goog-api-key": "k"}))
    assert isinstance(ws, UpstreamConnection)
    return ws


@on_both_loops
async def test_a_turn_by_recv_then_by_callback(loop: str) -> None:
    """Masked frames the emulator accepts; the setup answered through `recv`, a whole turn through `deliver`."""
    async with EmulatorServer(host="127.0.0.1", port=0, quiet=True) as server:
        ws = await _opened(server)
        assert ws.write(SETUP)
        assert b"setupComplete" in await ws.recv(decode=False)
        got: list[dict[str, Any]] = []
        done = asyncio.Event()

        def take(raw: bytes) -> None:
            got.append(orjson.loads(raw))
            if got[-1].get("serverContent", {}).get("turnComplete"):
                done.set()

        ws.deliver(take)
        assert ws.write(TURN)
        await done.wait()
        assert sum("modelTurn" in m.get("serverContent", {}) for m in got) >= 1
        await ws.close()
        assert ws.close_code == 1000 and not ws.write(TURN)


@on_both_loops
async def test_refused_handshake_raises_its_status(loop: str) -> None:
    """An HTTP refusal is websockets' InvalidStatus with the status code, as the fallback policy expects."""
    async with EmulatorServer(host="127.0.0.1", port=0, quiet=True) as server:
        with pytest.raises(InvalidStatus) as refused:
            await _opened(server, "/ws/nowhere")
        assert refused.value.response.status_code == 404


@on_both_loops
async def test_server_close_code_and_reason(loop: str) -> None:
    """The emulator's 1007 on an unknown field reaches close_code/close_reason, and recv raises it."""
    async with EmulatorServer(host="127.0.0.1", port=0, quiet=True) as server:
        ws = await _opened(server)
        await ws.send(orjson.dumps({"setup": {"model": "models/x", "bogus": 1}}), text=True)
        with pytest.raises(ConnectionClosedError):
            while True:
                await ws.recv()
        assert ws.close_code == 1007 and ws.close_reason
