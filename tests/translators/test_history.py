"""History seeding per model family, per-response options, out-of-band responses."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.openai import Dialect
from tests.translators.harness import Playbook, events, setups, types, upstream


def message(role: str, text: str) -> dict[str, Any]:
    kind = "output_text" if role == "assistant" else "input_text"
    return {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}


def seeded(model: str) -> tuple[Playbook, list[Any]]:
    play = Playbook(Dialect.GA, model=model)
    play.start()
    out = []
    for role, text in (
        ("system", "Be terse."),
        ("user", "My name is Ada."),
        ("assistant", "Noted."),
        ("user", "Name?"),
    ):
        out += play.send({"type": "conversation.item.create", "item": message(role, text)})
    return play, out


def test_history_on_client_content_models_goes_with_the_turn() -> None:
    """2.5: seeded items trigger nothing; response.create sends them all as turns with turnComplete."""
    play, out = seeded("gemini-2.5-flash-native-audio-preview-12-2025")
    assert types(out).count("conversation.item.added") == 4 and upstream(out) == []
    play.send({"type": "response.create"})
    (sent,) = upstream(play.connect())
    assert sent["clientContent"]["turnComplete"] is True
    assert [(t["role"], t["parts"][0]["text"]) for t in sent["clientContent"]["turns"]] == [
        ("user", "[system] Be terse."),
        ("user", "My name is Ada."),
        ("model", "Noted."),
        ("user", "Name?"),
    ]


def test_history_on_3x_models_is_initial_history() -> None:
    """3.1: no dial until the trigger; older items go as initial history, the new text as realtime text."""
    play, out = seeded("gemini-3.1-flash-live-preview")
    assert setups(out) == []
    (setup,) = setups(play.send({"type": "response.create"}))
    assert setup["setup"]["historyConfig"] == {"initialHistoryInClientContent": True}
    history, text = upstream(play.connect())
    assert history["clientContent"]["turnComplete"] is True and len(history["clientContent"]["turns"]) == 3
    assert text == {"realtimeInput": {"text": "Name?"}}


def test_per_response_instructions_travel_with_the_turn() -> None:
    """response.instructions reach Gemini ahead of the turn, labelled; the session's instructions stay."""
    play = Playbook(Dialect.GA)
    play.start()
    play.send({"type": "conversation.item.create", "item": message("user", "hi")})
    play.send({"type": "response.create", "response": {"instructions": "Answer in French."}})
    (sent,) = upstream(play.connect())
    assert sent["clientContent"]["turns"][0] == {"role": "user", "parts": [{"text": "[system] Answer in French."}]}


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"tools": [{"type": "function", "name": "x"}]}, "response.tools"),
        ({"audio": {"output": {"voice": "echo"}}}, "response.audio.output.voice"),
        ({"max_output_tokens": 5}, "response.max_output_tokens"),
        ({"conversation": "conv_123"}, "response.conversation"),
    ],
)
def test_overrides_that_need_a_new_setup_are_refused(params: dict[str, Any], param: str) -> None:
    """Overrides Gemini cannot take per response get an error naming them, and no response starts."""
    play = Playbook(Dialect.GA)
    play.start()
    play.send({"type": "conversation.item.create", "item": message("user", "hi")})
    (error,) = events(play.send({"type": "response.create", "event_id": "e", "response": params}))
    assert error["error"]["param"] == param and error["error"]["event_id"] == "e" and play.state.response is None
    assert play.state.unsent_items  # the user item is still waiting for a valid response.create


def test_out_of_band_response_is_not_stored() -> None:
    """conversation: none → conversation_id null, no conversation.item events, metadata echoed."""
    play = Playbook(Dialect.GA)
    play.start()
    play.send({"type": "conversation.item.create", "item": message("user", "hi")})
    out = play.send({"type": "response.create", "response": {"conversation": "none", "metadata": {"k": "v"}}})
    play.connect()
    out += play.recv({"serverContent": {"outputTranscription": {"text": "Yo"}}})
    out += play.recv({"serverContent": {"turnComplete": True}})
    assert not [t for t in types(out) if t.startswith("conversation.item")]
    done = events(out)[-1]["response"]
    assert done["conversation_id"] is None and done["metadata"] == {"k": "v"}
    assert len(play.state.conversation) == 1
