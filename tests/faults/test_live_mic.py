"""A live microphone through a tool turn: the session survives Gemini's 1008 "The operation was aborted".

Mic audio the gateway forwarded before it saw a `toolCall` reaches Gemini while the call is pending, and
Gemini closes with 1008 (GEMINI_LIVE.md §3.4, field reports). The gateway holds audio from the toolCall on,
but cannot recall frames already sent; on loopback the window is tiny, so the emulator makes the crossing
deterministic (`Script.tool_call_crosses_input`, first connection only). openai-python streams 20 ms frames
the whole time, answers the call, and must get the model's answer with no error and no close: 2.x models
keep the call answerable as history, 3.x take its output in words.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from openai import AsyncOpenAI

from gateway.emulator.script import Script
from gateway.emulator.server import EmulatorServer
from schemas.openai import Dialect, validate_server_event
from tests.faults.support import (
    AUDIO_MODEL,
    LIVE_31_MODEL,
    WEATHER_OUTPUT,
    WEATHER_TOOL,
    EmulatorFarm,
    alias_for,
    connections,
)
from tests.support.audio import silence, speech
from tests.support.live import MASTER_KEY, GatewayThread, LiveGateway

FRAME_S = 0.02  # one microphone frame
PACE = 2.0  # frames go twice as fast as real time: the emulator's VAD counts audio time, so only the test is faster
ASK = "Use get_weather for Paris"
WAIT_S = 30.0  # the most the conversation may take, however loaded the machine
# (model, spoken turns before the tool turn): the first turn has no resumption handle yet (a replay), a
# later one resumes by handle.
CASES = [(AUDIO_MODEL, 0), (AUDIO_MODEL, 1), (LIVE_31_MODEL, 0), (LIVE_31_MODEL, 1)]


def _alias(model: str, before: int) -> str:
    return f"mic-{model}-{before}"


@dataclass
class Rig:
    gateway: LiveGateway
    servers: dict[str, EmulatorServer] = field(default_factory=dict)


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    farm = EmulatorFarm().start()
    servers = {}
    for model, before in CASES:
        transcripts = ("Hello there",) * before + (ASK,)
        script = Script(user_transcripts=transcripts, tool_call_crosses_input=True, fault_connections=1)
        servers[_alias(model, before)] = (farm.add(script), model)
    models = [alias_for(server, alias, model) for alias, (server, model) in servers.items()]
    thread = GatewayThread(tmp_path_factory.mktemp("mic"), models)
    yield Rig(thread.start(), {alias: server for alias, (server, _) in servers.items()})
    thread.stop()
    farm.stop()


class Microphone:
    """Streams 20 ms pcm16 frames, as a browser or phone does, until stopped: each utterance in `speak`,
    then silence. Paced (`PACE`); the emulator's VAD counts audio time, so load only slows it down."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self._script: list[bytes] = []  # frames still to send before the silence
        self.frames = 0

    def speak(self, pcm: bytes) -> None:
        step = int(24000 * FRAME_S) * 2
        self._script += [pcm[i : i + step] for i in range(0, len(pcm), step)]

    async def run(self) -> None:
        quiet = silence(FRAME_S)
        while True:
            frame = self._script.pop(0) if self._script else quiet
            audio = base64.b64encode(frame).decode()
            await self._connection.send({"type": "input_audio_buffer.append", "audio": audio})
            self.frames += 1
            await asyncio.sleep(FRAME_S / PACE)


async def _talk(gateway: LiveGateway, alias: str, before: int) -> list[dict[str, Any]]:
    """One voice session: `before` small-talk utterances, then the tool question; the call is answered when it
    comes. Returns every server event, up to the answer after the call."""
    events: list[dict[str, Any]] = []
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    async with asyncio.timeout(WAIT_S), client.realtime.connect(model=alias) as connection:
        session = {"type": "realtime", "tools": [WEATHER_TOOL],
                   "audio": {"input": {"transcription": {"model": "gpt-4o-transcribe"}}}}
        await connection.send({"type": "session.update", "session": session})
        mic = Microphone(connection)
        for _ in range(before):
            mic.speak(speech(0.4) + silence(0.8))  # the VAD ends a turn after 0.5 s of silence
        mic.speak(speech(0.4))
        streaming = asyncio.create_task(mic.run())
        try:
            while True:
                data = await connection.recv_bytes()
                connection.parse_event(data)  # the SDK itself takes every event
                raw = json.loads(data)
                validate_server_event(raw, Dialect.GA)
                events.append(raw)
                if raw["type"] == "error":
                    break
                if raw["type"] != "response.done":
                    continue
                output = raw["response"]["output"]
                calls = [item for item in output if item["type"] == "function_call"]
                for call in calls:
                    item = {"type": "function_call_output", "call_id": call["call_id"], "output": WEATHER_OUTPUT}
                    await connection.send({"type": "conversation.item.create", "item": item})
                if calls:
                    await connection.send({"type": "response.create"})
                elif "returned" in _transcript(raw):
                    break  # the answer after the call
        finally:
            streaming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await streaming
    return events


def _transcript(done: dict[str, Any]) -> str:
    parts = [part for item in done["response"]["output"] for part in item.get("content") or ()]
    return "".join(part.get("transcript") or part.get("text") or "" for part in parts)


@pytest.mark.parametrize(("model", "before"), CASES, ids=["2.5-first", "2.5-later", "3.1-first", "3.1-later"])
async def test_mic_audio_crossing_a_tool_call_does_not_end_the_session(rig: Rig, model: str, before: int) -> None:
    """Gemini aborts the first connection right after its toolCall; the client sees its call, answers it, and
    gets the answer, with no error: the tool ran once and the session went on over a second connection."""
    alias = _alias(model, before)
    events = await _talk(rig.gateway, alias, before)
    assert [e for e in events if e["type"] == "error"] == []
    done = [e for e in events if e["type"] == "response.done"]
    assert [d["response"]["status"] for d in done] == ["completed"] * (before + 2)
    calls = [item for d in done for item in d["response"]["output"] if item["type"] == "function_call"]
    assert [(c["name"], json.loads(c["arguments"])) for c in calls] == [("get_weather", {"city": ASK})]
    answer = _transcript(done[-1])
    returned = 'get_weather returned {"sky":"clear","temp_c":21}'
    if model == AUDIO_MODEL:  # the call stayed answerable: the output went as a functionResponse turn
        assert answer == returned
    else:  # 3.x: the output reached the model in words, as a superseded call's does
        assert answer == 'You said: [get_weather returned] {"temp_c": 21, "sky": "clear"}'
    first, second = connections(rig.servers[alias])
    assert (first.close_code, first.close_reason) == (1008, "The operation was aborted")
    assert [r for r in (first, second) if r.resumed_handle] == ([second] if before else [])
