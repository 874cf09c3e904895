"""Function calling: declarations, call items in the golden order, outputs, held audio, cancellation."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.openai import Dialect
from tests.translators.harness import Playbook, events, setups, types, upstream
from tests.translators.test_golden import collapse, golden, shape

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
USER = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "weather in Paris?"}]}
CALL = {"toolCall": {"functionCalls": [{"id": "fc_1", "name": "get_weather", "args": {"city": "Paris"}}]}}


def with_tools(tool_choice: Any = "auto", dialect: Dialect = Dialect.GA) -> tuple[Playbook, dict[str, Any]]:
    play = Playbook(dialect)
    play.start()
    session: dict[str, Any] = {"tools": [WEATHER], "tool_choice": tool_choice}
    if dialect is Dialect.GA:
        session["type"] = "realtime"
    play.send({"type": "session.update", "session": session})
    (setup,) = setups(play.send({"type": "conversation.item.create", "item": USER}))
    return play, setup["setup"]


def test_tools_become_declarations_with_json_schema_untouched() -> None:
    """session.tools → functionDeclarations with parametersJsonSchema exactly as sent (no re-casing)."""
    _, setup = with_tools()
    (declaration,) = setup["tools"][0]["functionDeclarations"]
    assert declaration == {
        "name": "get_weather",
        "description": "Weather for a city",
        "parametersJsonSchema": WEATHER["parameters"],
    }


@pytest.mark.parametrize(
    ("choice", "declared", "instruction"),
    [
        ("none", False, None),
        ("required", True, "Always respond by calling one of the available functions."),
        ({"type": "function", "name": "get_weather"}, True, "Always respond by calling the function `get_weather`."),
    ],
)
def test_tool_choice_is_honoured_as_gemini_allows(choice: Any, declared: bool, instruction: str | None) -> None:
    """none withholds the declarations; required and a named function are asked for in the instruction."""
    _, setup = with_tools(choice)
    assert ("tools" in setup) is declared
    text = setup.get("systemInstruction", {}).get("parts", [{}])[0].get("text")
    assert text == instruction


def test_unsupported_tools_are_refused_by_field() -> None:
    """MCP tools and names Gemini cannot take get an error naming the field, before any setup."""
    play = Playbook(Dialect.GA)
    play.start()
    mcp = {"type": "mcp", "server_label": "x", "server_url": "https://example.invalid"}
    (error,) = events(play.send({"type": "session.update", "session": {"type": "realtime", "tools": [mcp]}}))
    assert error["error"]["param"] == "session.tools[0].type"
    bad = {**WEATHER, "name": "1bad"}
    (error,) = events(play.send({"type": "session.update", "session": {"type": "realtime", "tools": [bad]}}))
    assert error["error"]["param"] == "session.tools[0].name"


def call_turn() -> tuple[Playbook, list[dict[str, Any]]]:
    play, _ = with_tools()
    out = play.send({"type": "response.create"})
    play.connect()
    out += play.recv(CALL)
    return play, events(out)


def test_tool_call_follows_golden_order() -> None:
    """A toolCall becomes the golden function-call sequence, completed exactly once, then response.done."""
    _, seq = call_turn()
    want = [e for e in golden("ga_function_call.jsonl") if e["type"] != "conversation.item.added" or "FCAL" in str(e)]
    want = want[: [e["type"] for e in want].index("response.done") + 1]
    assert collapse(seq) == collapse(want)
    no_delta = "response.function_call_arguments.delta"
    assert [shape(e) for e in seq[1:-1] if e["type"] != no_delta] == [
        shape(e) for e in want[1:-1] if e["type"] != no_delta
    ]
    assert [e["item"]["status"] for e in seq if e["type"].startswith("response.output_item")] == [
        "in_progress",
        "completed",
    ]
    done = seq[-1]["response"]["output"][0]
    assert (done["call_id"], done["name"], done["arguments"]) == ("fc_1", "get_weather", '{"city":"Paris"}')


def test_output_then_create_sends_tool_response() -> None:
    """function_call_output + response.create → toolResponse with the id, name and a JSON object response."""
    play, _ = call_turn()
    out = play.send(
        {
            "type": "conversation.item.create",
            "item": {"type": "function_call_output", "call_id": "fc_1", "output": '{"temp_c": 21}'},
        }
    )
    assert types(out) == ["conversation.item.added", "conversation.item.done"] and upstream(out) == []
    sent = upstream(play.send({"type": "response.create"}))
    assert sent == [
        {"toolResponse": {"functionResponses": [{"name": "get_weather", "response": {"temp_c": 21}, "id": "fc_1"}]}}
    ]
    out = play.recv({"serverContent": {"outputTranscription": {"text": "21 degrees"}}})
    out += play.recv({"serverContent": {"turnComplete": True}})
    assert types(out)[-1] == "response.done" and "response.created" not in types(out)


def test_non_json_output_is_wrapped() -> None:
    """A plain-text output travels as {"output": text}."""
    play, _ = call_turn()
    play.send(
        {
            "type": "conversation.item.create",
            "item": {"type": "function_call_output", "call_id": "fc_1", "output": "sunny"},
        }
    )
    (sent,) = upstream(play.send({"type": "response.create"}))
    assert sent["toolResponse"]["functionResponses"][0]["response"] == {"output": "sunny"}


def test_mic_audio_is_held_while_a_call_is_pending() -> None:
    """Audio during a pending call is held, then follows the toolResponse in order."""
    play, _ = call_turn()
    assert upstream(play.send({"type": "input_audio_buffer.append", "audio": "AAAA"})) == []
    play.send(
        {
            "type": "conversation.item.create",
            "item": {"type": "function_call_output", "call_id": "fc_1", "output": "{}"},
        }
    )
    sent = upstream(play.send({"type": "response.create"}))
    assert list(sent[0]) == ["toolResponse"] and sent[1]["realtimeInput"]["audio"]["data"] == "AAAA"


class _NoWalk(dict[str, Any]):
    """The session's calls, refusing to be walked: an append must not look at every call the session made."""

    def values(self) -> Any:
        raise AssertionError("the calls were walked")

    def items(self) -> Any:
        raise AssertionError("the calls were walked")

    def __iter__(self) -> Any:
        raise AssertionError("the calls were walked")


def test_an_append_does_not_walk_the_session_s_calls() -> None:
    """Whether calls are pending is a count kept as their status changes (SessionState.settle), read per append:
    a session's calls are all kept (late outputs are refused by them), so a walk per audio frame would grow with
    every tool call the session ever made (issue #15)."""
    play, _ = call_turn()
    assert play.state.pending_calls == 1
    play.send({"type": "conversation.item.create",
               "item": {"type": "function_call_output", "call_id": "fc_1", "output": "{}"}})
    play.send({"type": "response.create"})
    play.recv({"serverContent": {"turnComplete": True}})
    assert play.state.pending_calls == 0 and not play.state.calls_pending
    play.state.calls = _NoWalk(play.state.calls)
    (sent,) = upstream(play.client.feed({"type": "input_audio_buffer.append", "audio": "AAAA"}))
    assert sent["realtimeInput"]["audio"]["data"] == "AAAA"


def test_cancelled_calls_refuse_late_outputs() -> None:
    """toolCallCancellation: a later output for that call gets an error and is not forwarded."""
    play, _ = call_turn()
    play.recv({"toolCallCancellation": {"ids": ["fc_1"]}})
    out = play.send(
        {
            "type": "conversation.item.create",
            "item": {"type": "function_call_output", "call_id": "fc_1", "output": "{}"},
        }
    )
    (error,) = events(out)
    assert "cancelled" in error["error"]["message"] and not upstream(out)


def test_unknown_call_id_is_an_error() -> None:
    """An output for a call that was never made is refused with the param named."""
    play, _ = call_turn()
    (error,) = events(
        play.send(
            {
                "type": "conversation.item.create",
                "item": {"type": "function_call_output", "call_id": "nope", "output": "{}"},
            }
        )
    )
    assert error["error"]["param"] == "item.call_id"


def test_text_before_call_gets_its_own_output_index() -> None:
    """A spoken part before the call is output 0, the call output 1 (§3.6)."""
    play, _ = with_tools()
    play.send({"type": "response.create"})
    play.connect()
    play.recv({"serverContent": {"outputTranscription": {"text": "Let me check."}}})
    seq = events(play.recv(CALL))
    added = [e for e in seq if e["type"] == "response.output_item.added"]
    assert [e["output_index"] for e in added] == [1] and seq[-1]["response"]["output"][0]["type"] == "message"


def test_a_call_id_gemini_sends_again_is_counted_once() -> None:
    """Gemini repeating a call's id (a turn replayed after a lost connection, say) replaces the call, as before; the
    count of pending calls the appends read stays right (the harness checks it after every step)."""
    play, _ = call_turn()
    play.recv(CALL)
    assert play.state.pending_calls == 1
    play.send({"type": "conversation.item.create",
               "item": {"type": "function_call_output", "call_id": "fc_1", "output": "{}"}})
    assert play.state.pending_calls == 0 and play.state.calls_pending  # the output waits for response.create
    (sent,) = upstream(play.send({"type": "response.create"}))
    assert "toolResponse" in sent and not play.state.calls_pending
