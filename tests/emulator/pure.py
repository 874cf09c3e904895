"""Helpers for socket-free tests of gateway/emulator/behaviour.py: a frame in, the delivered actions out."""

from __future__ import annotations

from typing import Any

import orjson

from gateway.emulator.behaviour import (
    Action,
    Close,
    ResumptionStore,
    Send,
    SessionState,
    deliver,
    receive,
)
from gateway.emulator.routes import Route
from gateway.emulator.script import Script
from schemas.gemini import ServerMessage
from schemas.profiles import Backend

from .helpers import AUDIO_MODEL, VERTEX_PREFIX, audio_message

DEV = Route(Backend.GEMINI, "v1beta", "BidiGenerateContent")
VERTEX = Route(Backend.VERTEX, "v1beta1", "BidiGenerateContent")


def validated(actions: list[Action]) -> list[Action]:
    for action in actions:
        if isinstance(action, Send):
            ServerMessage.model_validate(action.message)
    return actions


def feed(state: SessionState, message: dict[str, Any]) -> list[Action]:
    """One client frame through `receive`, then carried out by a zero-latency writer (`deliver`)."""
    return validated(deliver(state, receive(state, orjson.dumps(message))))


def feed_raw(state: SessionState, message: dict[str, Any]) -> list[Action]:
    """One client frame through `receive` only: nothing is committed (the writer has not run yet)."""
    return validated(receive(state, orjson.dumps(message)))


def started(
    model: str = AUDIO_MODEL,
    route: Route = DEV,
    *,
    script: Script | None = None,
    store: ResumptionStore | None = None,
    connection_index: int = 1,
    **fields: Any,
) -> SessionState:
    """A session past setupComplete."""
    state = SessionState(route, script, store, connection_index=connection_index)
    prefix = "models/" if route is DEV else VERTEX_PREFIX
    actions = feed(state, {"setup": {"model": prefix + model, **fields}})
    assert any(isinstance(a, Send) and "setupComplete" in a.message for a in actions), actions
    return state


def closed_with(actions: list[Action]) -> tuple[int, str]:
    assert actions and isinstance(actions[-1], Close), actions
    return actions[-1].code, actions[-1].reason


def user(text: str, complete: bool = True) -> dict[str, Any]:
    return {
        "clientContent": {"turns": [{"role": "user", "parts": [{"text": text}]}], "turnComplete": complete}
    }


def sent(actions: list[Action]) -> list[dict[str, Any]]:
    return [action.message for action in actions if isinstance(action, Send)]


def feed_audio(state: SessionState, pcm: bytes, rate: int = 16000, chunk_ms: int = 20) -> list[dict[str, Any]]:
    """Stream `pcm` in chunks; the frames the session sent in answer."""
    size = 2 * (rate * chunk_ms // 1000)
    frames: list[dict[str, Any]] = []
    for i in range(0, len(pcm), size):
        frames += sent(feed(state, audio_message(pcm[i : i + size], rate)))
    return frames
