"""Raw-WebSocket helpers shared by the emulator tests: open a session, read frames, expect a close."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import numpy as np
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from gateway.emulator import EmulatorServer, developer_path, vertex_path
from schemas.gemini import ServerMessage

TIMEOUT = 5.0
AUDIO_MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"  # Developer, 2.5 native audio
LIVE_31 = "gemini-3.1-flash-live-preview"  # Developer, history-only clientContent
LIVE_38 = "gemini-3.8-live"  # Developer, clientContent all session long, contextUpdate
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


# --- synthetic audio (PCM16 LE mono) ---------------------------------------------------------------


def tone_pcm(rate: int, ms: int, amplitude: float = 0.3, frequency: float = 440.0) -> bytes:
    """A sine at `amplitude` of full scale: speech to the VAD (RMS ≈ 0.21 at 0.3)."""
    t = np.arange(rate * ms // 1000) / rate
    return (amplitude * 32767 * np.sin(2 * np.pi * frequency * t)).astype("<i2").tobytes()


def silence_pcm(rate: int, ms: int) -> bytes:
    return bytes(2 * (rate * ms // 1000))


def noise_pcm(rate: int, ms: int, amplitude: float = 0.005, seed: int = 0) -> bytes:
    """Gaussian noise with RMS `amplitude` of full scale: not speech at the default threshold."""
    samples = np.random.default_rng(seed).normal(0.0, amplitude * 32767, rate * ms // 1000)
    return np.clip(samples, -32768, 32767).astype("<i2").tobytes()


def audio_message(pcm: bytes, rate: int = 16000) -> dict[str, Any]:
    return {"realtimeInput": {"audio": {"mimeType": f"audio/pcm;rate={rate}", "data": base64.b64encode(pcm).decode()}}}


def chunked(pcm: bytes, rate: int, ms: int = 20) -> list[bytes]:
    """`pcm` cut into `ms` chunks, as a microphone would send it."""
    size = 2 * (rate * ms // 1000)
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


def server_content(frames: list[dict[str, Any]], key: str) -> list[Any]:
    """The `serverContent[key]` values of `frames` that have one."""
    return [f["serverContent"][key] for f in frames if key in f.get("serverContent", {})]


def input_transcript_of(frames: list[dict[str, Any]]) -> str:
    return "".join(t.get("text", "") for t in server_content(frames, "inputTranscription"))


async def recv_until(ws: ClientConnection, predicate: Any) -> list[dict[str, Any]]:
    """Frames up to and including the first one for which `predicate(frame)` is true."""
    frames = [await recv(ws)]
    while not predicate(frames[-1]):
        frames.append(await recv(ws))
    return frames


async def speak(ws: ClientConnection, pcm: bytes, rate: int = 16000) -> None:
    """Stream `pcm` in 20 ms chunks as fast as possible (the VAD counts audio time, not wall time)."""
    for chunk in chunked(pcm, rate):
        await send(ws, audio_message(chunk, rate))
