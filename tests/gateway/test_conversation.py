"""openai-python: history seeding, retrieve/delete, and a mid-session instructions change (issue #4)."""

from __future__ import annotations

from typing import Any

import pytest
from openai import AsyncOpenAI

from schemas.openai import Dialect, validate_server_event
from tests.support.live import MASTER_KEY, LiveGateway


def item(role: str, text: str, item_id: str | None = None) -> dict[str, Any]:
    kind = "output_text" if role == "assistant" else "input_text"
    body: dict[str, Any] = {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}
    return {**body, "id": item_id} if item_id else body


async def next_of(connection: Any, kind: str) -> dict[str, Any]:
    async for event in connection:
        data = event.to_dict()
        validate_server_event(data, Dialect.GA)
        if data["type"] in (kind, "error"):
            return data
    raise AssertionError("connection ended")


async def turn(connection: Any) -> dict[str, Any]:
    await connection.response.create()
    return await next_of(connection, "response.done")


@pytest.mark.parametrize("alias", ["gemini-live", "gemini-3.1-live"])
async def test_seeded_history_reaches_gemini_without_a_reply(gateway: LiveGateway, alias: str) -> None:
    """System/user/assistant items seed context silently; the first reply answers the last user item."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    async with client.realtime.connect(model=alias) as conn:
        await next_of(conn, "session.created")
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        await next_of(conn, "session.updated")
        for role, text in (
            ("system", "Be terse."),
            ("user", "I am Ada."),
            ("assistant", "Hi Ada."),
            ("user", "Who am I?"),
        ):
            await conn.conversation.item.create(item=item(role, text))
            assert (await next_of(conn, "conversation.item.done"))["item"]["role"] == role
        done = await turn(conn)
    assert done["response"]["status"] == "completed"
    assert done["response"]["output"][0]["content"][0]["text"] == "You said: Who am I?"
    # Gemini billed the seeded context too: the prompt holds all four items (one token per word).
    assert done["response"]["usage"]["input_tokens"] >= 9


async def test_retrieve_delete_and_client_ids(gateway: LiveGateway) -> None:
    """Client ids are honoured; retrieve returns the item; delete removes it; unknown ids get error codes."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    async with client.realtime.connect(model="gemini-live") as conn:
        await next_of(conn, "session.created")
        await conn.conversation.item.create(item=item("user", "keep me", "my_item_1"))
        assert (await next_of(conn, "conversation.item.done"))["item"]["id"] == "my_item_1"
        await conn.conversation.item.retrieve(item_id="my_item_1")
        got = await next_of(conn, "conversation.item.retrieved")
        assert got["item"]["content"][0]["text"] == "keep me"
        await conn.conversation.item.delete(item_id="my_item_1")
        assert (await next_of(conn, "conversation.item.deleted"))["item_id"] == "my_item_1"
        await conn.conversation.item.retrieve(item_id="my_item_1", event_id="r2")
        error = await next_of(conn, "error")
        assert error["error"]["code"] == "item_retrieve_invalid_item_id" and error["error"]["event_id"] == "r2"


async def test_mid_session_instructions_change_keeps_the_conversation(gateway: LiveGateway) -> None:
    """A new instruction after a turn reconnects upstream with the resumption handle, invisibly:
    the client sees only session.updated, and the next turn still has the earlier context."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    async with client.realtime.connect(model="gemini-live") as conn:
        await next_of(conn, "session.created")
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"], "instructions": "A"})
        await next_of(conn, "session.updated")
        await conn.conversation.item.create(item=item("user", "first"))
        first = await turn(conn)
        await conn.session.update(session={"type": "realtime", "instructions": "Now be formal."})
        updated = await next_of(conn, "session.updated")
        assert updated["session"]["instructions"] == "Now be formal."
        await conn.conversation.item.create(item=item("user", "second"))
        second = await turn(conn)
    assert second["response"]["output"][0]["content"][0]["text"] == "You said: second"
    # The resumed upstream still bills the first turn's context: the prompt grew.
    assert second["response"]["usage"]["input_tokens"] > first["response"]["usage"]["input_tokens"]
