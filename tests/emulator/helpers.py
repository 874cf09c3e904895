"""Raw-WebSocket helpers shared by the emulator tests: open a session, read frames, expect a close."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from gateway.emulator import EmulatorServer, developer_path, vertex_path
from schemas.gemini import ServerMessage

TIMEOUT = 5.0
AUDIO_MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"  # Developer, 2.5 native audio
LIVE_31 = "gemini-3.1-flash-live-preview"  # Developer, history-only clientContent
TEXT_MODEL = "gemini-2.0-flash-live-preview-04-09"  # Vertex only, the last TEXT-output model
VERTEX_AUDIO_MODEL = "gemini-live-2.5-flash-native-audio"
VERTEX_PREFIX = "projects/p/locations/us-central1/publishers/google/models/"


def dev_setup(model: str = AUDIO_MODEL, **fields: Any) -> dict[str, Any]:
    return {"setup": {"model": f"models/{model}", **fields}}


def vertex_setup(model: str = TEXT_MODEL, **fields: Any) -> dict[str, Any]:
    return {"setup": {"model": VERTEX_PREFIX + model, **fields}}


async def dial(server: EmulatorServer, path: str | None = None, **kwargs: Any) -> ClientConnection:
    """A raw client connection (no setup sent yet)."""
    return await asyncio.wait_for(connect(server.url + (path or developer_path()), **kwargs), TIMEOUT)


async def send(ws: ClientConnection, message: dict[str, Any] | str) -> None:
    await ws.send(message if isinstance(message, str) else orjson.dumps(message).decode())


async def recv(ws: ClientConnection) -> dict[str, Any]:
    """One server frame: asserted binary, camelCase, valid against `ServerMessage`."""
    raw = await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert isinstance(raw, bytes), "the server must send binary frames"
    message: dict[str, Any] = orjson.loads(raw)
    ServerMessage.model_validate(message)
    return message


async def recv_turn(ws: ClientConnection) -> list[dict[str, Any]]:
    """Frames up to and including the one with `turnComplete`."""
    frames = [await recv(ws)]
    while not frames[-1].get("serverContent", {}).get("turnComplete"):
        frames.append(await recv(ws))
    return frames


async def open_session(
    server: EmulatorServer, setup: dict[str, Any], path: str | None = None, **kwargs: Any
) -> tuple[ClientConnection, dict[str, Any]]:
    """Connect, send `setup`, return the connection and the setupComplete frame."""
    ws = await dial(server, path or _path_for(setup), **kwargs)
    await send(ws, setup)
    first = await recv(ws)
    assert "setupComplete" in first, first
    return ws, first


async def expect_close(ws: ClientConnection) -> tuple[int, str]:
    """Read until the server closes; return its close code and reason."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
    except ConnectionClosed as exc:
        assert exc.rcvd is not None, "the server must send a close frame"
        return exc.rcvd.code, exc.rcvd.reason


def _path_for(setup: dict[str, Any]) -> str:
    model = setup.get("setup", {}).get("model", "")
    return vertex_path() if "publishers/" in model else developer_path()


def text_of(frames: list[dict[str, Any]]) -> str:
    return "".join(
        part.get("text", "")
        for frame in frames
        for part in frame.get("serverContent", {}).get("modelTurn", {}).get("parts", [])
    )


def transcript_of(frames: list[dict[str, Any]]) -> str:
    return "".join(
        frame.get("serverContent", {}).get("outputTranscription", {}).get("text", "") for frame in frames
    )
