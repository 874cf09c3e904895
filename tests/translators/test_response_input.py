"""response.create with `input`: references and inline items are the turn the response answers."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.openai import Dialect
from tests.translators.harness import Playbook, events, types, upstream


def message(text: str, role: str = "user", **extra: Any) -> dict[str, Any]:
    return {"type": "message", "role": role, "content": [{"type": "input_text", "text": text}], **extra}


def answered(model: str = "gemini-2.5-flash-native-audio-preview-12-2025") -> Playbook:
    """One completed default turn: the user's item `item_a` is in the conversation and was heard."""
    play = Playbook(Dialect.GA, model=model)
    play.start()
    play.send({"type": "conversation.item.create", "item": message("The sky is green.", id="item_a")})
    play.send({"type": "response.create"})
    play.connect()
    play.recv({"serverContent": {"outputTranscription": {"text": "OK"}}})
    play.recv({"serverContent": {"turnComplete": True}})
    return play


def create(**response: Any) -> dict[str, Any]:
    return {"type": "response.create", "event_id": "rc", "response": response}


def test_references_and_inline_items_are_the_turn() -> None:
    """2.5: the referenced item and the inline one go as one clientContent turn; unsent items wait; the
    out-of-band response stores nothing."""
    play = answered()
    play.send({"type": "conversation.item.create", "item": message("pending", id="item_b")})
    out = play.send(
        create(
            conversation="none",
            input=[{"type": "item_reference", "id": "item_a"}, message("What color is the sky?")],
            metadata={"topic": "sky"},
        )
    )
    assert types(out) == ["response.created"]
    assert upstream(out) == [
        {
            "clientContent": {
                "turns": [
                    {"role": "user", "parts": [{"text": "The sky is green."}]},
                    {"role": "user", "parts": [{"text": "What color is the sky?"}]},
                ],
                "turnComplete": True,
            }
        }
    ]
    assert play.state.unsent_items == ["item_b"] and len(play.state.conversation) == 3
    done = play.recv({"serverContent": {"outputTranscription": {"text": "Green."}}})
    done += play.recv({"serverContent": {"turnComplete": True}})
    final = events(done)[-1]["response"]
    assert final["conversation_id"] is None and final["metadata"] == {"topic": "sky"}
    assert len(play.state.conversation) == 3


def test_realtime_text_models_get_the_words() -> None:
    """3.1: the words of the referenced and the inline item as realtimeInput.text."""
    play = answered("gemini-3.1-flash-live-preview")
    out = play.send(create(input=[{"type": "item_reference", "id": "item_a"}, message("Repeat it.")]))
    assert upstream(out) == [{"realtimeInput": {"text": "The sky is green.\nRepeat it."}}]


@pytest.mark.parametrize(
    ("entries", "param", "words"),
    [
        ([{"type": "item_reference", "id": "nope"}], "response.input[0].id", "No item with id 'nope'"),
        ([], "response.input", "empty response.input"),
        (
            [
                message("x"),
                {"type": "message", "role": "user", "content": [{"type": "input_image", "image_url": "http://x"}]},
            ],
            "response.input[1].content[0].image_url",
            "data URL",
        ),
    ],
)
def test_bad_input_is_refused_by_field(entries: list[dict[str, Any]], param: str, words: str) -> None:
    """An unknown reference, an empty input, a bad inline item: a named error and no response."""
    play = answered()
    (error,) = events(play.send(create(input=entries)))
    assert error["error"]["param"] == param and words in error["error"]["message"] and play.state.response is None
