"""Transcription sessions through real clients (issue #13): openai-python GA (`?intent=transcription`,
session.type transcription) and beta (`transcription_session.update`), on the emulated Gemini transcription
model; and the Agents SDK hearing its user's speech transcribed in a conversation."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from agents.realtime import RealtimeAgent, RealtimeRunner
from openai import AsyncOpenAI
from openai.types.beta.realtime import RealtimeServerEvent as BetaSdkServerEvent
from pydantic import TypeAdapter

from gateway.emulator.script import Script
from schemas.openai import Dialect, validate_server_event
from tests.faults.support import EmulatorFarm, alias_for, connections
from tests.gateway.test_deadline import until
from tests.gateway.test_tool_edges import checked
from tests.support.audio import chunks, silence, speech
from tests.support.live import MASTER_KEY, GatewayThread, LiveGateway

UTTERANCE = speech(0.6) + silence(0.8)  # one utterance, then enough silence for the VAD to end it
EXPECTED = [
    "input_audio_buffer.speech_started",
    "input_audio_buffer.speech_stopped",
    "input_audio_buffer.committed",
    "conversation.item.added",
    "conversation.item.done",
    "conversation.item.input_audio_transcription.delta",
    "conversation.item.input_audio_transcription.completed",
]


async def until_completed(connection: Any, limit: int = 50) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    async for event in connection:
        seen.append(event.to_dict())
        if seen[-1]["type"] in ("conversation.item.input_audio_transcription.completed", "error") or len(seen) > limit:
            return seen
    return seen


async def send(connection: Any, pcm: bytes) -> None:
    for chunk in chunks(pcm):
        await connection.input_audio_buffer.append(audio=base64.b64encode(chunk).decode())


async def test_ga_intent_transcription_transcribes_an_utterance(gateway: LiveGateway) -> None:
    """GA, no model in the URL: the default transcription alias; §3.8's sequence, no response events."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    async with client.realtime.connect(extra_query={"intent": "transcription"}) as connection:
        created = (await connection.recv()).to_dict()
        transcription = {"model": "gpt-4o-transcribe", "language": "en"}
        audio_in = {"transcription": transcription, "turn_detection": {"type": "server_vad"}}
        await connection.session.update(session={"type": "transcription", "audio": {"input": audio_in}})
        updated = (await connection.recv()).to_dict()
        await send(connection, UTTERANCE)
        seen = await until_completed(connection)
    checked([created, updated, *seen], Dialect.GA)
    assert created["session"]["type"] == "transcription" and updated["type"] == "session.updated"
    assert updated["session"]["audio"]["input"]["transcription"] == transcription
    assert [e["type"] for e in seen] == EXPECTED
    completed = seen[-1]
    assert completed["transcript"] == "user speech 1" and seen[-2]["delta"] == "user speech 1"
    assert completed["usage"]["type"] == "tokens" and completed["usage"]["input_token_details"]["audio_tokens"] > 0
    assert seen[3]["item"]["content"] == [{"type": "input_audio", "transcript": None}]


async def test_ga_manual_commit_and_refused_response(gateway: LiveGateway) -> None:
    """GA with turn_detection null on an explicit alias: commit → item → transcript; response.create refused."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    async with client.realtime.connect(model="gemini-transcribe", extra_query={"intent": "transcription"}) as conn:
        await conn.recv()
        await conn.session.update(session={"type": "transcription", "audio": {"input": {"turn_detection": None}}})
        await conn.recv()
        await send(conn, speech(0.5))
        await conn.input_audio_buffer.commit()
        seen = await until_completed(conn)
        await conn.response.create(event_id="nope")
        refused = (await conn.recv()).to_dict()
    checked([*seen, refused], Dialect.GA)
    assert [e["type"] for e in seen] == EXPECTED[2:]
    assert seen[-1]["transcript"] == "user speech 1"
    assert refused["type"] == "error" and refused["error"]["event_id"] == "nope"


async def test_beta_transcription_session(gateway: LiveGateway) -> None:
    """Beta: transcription_session.created, transcription_session.update → .updated, beta item events."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base, websocket_base_url=gateway.ws_base)
    beta = client.beta.realtime.connect(model="gemini-transcribe", extra_query={"intent": "transcription"})
    async with beta as connection:
        created = (await connection.recv()).to_dict()
        session = {
            "input_audio_transcription": {"model": "gpt-4o-mini-transcribe"},
            "turn_detection": {"type": "server_vad"},
        }
        await connection.transcription_session.update(session=session)
        updated = (await connection.recv()).to_dict()
        await send(connection, UTTERANCE)
        seen = await until_completed(connection)
    # transcription_session.created is what OpenAI's beta server sent first (go-openai-realtime#23,
    # LocalAI#6445); openai-python's beta union lacks it, so it is checked against our model only.
    assert created["type"] == "transcription_session.created"
    validate_server_event(created, Dialect.BETA)
    checked([updated, *seen], Dialect.BETA)
    assert updated["type"] == "transcription_session.updated" and updated["session"]["modalities"] == ["text"]
    assert [e["type"] for e in seen] == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.created",
        "conversation.item.input_audio_transcription.delta",
        "conversation.item.input_audio_transcription.completed",
    ]
    assert seen[-1]["transcript"] == "user speech 1"


async def test_intent_transcription_on_a_conversational_model_is_refused(gateway: LiveGateway) -> None:
    """A conversational alias with ?intent=transcription: one invalid_model error and close 4000."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    async with client.realtime.connect(model="gemini-live", extra_query={"intent": "transcription"}) as conn:
        error = (await conn.recv()).to_dict()
    assert error["error"]["code"] == "invalid_model" and "not a transcription model" in error["error"]["message"]
    TypeAdapter(BetaSdkServerEvent).validate_python(error)


async def test_agents_sdk_hears_its_user_transcribed(gateway: LiveGateway) -> None:
    """Agents SDK: spoken audio on a conversation is transcribed by Gemini; the SDK's history carries it."""
    agent = RealtimeAgent(name="assistant", instructions="Be brief.")
    settings = {
        "input_audio_transcription": {"model": "gpt-4o-mini-transcribe"},
        "turn_detection": {"type": "server_vad"},
    }
    session = await RealtimeRunner(agent, config={"model_settings": settings}).run(
        model_config={"url": f"{gateway.ws_base}/realtime?model=gemini-live", "api_key": MASTER_KEY}
    )
    raw: list[dict[str, Any]] = []
    errors: list[Any] = []

    async def until_answered() -> None:
        async for event in session:
            if event.type == "error":
                errors.append(event)
            if event.type == "raw_model_event" and event.data.type == "raw_server_event":
                raw.append(event.data.data)
                kinds = {e.get("type") for e in raw}
                if {"response.done", "conversation.item.input_audio_transcription.completed"} <= kinds:
                    return

    async with session:
        for chunk in chunks(UTTERANCE):
            await session.send_audio(chunk)
        await asyncio.wait_for(until_answered(), 15)
        history = list(session._history)
    checked(raw, Dialect.GA)
    assert errors == []
    completed = [e for e in raw if e["type"] == "conversation.item.input_audio_transcription.completed"]
    assert [e["transcript"] for e in completed] == ["user speech 1"]
    users = [item for item in history if getattr(item, "role", None) == "user"]
    assert any(getattr(part, "transcript", None) == "user speech 1" for item in users for part in item.content)


async def test_transcription_goes_on_across_a_go_away(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Google ends each Live connection after about 10 minutes, with a goAway first (scripted here after
    0.5 s): a transcription session moves to a new upstream at a quiet moment, and the next utterance is
    transcribed there, with no error for the client."""
    farm = EmulatorFarm().start()
    server = farm.add(Script(go_away_after_s=0.5, go_away_time_left_s=0.5))
    alias = alias_for(server, "listen", "gemini-3.5-transcribe-live")
    alias["model_info"] = {"mode": "realtime_transcription"}
    thread = GatewayThread(tmp_path_factory.mktemp("transcribe-go-away"), [alias])
    gateway = thread.start()
    try:
        client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
        async with client.realtime.connect(model="listen", extra_query={"intent": "transcription"}) as connection:
            await connection.recv()
            audio_in = {"transcription": {"model": "gpt-4o-transcribe"}, "turn_detection": {"type": "server_vad"}}
            await connection.session.update(session={"type": "transcription", "audio": {"input": audio_in}})
            await connection.recv()
            await send(connection, UTTERANCE)
            first = await until_completed(connection)
            await until(lambda: len(connections(server)) >= 2)  # the goAway's switch, while nobody speaks
            await send(connection, UTTERANCE)
            second = await until_completed(connection)
    finally:
        thread.stop()
        farm.stop()
    checked([*first, *second], Dialect.GA)
    assert [e["type"] for e in first] == EXPECTED and [e["type"] for e in second] == EXPECTED, (first, second)
    assert first[-1]["transcript"] and second[-1]["transcript"]
    records = connections(server)
    assert all(record.setup and "sessionResumption" not in record.setup for record in records)  # nothing to resume
    assert any("realtimeInput" in message for message in records[-1].messages)  # the 2nd utterance went there
