"""openai-python, GA and beta, holds text conversations through the gateway and the built-in emulator."""

from __future__ import annotations

from typing import Any

import pytest
from openai import AsyncOpenAI

from schemas.openai import Dialect, validate_server_event
from tests.support.live import MASTER_KEY, LiveGateway

USER_TEXT = "What is the capital of France?"


async def collect_until_done(connection: Any) -> list[dict[str, Any]]:
    seen = []
    async for event in connection:
        seen.append(event.to_dict())
        if event.type in ("response.done", "error"):
            break
    return seen


def text_item(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


@pytest.mark.parametrize("alias", ["gemini-live", "gemini-3.1-live", "gemini-3.8-thinking", "gemini-live-text"])
async def test_ga_text_turn(gateway: LiveGateway, alias: str) -> None:
    """GA client.realtime.connect completes a text turn on every kind of model, golden order, valid shapes."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    async with client.realtime.connect(model=alias) as connection:
        created = await connection.recv()
        assert created.type == "session.created"
        await connection.session.update(
            session={"type": "realtime", "output_modalities": ["text"], "instructions": "Be brief."}
        )
        updated = await connection.recv()
        assert updated.type == "session.updated" and updated.session.instructions == "Be brief."
        await connection.conversation.item.create(item=text_item(USER_TEXT))
        await connection.response.create()
        seen = await collect_until_done(connection)
    for event in [created.to_dict(), updated.to_dict(), *seen]:
        validate_server_event(event, Dialect.GA)
    kinds = [e["type"] for e in seen]
    assert kinds[:3] == ["conversation.item.added", "conversation.item.done", "response.created"]
    assert kinds[-3:] == ["conversation.item.done", "response.output_item.done", "response.done"]
    text = "".join(e["delta"] for e in seen if e["type"] == "response.output_text.delta")
    assert text == f"You said: {USER_TEXT}"
    done = seen[-1]["response"]
    assert done["status"] == "completed" and done["output"][0]["content"][0]["text"] == text
    assert done["usage"]["total_tokens"] == done["usage"]["input_tokens"] + done["usage"]["output_tokens"] > 0


async def test_beta_text_turn(gateway: LiveGateway) -> None:
    """Beta client.beta.realtime.connect gets beta names (response.text.delta, conversation.item.created)."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base, websocket_base_url=gateway.ws_base)
    async with client.beta.realtime.connect(model="gemini-live") as connection:
        created = await connection.recv()
        assert created.type == "session.created" and created.session.modalities == ["audio", "text"]
        await connection.session.update(session={"modalities": ["text"], "temperature": 0.7})
        assert (await connection.recv()).type == "session.updated"
        await connection.conversation.item.create(item=text_item("hello"))
        await connection.response.create()
        seen = await collect_until_done(connection)
    for event in seen:
        validate_server_event(event, Dialect.BETA)
    kinds = [e["type"] for e in seen]
    assert kinds[0] == "conversation.item.created" and "response.text.delta" in kinds
    assert "conversation.item.done" not in kinds and kinds[-1] == "response.done"
    assert "".join(e["delta"] for e in seen if e["type"] == "response.text.delta") == "You said: hello"


async def test_two_turns_keep_context_and_ids(gateway: LiveGateway) -> None:
    """A second turn in the same session links to the first turn's items and gets a new response id."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    async with client.realtime.connect(model="gemini-live") as connection:
        await connection.recv()
        await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        await connection.recv()
        turns = []
        for text in ("one", "two"):
            await connection.conversation.item.create(item=text_item(text))
            await connection.response.create()
            turns.append(await collect_until_done(connection))
    first_assistant = turns[0][-1]["response"]["output"][0]["id"]
    second_user = next(e for e in turns[1] if e["type"] == "conversation.item.added")
    assert second_user["previous_item_id"] == first_assistant
    assert turns[0][-1]["response"]["id"] != turns[1][-1]["response"]["id"]


async def test_audio_response_streams_audio_and_transcript(gateway: LiveGateway) -> None:
    """With the default audio output, the client gets output_audio deltas and their transcript."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    async with client.realtime.connect(model="gemini-live") as connection:
        await connection.recv()
        await connection.conversation.item.create(item=text_item("hi"))
        await connection.response.create()
        seen = await collect_until_done(connection)
    kinds = [e["type"] for e in seen]
    assert "response.output_audio.delta" in kinds
    transcript = "".join(e["delta"] for e in seen if e["type"] == "response.output_audio_transcript.delta")
    assert transcript == "You said: hi"
    assert seen[-1]["response"]["output"][0]["content"] == [{"type": "output_audio", "transcript": transcript}]
