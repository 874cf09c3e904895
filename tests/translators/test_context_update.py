"""Mid-session instructions and tools: contextUpdate in place where the profile allows, else a new upstream."""

from __future__ import annotations

from typing import Any

from schemas.openai import Dialect
from tests.translators.harness import Playbook, setups, types, upstream
from translators.resume import Retry

USER = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]}
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def live(model: str) -> Playbook:
    """A session whose first turn completed on `model`."""
    play = Playbook(Dialect.GA, model=model)
    play.start()
    play.send({"type": "session.update", "session": {"type": "realtime", "instructions": "Be brief."}})
    play.send({"type": "conversation.item.create", "item": USER})
    play.send({"type": "response.create"})
    play.connect()
    play.recv({"serverContent": {"turnComplete": True}})
    play.recv({"sessionResumptionUpdate": {"newHandle": "h1", "resumable": True}})
    return play


def update(play: Playbook, **session: Any) -> list[Any]:
    return play.send({"type": "session.update", "session": {"type": "realtime", **session}})


def test_instructions_change_in_place_on_38() -> None:
    """gemini-3.8-live: new instructions go as one contextUpdate; no reconnect; session.updated as usual."""
    play = live("gemini-3.8-live")
    out = update(play, instructions="Answer in French.")
    assert types(out) == ["session.updated"] and setups(out) == []
    assert upstream(out) == [
        {"contextUpdate": {"systemInstruction": {"parts": [{"text": "Answer in French."}], "role": "user"}}}
    ]


def test_tools_change_in_place_and_can_be_cleared() -> None:
    """New tools replace the old list (BLOCKING on 3.8); an empty list clears them."""
    play = live("gemini-3.8-live")
    (added,) = upstream(update(play, tools=[WEATHER]))
    (declaration,) = added["contextUpdate"]["tools"]["tools"][0]["functionDeclarations"]
    assert declaration["name"] == "get_weather" and declaration["behavior"] == "BLOCKING"
    assert "systemInstruction" not in added["contextUpdate"]
    assert upstream(update(play, tools=[])) == [{"contextUpdate": {"tools": {"tools": []}}}]


def test_other_changes_still_reconnect() -> None:
    """A voice change (or a model without contextUpdate) takes the reconnect path with the resumption handle."""
    play = live("gemini-3.8-live")
    out = update(play, audio={"output": {"voice": "echo"}}, instructions="x")
    (setup,) = setups(out)
    assert upstream(out) == [] and setup["setup"]["sessionResumption"] == {"handle": "h1"}
    on_31 = live("gemini-3.1-flash-live-preview")
    out = update(on_31, instructions="Answer in French.")
    assert upstream(out) == [] and len(setups(out)) == 1


def test_a_refused_context_update_falls_back_to_reconnecting() -> None:
    """1007 after a contextUpdate: the session resumes with the new setup and never sends contextUpdate again."""
    play = live("gemini-3.8-live")
    update(play, instructions="Answer in French.")
    out = play.upstream.upstream_lost(
        "invalid_request_error", "upstream_invalid_argument", "refused", 4000, Retry.NO
    )
    (setup,) = setups(out)
    assert "error" not in types(out)
    assert setup["setup"]["systemInstruction"]["parts"][0]["text"] == "Answer in French."
    play.connect()
    out = update(play, instructions="Now in German.")
    assert upstream(out) == [] and len(setups(out)) == 1


def test_a_1007_without_a_pending_update_is_still_a_refusal() -> None:
    """Once a turn completed after the update, a later 1007 is reported, not retried."""
    play = live("gemini-3.8-live")
    update(play, instructions="Answer in French.")
    play.send({"type": "conversation.item.create", "item": USER})
    play.send({"type": "response.create"})
    play.recv({"serverContent": {"turnComplete": True}})
    out = play.upstream.upstream_lost(
        "invalid_request_error", "upstream_invalid_argument", "refused", 4000, Retry.NO
    )
    assert setups(out) == [] and "error" in types(out)
