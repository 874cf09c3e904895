"""`response.create` with an `input` array (OPENAI_REALTIME.md §5.1; openai-python
`ResponseCreateEventWithReferencesParam`): the items, inline or `item_reference`, this response answers.

OpenAI gives such a response a context of its own. A Gemini Live session has exactly one context that
cannot be forked, so the gateway sends the input items as the turn this response answers (on top of what
Gemini already heard) and leaves the conversation's unsent items for the next default response. Inline
items are not added to the conversation; an empty `input` (a response with no context at all) cannot be
made and is refused. Function items travel as words, since Gemini takes a `functionResponse` only for a
call it is waiting on.
"""

from __future__ import annotations

from typing import Any

from schemas.profiles import UserText
from translators.errors import ClientProtocolError
from translators.history import as_turns, realtime_text
from translators.items import message_item
from translators.media import video_frames
from translators.state import SessionState

Item = dict[str, Any]


def input_items(entries: list[dict[str, Any]], state: SessionState) -> tuple[list[Item], dict[str, list[Item]]]:
    """The input's items (references resolved, inline items checked) and the media of the inline ones."""
    if not entries:
        raise ClientProtocolError(
            "invalid_value",
            "An empty response.input (a response with no context) cannot be made on Gemini Live, whose session "
            "has one context; leave input out to answer the conversation.",
            param="response.input",
        )
    items: list[Item] = []
    media: dict[str, list[Item]] = {}
    for index, entry in enumerate(entries):
        where = f"response.input[{index}]"
        kind = entry.get("type")
        if kind == "item_reference":
            found = state.conversation.get(str(entry.get("id")))
            if found is None:
                raise ClientProtocolError(
                    "invalid_value", f"No item with id '{entry.get('id')}' in this conversation.", param=f"{where}.id"
                )
            items.append(found)
        elif kind == "message":
            items.append(_inline(entry, state, where, media))
        elif kind in ("function_call", "function_call_output"):
            items.append(_in_words(entry, state))
        else:
            raise ClientProtocolError(
                "invalid_value", f"Items of type '{kind}' are not supported in response.input.", param=f"{where}.type"
            )
    return [_in_words(item, state) if item.get("type") != "message" else item for item in items], media


def input_turn(state: SessionState, entries: list[dict[str, Any]], instructions: str) -> list[Item]:
    """The messages that make Gemini answer `entries`, checked; the turn is recorded as the one in flight.
    The conversation's unsent items wait for a default response."""
    if state.tool_outputs or state.activity_open:
        raise ClientProtocolError(
            "invalid_value",
            "Answer the pending function outputs or audio first (response.create without input).",
            param="response.input",
        )
    items, media = input_items(entries, state)
    messages = input_messages(items, instruction_note(instructions), state, media)
    state.turn_items, state.turn_trigger = [], messages[-1]
    state.turn_history = list((messages[-1].get("clientContent") or {}).get("turns", ()))
    return messages


def instruction_note(instructions: str) -> list[Item]:
    """Per-response instructions as the labelled system item that travels with the turn (none: [])."""
    content = [{"type": "input_text", "text": instructions}]
    return [{"type": "message", "role": "system", "content": content}] if instructions else []


def input_messages(
    items: list[Item], note: list[Item], state: SessionState, media: dict[str, list[Item]]
) -> list[Item]:
    """What Gemini gets for the response: one clientContent turn (clientContent models), or the images as video
    frames and the words as realtime text (3.x)."""
    everything = {**state.media, **media}
    if state.profile.user_text is UserText.CLIENT_CONTENT:
        return [{"clientContent": {"turns": as_turns(note + items, everything), "turnComplete": True}}]
    text = realtime_text(note + items)
    if not realtime_text(items):
        raise ClientProtocolError(
            "missing_input", "This model answers words: response.input needs some text.", param="response.input"
        )
    return [*video_frames(items, everything), {"realtimeInput": {"text": text}}]


def _inline(entry: Item, state: SessionState, where: str, media: dict[str, list[Item]]) -> Item:
    try:
        item, blobs = message_item(entry, state)
    except ClientProtocolError as exc:
        param = exc.param.replace("item", where, 1) if exc.param else where
        raise ClientProtocolError(exc.code, exc.message, param=param) from None
    if blobs:
        media[item["id"]] = blobs
    return item


def _in_words(item: Item, state: SessionState) -> Item:
    """A function call or output as a labelled user message, so Gemini hears it as context."""
    if item.get("type") == "function_call":
        text = f"[called {item.get('name', '')}({item.get('arguments', '')})]"
    else:
        call = state.calls.get(str(item.get("call_id")))
        name = call.name if call is not None else "function"
        text = f"[{name} returned] {item.get('output', '')}"
    content = [{"type": "input_text", "text": text}]
    return {"id": item.get("id", ""), "type": "message", "role": "user", "content": content}
