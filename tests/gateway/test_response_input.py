"""response.create with an `input` array of item references and inline items, sent as openai-python's own
`ResponseCreateEventWithReferencesParam` (issue #13): an out-of-band answer that leaves the conversation alone."""

from __future__ import annotations

import pytest
from openai import AsyncOpenAI
from openai.types.realtime.response_create_event_with_references_param import ResponseCreateEventWithReferencesParam

from schemas.openai import Dialect
from tests.gateway.test_openai_python import collect_until_done, text_item
from tests.gateway.test_tool_edges import checked, text_of
from tests.support.live import MASTER_KEY, LiveGateway


@pytest.mark.parametrize(
    ("alias", "heard"),
    [
        ("gemini-live", "What color is the sky?"),  # clientContent turns: the model answers the last one
        ("gemini-3.1-live", "The sky is green.\nWhat color is the sky?"),  # realtime text: one text, both items
    ],
)
async def test_out_of_band_response_over_referenced_items(gateway: LiveGateway, alias: str, heard: str) -> None:
    """A turn, then response.create{conversation: none, input: [reference, inline message], metadata}: the
    answer covers exactly those items, is not stored, and the next default turn continues the conversation."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    async with client.realtime.connect(model=alias) as connection:
        await connection.recv()
        await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        await connection.recv()
        await connection.conversation.item.create(item={**text_item("The sky is green."), "id": "item_sky"})
        await connection.response.create()
        first = await collect_until_done(connection)
        event: ResponseCreateEventWithReferencesParam = {
            "type": "response.create",
            "event_id": "oob",
            "response": {
                "conversation": "none",
                "metadata": {"purpose": "check"},
                "output_modalities": ["text"],
                "input": [{"type": "item_reference", "id": "item_sky"}, text_item("What color is the sky?")],
            },
        }
        await connection.send(event)
        side = await collect_until_done(connection)
        await connection.conversation.item.create(item=text_item("Thanks"))
        await connection.response.create()
        last = await collect_until_done(connection)
    checked([*first, *side, *last], Dialect.GA)
    assert text_of(side[-1]) == f"You said: {heard}"
    done = side[-1]["response"]
    assert done["conversation_id"] is None and done["metadata"] == {"purpose": "check"}
    assert not [e for e in side if e["type"].startswith("conversation.item")]
    assert text_of(last[-1]) == "You said: Thanks"
    previous = next(e for e in last if e["type"] == "conversation.item.added")["previous_item_id"]
    assert previous == first[-1]["response"]["output"][0]["id"]
