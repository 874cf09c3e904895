"""openai-python on a model that takes `contextUpdate` (gemini-3.8-live, schemas/profiles.py): a mid-session
`session.update` of instructions or tools is applied in place on the same upstream connection, and a model
that does not take it (2.5) still reconnects with its resumption handle (issue #13)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from openai import AsyncOpenAI

from gateway.emulator.script import Script
from gateway.emulator.server import EmulatorServer
from schemas.openai import Dialect
from tests.faults.support import AUDIO_MODEL, EmulatorFarm, alias_for, connections
from tests.gateway.test_openai_python import collect_until_done, text_item
from tests.gateway.test_tool_edges import checked, text_of
from tests.support.live import MASTER_KEY, GatewayThread, LiveGateway

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveGateway, dict[str, EmulatorServer]]]:
    farm = EmulatorFarm().start()
    servers = {"in_place": farm.add(Script()), "reconnect": farm.add(Script())}
    models = [
        alias_for(servers["in_place"], "in-place", "gemini-3.8-live"),
        alias_for(servers["reconnect"], "reconnect", AUDIO_MODEL),
    ]
    thread = GatewayThread(tmp_path_factory.mktemp("context-update"), models)
    yield thread.start(), servers
    thread.stop()
    farm.stop()


async def turn_change_turn(gateway: LiveGateway, alias: str, change: dict[str, Any]) -> list[dict[str, Any]]:
    """A text turn, a `session.update` with `change`, another text turn; the two response.done events."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    done = []
    async with client.realtime.connect(model=alias) as connection:
        assert (await connection.recv()).type == "session.created"
        await connection.session.update(session={"type": "realtime", "output_modalities": ["text"],
                                                 "instructions": "Be brief."})
        assert (await connection.recv()).type == "session.updated"
        for number, text in enumerate(("Hello there", "Still there?")):
            if number == 1:
                await connection.session.update(session={"type": "realtime", **change})
                updated = (await connection.recv()).to_dict()
                assert updated["type"] == "session.updated", updated
                for key, value in change.items():
                    assert updated["session"][key] == value or key == "tools", (key, updated["session"][key])
            await connection.conversation.item.create(item=text_item(text))
            await connection.response.create()
            events = checked(await collect_until_done(connection), Dialect.GA)
            assert events[-1]["type"] == "response.done", events[-1]
            done.append(events[-1])
    return done


def context_updates(server: EmulatorServer) -> list[dict[str, Any]]:
    record = connections(server)[-1]  # the session under test
    return [message["contextUpdate"] for message in record.messages if "contextUpdate" in message]


async def test_new_instructions_reach_gemini_in_place(rig: Any) -> None:
    gateway, servers = rig
    first, second = await turn_change_turn(gateway, "in-place", {"instructions": "Now be formal."})
    assert text_of(second) == "You said: Still there?"
    assert len(connections(servers["in_place"])) == 1  # no reconnect
    (update,) = context_updates(servers["in_place"])
    assert update["systemInstruction"]["parts"][0]["text"] == "Now be formal."
    session = connections(servers["in_place"])[-1].session
    assert session is not None and session.system_instruction is not None
    assert session.system_instruction.parts[0].text == "Now be formal."
    # The same upstream session still bills the first turn's context: the prompt grew.
    assert second["response"]["usage"]["input_tokens"] > first["response"]["usage"]["input_tokens"]


async def test_new_tools_reach_gemini_in_place(rig: Any) -> None:
    gateway, servers = rig
    await turn_change_turn(gateway, "in-place", {"tools": [WEATHER]})
    record = connections(servers["in_place"])[-1]  # this session's one upstream connection
    (update,) = [message["contextUpdate"] for message in record.messages if "contextUpdate" in message]
    # google-genai's LiveClientContextUpdate: tools sit in a wrapper ({"tools": []} would clear them)
    (declaration,) = update["tools"]["tools"][0]["functionDeclarations"]
    assert declaration["name"] == "get_weather"
    assert declaration["parametersJsonSchema"] == WEATHER["parameters"]
    assert record.session is not None and [t.function_declarations[0].name for t in record.session.tools] == [
        "get_weather"
    ]


async def test_a_model_without_context_update_reconnects(rig: Any) -> None:
    gateway, servers = rig
    first, second = await turn_change_turn(gateway, "reconnect", {"instructions": "Now be formal."})
    records = connections(servers["reconnect"])
    assert len(records) == 2  # the change is a new setup, resumed by handle
    assert not any("contextUpdate" in m for record in records for m in record.messages)
    assert records[1].setup is not None and records[1].setup["sessionResumption"].get("handle")
    assert second["response"]["usage"]["input_tokens"] > first["response"]["usage"]["input_tokens"]
