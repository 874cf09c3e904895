"""Issue #16 items 5, 11, 12, 13 (and two defects the fuzz found) through openai-python: odd client input
gets an `error` with its `event_id` and the session goes on; manual turns keep their text; memory is capped."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from openai import AsyncOpenAI

from gateway.emulator.script import Script
from gateway.emulator.server import EmulatorServer
from tests.faults.support import AUDIO_MODEL, LIVE_31_MODEL, EmulatorFarm, alias_for, connections, user_item
from tests.fuzz.mutator import nested
from tests.support.live import MASTER_KEY, GatewayThread, LiveGateway

CAP = 64 * 1024  # max_conversation_bytes of this module's gateway


@dataclass
class Rig:
    gateway: LiveGateway
    servers: dict[str, EmulatorServer]


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    farm = EmulatorFarm().start()
    servers = {"v25": farm.add(Script()), "v31": farm.add(Script())}
    models = [alias_for(servers["v25"], "v25", AUDIO_MODEL), alias_for(servers["v31"], "v31", LIVE_31_MODEL)]
    limits = {"limits": {"max_conversation_bytes": CAP}}
    thread = GatewayThread(tmp_path_factory.mktemp("robust-input"), models, general=limits)
    yield Rig(thread.start(), servers)
    thread.stop()
    farm.stop()


def speech_b64(ms: int) -> list[str]:
    """A loud 180 Hz tone, 24 kHz pcm16, as 20 ms base64 chunks: speech to the emulator."""
    t = np.arange(24 * ms) / 24000
    pcm = (0.4 * 32767 * np.sin(2 * np.pi * 180 * t)).astype("<i2").tobytes()
    return [base64.b64encode(pcm[i : i + 960]).decode() for i in range(0, len(pcm), 960)]


async def until(connection: Any, kinds: tuple[str, ...], timeout: float = 15) -> list[dict[str, Any]]:
    seen = []
    async with asyncio.timeout(timeout):
        async for event in connection:
            seen.append(event.to_dict())
            if event.type in kinds:
                return seen
    return seen


async def text_turn(connection: Any, text: str) -> str:
    """A completed text turn's answer (errors on the way fail the test)."""
    await connection.conversation.item.create(item=user_item(text))
    await connection.response.create()
    seen = await until(connection, ("response.done",))
    assert not [e for e in seen if e["type"] == "error"], seen
    done = seen[-1]["response"]
    assert done["status"] == "completed", done
    deltas = ("response.output_text.delta", "response.text.delta")
    return "".join(e["delta"] for e in seen if e["type"] in deltas)


def errors_of(seen: list[dict[str, Any]]) -> list[tuple[str, str | None, str | None]]:
    return [(e["error"]["code"], e["error"]["param"], e["error"]["event_id"]) for e in seen if e["type"] == "error"]


def ga(rig: Rig) -> Any:
    return AsyncOpenAI(api_key=MASTER_KEY, base_url=rig.gateway.http_base).realtime.connect(model="v25")


def beta(rig: Rig) -> Any:
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=rig.gateway.http_base, websocket_base_url=rig.gateway.ws_base)
    return client.beta.realtime.connect(model="v25")


async def test_g711_appends_take_what_gemini_takes(rig: Rig) -> None:
    """Item 5: G.711 appends in unpadded or URL-safe base64 (Gemini takes both for pcm16) are decoded; other
    alphabets and impossible lengths get an error echoing the event_id; the session goes on."""
    async with beta(rig) as connection:
        await connection.session.update(session={"input_audio_format": "g711_ulaw", "modalities": ["text"]})
        for event_id, audio in (("a1", "AAA"), ("a2", "__8"), ("a3", "!!!!"), ("a4", "AAAAA"), ("a5", "AAAA")):
            await connection.input_audio_buffer.append(audio=audio, event_id=event_id)
        await connection.input_audio_buffer.clear(event_id="done")
        seen = await until(connection, ("input_audio_buffer.cleared",))
        assert errors_of(seen) == [("invalid_value", "audio", "a3"), ("invalid_value", "audio", "a4")]
        assert await text_turn(connection, "Hello there") == "You said: Hello there"


async def test_invalid_pcm16_base64_is_refused_before_gemini_sees_it(rig: Rig) -> None:
    """Item 11: invalid base64 in a pcm16 append is an error with its event_id; Gemini never gets it (it would
    close the whole session with 1007), so the session serves the next turn on the same connection."""
    before = len(connections(rig.servers["v25"]))
    async with ga(rig) as connection:
        await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        await connection.input_audio_buffer.append(audio="AAAA\n", event_id="bad1")
        await connection.input_audio_buffer.append(audio="AAAAA", event_id="bad2")
        await connection.input_audio_buffer.append(audio=speech_b64(20)[0], event_id="good")
        await connection.input_audio_buffer.clear(event_id="done")
        seen = await until(connection, ("input_audio_buffer.cleared",))
        assert errors_of(seen) == [("invalid_value", "audio", "bad1"), ("invalid_value", "audio", "bad2")]
        assert await text_turn(connection, "Hello there") == "You said: Hello there"
    assert len(connections(rig.servers["v25"])) == before + 1


@pytest.mark.parametrize(
    ("where", "event"),
    [
        ("response.metadata", {"type": "response.create", "response": {"metadata": nested(100)}}),
        ("tools[0].parameters", {"type": "session.update", "session": {"type": "realtime", "tools": [
            {"type": "function", "name": "f", "parameters": nested(100)}]}}),
        ("prompt.variables", {"type": "session.update", "session": {"type": "realtime", "prompt": {
            "id": "p", "variables": nested(100)}}}),
        ("tracing.metadata", {"type": "session.update", "session": {"type": "realtime", "tracing": {
            "metadata": nested(100)}}}),
    ],
)
async def test_deep_nesting_is_refused_cleanly(rig: Rig, where: str, event: dict[str, Any]) -> None:
    """Item 5: free-form objects nested 100 levels (valid for the models, too deep for orjson once wrapped
    in our events) get an `invalid_event` error with the event_id; the session goes on."""
    async with ga(rig) as connection:
        await connection.send({**event, "event_id": "deep"})
        seen = await until(connection, ("error",))
        assert errors_of(seen)[-1] == ("invalid_event", None, "deep"), where
        await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        assert await text_turn(connection, "Hello there") == "You said: Hello there"


@pytest.mark.parametrize("dialect", ["ga", "beta"])
async def test_null_optional_fields_are_refused_by_name(rig: Rig, dialect: str) -> None:
    """Item 5: `null` where a field may only be left out is `invalid_type` naming the field, with the event_id;
    `null` where it means "off" (turn_detection) is still taken."""
    if dialect == "ga":
        manager = ga(rig)
        updates = [{"output_modalities": None}, {"tools": None}, {"audio": {"input": {"format": None}}},
                   {"audio": {"output": {"format": None}}}, {"audio": {"input": {"turn_detection": None}}}]
        updates = [{"type": "realtime", **u} for u in updates]
        want = ["session.output_modalities", "session.tools", "session.audio.input.format",
                "session.audio.output.format"]
    else:
        manager = beta(rig)
        updates = [{"modalities": None}, {"tools": None}, {"input_audio_format": None},
                   {"output_audio_format": None}, {"turn_detection": None}]
        want = ["session.modalities", "session.tools", "session.input_audio_format", "session.output_audio_format"]
    async with manager as connection:
        for n, session in enumerate(updates):
            await connection.send({"type": "session.update", "event_id": f"n{n}", "session": session})
        await connection.send({"type": "response.create", "event_id": "r", "response": {"tools": None}})
        seen = await until(connection, ("session.updated",))
        seen += await until(connection, ("error",))
    refused = [(param, event_id) for code, param, event_id in errors_of(seen) if code == "invalid_type"]
    assert refused == [*((p, f"n{n}") for n, p in enumerate(want)), ("response.tools", "r")]
    updated = [e for e in seen if e["type"] == "session.updated"]
    assert len(updated) == 1  # the turn_detection: null update


@pytest.mark.parametrize(("alias", "marker"), [("v25", "clientContent"), ("v31", "realtimeInput")])
async def test_manual_turn_hears_the_text_item_added_during_it(rig: Rig, alias: str, marker: str) -> None:
    """Item 12: with uncommitted audio in the buffer (manual turns), a text item and response.create reach
    Gemini in the same turn, before the activity ends; the next turn does not carry it again."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=rig.gateway.http_base)
    async with client.realtime.connect(model=alias) as connection:
        session = {"type": "realtime", "output_modalities": ["text"], "audio": {"input": {"turn_detection": None}}}
        await connection.session.update(session=session)
        for chunk in speech_b64(400):
            await connection.input_audio_buffer.append(audio=chunk)
        await connection.conversation.item.create(item=user_item("the typed part"))
        await connection.response.create()
        first = await until(connection, ("response.done",))
        second = await text_turn(connection, "Next question")
    assert first[-1]["response"]["status"] == "completed"
    assert second == "You said: Next question"
    record = connections(rig.servers[alias])[-1]
    sent = [str(message) for message in record.messages]
    typed = [n for n, message in enumerate(sent) if "the typed part" in message]
    ends = [n for n, message in enumerate(sent) if "activityEnd" in message]
    assert len(typed) == 1 and ends and typed[0] < ends[0], sent[-6:]
    assert marker in sent[typed[0]]


async def test_conversation_memory_is_capped(rig: Rig) -> None:
    """Item 13: client items past max_conversation_bytes get `conversation_too_large` with the event_id;
    deleting items makes room again."""
    chunk = "x" * (CAP // 4)
    async with ga(rig) as connection:
        for n in range(4):  # each about a quarter of the cap: the fourth does not fit
            await connection.conversation.item.create(item={**user_item(chunk), "id": f"big{n}"}, event_id=f"c{n}")
        seen = await until(connection, ("error",))
        ids = [e["item"]["id"] for e in seen if e["type"] == "conversation.item.done"]
        (code, param, event_id), = errors_of(seen)
        assert (code, param) == ("conversation_too_large", "item") and event_id == f"c{len(ids)}"
        assert len(ids) == 3
        await connection.conversation.item.delete(item_id=ids[0])
        await connection.conversation.item.create(item={**user_item(chunk), "id": "again"}, event_id="again")
        seen = await until(connection, ("conversation.item.done", "error"))
        assert seen[-1]["type"] == "conversation.item.done" and seen[-1]["item"]["id"] == "again"


async def test_switching_to_manual_turns_mid_response_sends_no_activity_markers_early(rig: Rig) -> None:
    """Found by the fuzz: a switch to manual turns waits for the turn boundary to reconnect; audio sent
    meanwhile must not carry activity markers to the old connection (Gemini's VAD is on there: 1007)."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=rig.gateway.http_base)
    async with client.realtime.connect(model="v25") as connection:
        await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        await connection.conversation.item.create(item=user_item("Hello there"))
        await connection.response.create()
        await connection.session.update(session={"type": "realtime", "audio": {"input": {"turn_detection": None}}})
        for chunk in speech_b64(60):
            await connection.input_audio_buffer.append(audio=chunk)
        seen = await until(connection, ("response.done",))
        assert not [e for e in seen if e["type"] == "error"] and seen[-1]["response"]["status"] == "completed"
        await connection.input_audio_buffer.append(audio="", event_id="empty")  # no samples: nothing goes up
        for chunk in speech_b64(400):  # on the new, manual connection: one activity
            await connection.input_audio_buffer.append(audio=chunk)
        await connection.input_audio_buffer.commit(event_id="commit")
        await connection.response.create()
        seen = await until(connection, ("response.done", "error"))
        assert seen[-1]["type"] == "response.done" and seen[-1]["response"]["status"] == "completed", seen[-3:]
    old, new = connections(rig.servers["v25"])[-2:]
    assert (old.close_code, new.session is not None) == (1000, True), (old.close_code, old.close_reason)
