"""server.py over real sockets: paced replies, barge-in while streaming, spoken and manual turns, tools."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from gateway.emulator import EmulatorServer, Script
from tests.support.waits import eventually

from .helpers import (
    TIMEOUT,
    dev_setup,
    expect_close,
    input_transcript_of,
    open_session,
    recv,
    recv_turn,
    recv_until,
    send,
    server_content,
    silence_pcm,
    speak,
    tone_pcm,
    transcript_of,
)

TRANSCRIBED: dict[str, Any] = {"inputAudioTranscription": {}, "outputAudioTranscription": {}}
PING: dict[str, Any] = {"functionDeclarations": [{"name": "ping", "description": "reachability"}]}


def has(key: str) -> Any:
    return lambda frame: key in frame.get("serverContent", {}) or key in frame


async def test_spoken_turn_over_the_wire(emulator: EmulatorServer) -> None:
    """Tone then silence at 24 kHz: input transcription, then the reply to "user speech 1"."""
    ws, _ = await open_session(emulator, dev_setup(**TRANSCRIBED))
    await speak(ws, silence_pcm(24000, 200) + tone_pcm(24000, 300) + silence_pcm(24000, 600), 24000)
    frames = await recv_turn(ws)
    assert input_transcript_of(frames) == "user speech 1"
    first_output = next(i for i, f in enumerate(frames) if "modelTurn" in f.get("serverContent", {}))
    assert input_transcript_of(frames[:first_output]) == "user speech 1", "user transcript before the reply"
    assert transcript_of(frames) == "You said: user speech 1"
    session = emulator.connections[-1].session
    assert session is not None and session.speech_segments == [(200.0, 500.0)]
    await ws.close()


async def test_reply_pacing() -> None:
    """reply_chunk_interval_s spreads the reply's words over time (default: as fast as possible)."""
    async with EmulatorServer(script=Script(reply_chunk_interval_s=0.05)) as server:
        ws, _ = await open_session(server, dev_setup())
        start = time.monotonic()
        await send(ws, {"realtimeInput": {"text": "a b"}})  # "You said: a b": 4 words
        await recv_turn(ws)
        assert time.monotonic() - start >= 0.19
        await ws.close()


async def test_barge_in_while_streaming() -> None:
    """Speech during a paced reply: interrupted + turnComplete (no generationComplete), then the new turn."""
    async with EmulatorServer(script=Script(reply_chunk_interval_s=0.05)) as server:
        ws, _ = await open_session(server, dev_setup(**TRANSCRIBED))
        await send(ws, {"realtimeInput": {"text": "one two three four five six seven eight"}})
        before = await recv_until(ws, has("outputTranscription"))
        await speak(ws, tone_pcm(16000, 100))  # the reader takes it while the writer streams
        cut = await recv_turn(ws)
        assert server_content(cut, "interrupted") == [True]
        assert server_content(cut, "generationComplete") == []
        assert cut[-1] == {"serverContent": {"turnComplete": True}}
        spoken = transcript_of(before + cut)
        assert spoken.startswith("You ") and len(spoken.split()) < 10
        session = server.connections[-1].session
        assert session is not None and session.history[-1].text() == spoken.strip()
        await speak(ws, silence_pcm(16000, 600))
        frames = await recv_turn(ws)
        assert input_transcript_of(cut + frames) == "user speech 1"
        assert transcript_of(frames) == "You said: user speech 1"
        assert server_content(frames, "generationComplete") == [True]
        await ws.close()


async def test_manual_activity_over_the_wire(emulator: EmulatorServer) -> None:
    """activityStart, audio, activityEnd: transcription and reply; no VAD."""
    setup = dev_setup(realtimeInputConfig={"automaticActivityDetection": {"disabled": True}}, **TRANSCRIBED)
    ws, _ = await open_session(emulator, setup)
    await send(ws, {"realtimeInput": {"activityStart": {}}})
    await speak(ws, silence_pcm(16000, 100))
    await send(ws, {"realtimeInput": {"activityEnd": {}}})
    frames = await recv_turn(ws)
    assert input_transcript_of(frames) == "user speech 1"
    assert transcript_of(frames) == "You said: user speech 1"
    await ws.close()


async def test_tool_call_round_trip(emulator: EmulatorServer) -> None:
    """toolCall, toolResponse, the continued turn, then the resumable handle."""
    ws, _ = await open_session(emulator, dev_setup(tools=[PING], sessionResumption={}, **TRANSCRIBED))
    await send(ws, {"realtimeInput": {"text": "ping it"}})
    assert await recv(ws) == {"sessionResumptionUpdate": {"resumable": False}}
    call = (await recv(ws))["toolCall"]["functionCalls"][0]
    assert call["name"] == "ping" and call["args"] == {}
    await send(ws, {"toolResponse": {"functionResponses": [{"id": call["id"], "response": {"output": "pong"}}]}})
    frames = await recv_turn(ws)
    assert transcript_of(frames) == 'ping returned {"output":"pong"}'
    assert (await recv(ws))["sessionResumptionUpdate"]["resumable"] is True
    await ws.close()


async def test_audio_during_a_pending_call_is_1008(emulator: EmulatorServer) -> None:
    """Mic audio while a call is pending: close 1008 "The operation was aborted" (§3.4, §5.1)."""
    ws, _ = await open_session(emulator, dev_setup(tools=[PING]))
    await send(ws, {"realtimeInput": {"text": "ping"}})
    assert "toolCall" in await recv(ws)
    await speak(ws, silence_pcm(16000, 20))
    assert await expect_close(ws) == (1008, "The operation was aborted")
    record = emulator.connections[-1]
    assert (record.close_code, record.closed_by_server) == (1008, True)


async def test_a_tool_call_crossing_mic_audio_is_sent_then_1008() -> None:
    """Script(tool_call_crosses_input=True): the toolCall is held until the client's next message, as if that
    message had crossed it on the wire; mic audio then gets the toolCall, then the close 1008, in that order.
    A message that is no input (a video frame) releases the toolCall without an abort."""
    async with EmulatorServer(script=Script(tool_call_crosses_input=True)) as server:
        ws, _ = await open_session(server, dev_setup(tools=[PING]))
        await send(ws, {"realtimeInput": {"text": "ping"}})
        held = asyncio.ensure_future(recv(ws))
        done, _ = await asyncio.wait({held}, timeout=0.3)
        assert not done, "the toolCall went out before the client's next message"
        await speak(ws, silence_pcm(16000, 20))
        assert (await held)["toolCall"]["functionCalls"][0]["name"] == "ping"
        assert await expect_close(ws) == (1008, "The operation was aborted")
        ws, _ = await open_session(server, dev_setup(tools=[PING], **TRANSCRIBED))
        await send(ws, {"realtimeInput": {"text": "ping"}})
        await send(ws, {"realtimeInput": {"video": {"mimeType": "image/jpeg", "data": "/9j/"}}})
        call = (await recv(ws))["toolCall"]["functionCalls"][0]
        await send(ws, {"toolResponse": {"functionResponses": [{"id": call["id"], "response": {"output": "pong"}}]}})
        assert transcript_of(await recv_turn(ws)) == 'ping returned {"output":"pong"}'
        await ws.close()


async def test_scripted_tool_call_cancellation() -> None:
    """Script(cancel_tool_calls=True): the call is withdrawn right away; a late response is ignored."""
    async with EmulatorServer(script=Script(cancel_tool_calls=True)) as server:
        ws, _ = await open_session(server, dev_setup(tools=[PING]))
        await send(ws, {"realtimeInput": {"text": "ping"}})
        frames = await recv_turn(ws)
        call_id = frames[0]["toolCall"]["functionCalls"][0]["id"]
        assert frames[1:] == [
            {"toolCallCancellation": {"ids": [call_id]}},
            {"serverContent": {"interrupted": True}},
            {"serverContent": {"turnComplete": True}},
        ]
        await send(ws, {"toolResponse": {"functionResponses": [{"id": call_id, "response": {}}]}})
        await send(ws, {"realtimeInput": {"text": "still there"}})
        assert server_content(await recv_turn(ws), "generationComplete") == [True], "answered normally"
        await ws.close()


async def test_stall_forever_then_client_close() -> None:
    """A stall forever keeps the socket open and silent; the client's own close still ends it cleanly."""
    script = Script(stall_at="mid_audio", stall_s=None)
    async with EmulatorServer(script=script) as server:
        ws, _ = await open_session(server, dev_setup())
        await send(ws, {"realtimeInput": {"text": "a b"}})
        assert "modelTurn" in (await recv(ws))["serverContent"]
        try:
            await asyncio.wait_for(ws.recv(), 0.2)
            raise AssertionError("a stalled server sends nothing")
        except TimeoutError:
            pass
        session = server.connections[-1].session
        assert session is not None and session.faults == ["stall@mid_audio"]
        await asyncio.wait_for(ws.close(), TIMEOUT)
        record = server.connections[-1]
        await eventually(lambda: record.close_code is not None, "the server recorded the close")
        assert record.close_code == 1000
