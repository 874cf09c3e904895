"""The two tool deviations real clients found (issue #13), through openai-python GA and beta and the Agents SDK:
an invalid tool schema is refused by its session.update with the field named and the session kept, and a
user turn while a function call is pending is answered, the late output still taken."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from agents import FunctionTool
from agents.realtime import RealtimeAgent, RealtimeRunner
from openai import AsyncOpenAI

from schemas.openai import Dialect, validate_server_event
from tests.gateway.test_openai_python import collect_until_done, text_item
from tests.schemas.test_openai_server_events import agents_parse, sdk_parse
from tests.support.audio import chunks, silence, speech
from tests.support.live import MASTER_KEY, LiveGateway

GOOD = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
BAD = {**GOOD, "parameters": {"type": "object", "properties": {"city": {"type": "strng"}}}}
ASK = "Please use get_weather for Paris."


def checked(events: list[dict[str, Any]], dialect: Dialect) -> list[dict[str, Any]]:
    """Every event passes our models and openai-python's own union (and, GA, the Agents SDK's adapter)."""
    for event in events:
        validate_server_event(event, dialect)
        sdk_parse(event, dialect)
        if dialect is Dialect.GA:
            agents_parse(event)
    return events


def text_of(done: dict[str, Any]) -> str:
    part = done["response"]["output"][0]["content"][0]
    return str(part.get("text") or part.get("transcript"))


async def test_ga_invalid_schema_is_refused_and_the_session_goes_on(gateway: LiveGateway) -> None:
    """GA: the bad update gets invalid_function_parameters naming the field; the good tools still work."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    async with client.realtime.connect(model="gemini-live") as connection:
        await connection.recv()
        await connection.session.update(session={"type": "realtime", "output_modalities": ["text"], "tools": [GOOD]})
        assert (await connection.recv()).type == "session.updated"
        await connection.session.update(session={"type": "realtime", "tools": [BAD]}, event_id="bad_update")
        error = (await connection.recv()).to_dict()
        await connection.conversation.item.create(item=text_item(ASK))
        await connection.response.create()
        seen = await collect_until_done(connection)
    checked([error, *seen], Dialect.GA)
    assert error["error"]["code"] == "invalid_function_parameters" and error["error"]["event_id"] == "bad_update"
    assert error["error"]["param"] == "session.tools[0].parameters.properties.city.type"
    (call,) = seen[-1]["response"]["output"]
    assert call["type"] == "function_call" and call["name"] == "get_weather"


async def test_ga_invalid_schema_in_response_create_is_refused(gateway: LiveGateway) -> None:
    """GA response.create with its own tools: a bad schema gets the error naming `response.tools[0]…`, no
    response starts, and the next response.create is answered."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    async with client.realtime.connect(model="gemini-live") as connection:
        await connection.recv()
        await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        assert (await connection.recv()).type == "session.updated"
        await connection.conversation.item.create(item=text_item("hello"))
        assert (await connection.recv()).type == "conversation.item.added"
        assert (await connection.recv()).type == "conversation.item.done"
        await connection.response.create(response={"tools": [BAD]}, event_id="bad_response")
        error = (await connection.recv()).to_dict()
        await connection.response.create()
        seen = await collect_until_done(connection)
    checked([error, *seen], Dialect.GA)
    assert error["type"] == "error" and error["error"]["event_id"] == "bad_response", error
    assert error["error"]["code"] == "invalid_function_parameters"
    assert error["error"]["param"] == "response.tools[0].parameters.properties.city.type"
    assert seen[0]["type"] == "response.created" and text_of(seen[-1]) == "You said: hello"


async def test_beta_invalid_schema_is_refused_the_same_way(gateway: LiveGateway) -> None:
    """Beta client.beta.realtime: the same error and param; a text turn afterwards is answered."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base, websocket_base_url=gateway.ws_base)
    async with client.beta.realtime.connect(model="gemini-live") as connection:
        await connection.recv()
        await connection.session.update(session={"modalities": ["text"], "tools": [BAD]})
        error = (await connection.recv()).to_dict()
        await connection.conversation.item.create(item=text_item("hello"))
        await connection.response.create()
        seen = await collect_until_done(connection)
    checked([error, *seen], Dialect.BETA)
    assert error["type"] == "error" and error["error"]["param"] == "session.tools[0].parameters.properties.city.type"
    assert text_of(seen[-1]) == "You said: hello"


async def test_ga_user_turn_while_a_call_is_pending(gateway: LiveGateway) -> None:
    """The model calls get_weather; the user speaks again before the output: answered; the late output too."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    async with client.realtime.connect(model="gemini-live") as connection:
        await connection.recv()
        await connection.session.update(session={"type": "realtime", "output_modalities": ["text"], "tools": [GOOD]})
        await connection.recv()
        await connection.conversation.item.create(item=text_item(ASK))
        await connection.response.create()
        first = await collect_until_done(connection)
        call_id = first[-1]["response"]["output"][0]["call_id"]
        await connection.conversation.item.create(item=text_item("Never mind, say hi."))
        await connection.response.create()
        second = await collect_until_done(connection)
        output = {"type": "function_call_output", "call_id": call_id, "output": "sunny"}
        await connection.conversation.item.create(item=output)
        await connection.response.create()
        third = await collect_until_done(connection)
    checked([*first, *second, *third], Dialect.GA)
    assert [e["type"] for e in second].count("response.created") == 1 and "error" not in [e["type"] for e in second]
    assert text_of(second[-1]) == "You said: Never mind, say hi."
    assert third[0]["type"] == "conversation.item.added" and third[0]["item"]["type"] == "function_call_output"
    assert text_of(third[-1]) == "You said: [get_weather returned] sunny"


async def test_beta_user_turn_while_a_call_is_pending(gateway: LiveGateway) -> None:
    """Beta, on a 3.x model (realtime text): the new turn is answered while the call waits."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base, websocket_base_url=gateway.ws_base)
    async with client.beta.realtime.connect(model="gemini-3.1-live") as connection:
        await connection.recv()
        await connection.session.update(session={"modalities": ["text"], "tools": [GOOD]})
        await connection.recv()
        await connection.conversation.item.create(item=text_item(ASK))
        await connection.response.create()
        first = await collect_until_done(connection)
        await connection.conversation.item.create(item=text_item("Never mind."))
        await connection.response.create()
        second = await collect_until_done(connection)
    checked([*first, *second], Dialect.BETA)
    assert first[-1]["response"]["output"][0]["type"] == "function_call"
    assert text_of(second[-1]) == "You said: Never mind."


def weather_tool(schema: dict[str, Any], invoke: Any) -> FunctionTool:
    return FunctionTool(
        name="get_weather",
        description="The weather in a city.",
        params_json_schema=schema,
        on_invoke_tool=invoke,
        strict_json_schema=False,
    )


async def run_agent(
    gateway: LiveGateway, tool: FunctionTool, steps: list[tuple[str, int]], release: asyncio.Event | None = None
) -> Any:
    """Drive a RealtimeSession: for each step, send the message ("release" sets `release` instead) and read
    until that many response.done events were seen. Returns the raw server events and the SDK's errors."""
    agent = RealtimeAgent(name="assistant", instructions="Use your tools.", tools=[tool])
    session = await RealtimeRunner(agent).run(
        model_config={"url": f"{gateway.ws_base}/realtime?model=gemini-live", "api_key": MASTER_KEY}
    )
    raw: list[dict[str, Any]] = []
    errors: list[Any] = []

    async def until(responses: int) -> None:
        async for event in session:
            if event.type == "error":
                errors.append(event)
            if event.type == "raw_model_event" and event.data.type == "raw_server_event":
                raw.append(event.data.data)
                if sum(e.get("type") == "response.done" for e in raw) >= responses:
                    return

    async with session:
        for message, responses in steps:
            if message == "release" and release is not None:
                release.set()
            else:
                await session.send_message(message)
            await asyncio.wait_for(until(responses), 15)
    return raw, errors


async def test_agents_sdk_reports_a_bad_schema_and_stays_usable(gateway: LiveGateway) -> None:
    """Agents SDK: its session.update with a bad tool schema gets one error naming the field; the session
    then answers a message (the refused update changed nothing)."""

    async def never(_ctx: Any, _args: str) -> str:
        raise AssertionError("a refused tool cannot be called")

    raw, errors = await run_agent(gateway, weather_tool(BAD["parameters"], never), [("hello", 1)])
    checked(raw, Dialect.GA)
    (error,) = [e for e in raw if e["type"] == "error"]
    assert error["error"]["param"] == "session.tools[0].parameters.properties.city.type" and len(errors) == 1
    assert text_of([e for e in raw if e["type"] == "response.done"][-1]) == "You said: hello"


async def test_agents_sdk_message_while_its_tool_runs(gateway: LiveGateway) -> None:
    """Agents SDK: a message sent while the real tool is still running is answered, then the tool's output."""
    release = asyncio.Event()

    async def slow_weather(_ctx: Any, _args: str) -> str:
        await release.wait()
        return "sunny"

    steps = [(ASK, 1), ("Never mind, say hi.", 2), ("release", 3)]
    raw, errors = await run_agent(gateway, weather_tool(GOOD["parameters"], slow_weather), steps, release)
    checked(raw, Dialect.GA)
    assert errors == [] and "error" not in [e["type"] for e in raw]
    dones = [e for e in raw if e["type"] == "response.done"]
    assert dones[0]["response"]["output"][0]["type"] == "function_call"
    assert [text_of(done) for done in dones[1:]] == [
        "You said: Never mind, say hi.",
        "You said: [get_weather returned] sunny",
    ]


@pytest.mark.parametrize("alias", ["gemini-live", "gemini-3.1-live"])
async def test_speech_while_a_call_is_pending_is_answered(gateway: LiveGateway, alias: str) -> None:
    """Server VAD, openai-python: the model calls get_weather and the app has not answered yet; the user speaks:
    that speech is a new user turn, answered at once as OpenAI's VAD would (not held until the output); the
    app's late output is still taken, as context for the next response."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    async with client.realtime.connect(model=alias) as connection:
        await connection.recv()
        audio_in = {"transcription": {"model": "gpt-4o-transcribe"}, "turn_detection": {"type": "server_vad"}}
        session = {"type": "realtime", "output_modalities": ["text"], "tools": [GOOD], "audio": {"input": audio_in}}
        await connection.session.update(session=session)
        await connection.recv()
        await connection.conversation.item.create(item=text_item(ASK))
        await connection.response.create()
        first = await collect_until_done(connection)
        call_id = first[-1]["response"]["output"][0]["call_id"]
        for chunk in chunks(silence(0.2) + speech(0.6) + silence(1.0)):
            await connection.input_audio_buffer.append(audio=base64.b64encode(chunk).decode())
        async with asyncio.timeout(30):
            spoken = await collect_until_done(connection)
        output = {"type": "function_call_output", "call_id": call_id, "output": "sunny"}
        await connection.conversation.item.create(item=output)
        await connection.response.create()
        async with asyncio.timeout(30):
            late = await collect_until_done(connection)
    checked([*first, *spoken, *late], Dialect.GA)
    kinds = [e["type"] for e in spoken]
    assert "error" not in kinds and kinds[0] == "input_audio_buffer.speech_started"
    assert kinds.index("input_audio_buffer.committed") < kinds.index("response.created")
    assert spoken[-1]["response"]["status"] == "completed" and text_of(spoken[-1]) == "You said: user speech 1"
    assert text_of(late[-1]) == "You said: [get_weather returned] sunny"
