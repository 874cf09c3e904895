"""Tool schemas: invalid JSON Schemas and schemas Gemini refuses are errors at session.update / response.create."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.openai import Dialect
from tests.translators.harness import Playbook, events, setups, types
from translators.tool_schema import MAX_DECLARATIONS

GOOD = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def tool(parameters: Any, name: str = "get_weather") -> dict[str, Any]:
    return {"type": "function", "name": name, "parameters": parameters}


BAD_SCHEMAS = [
    (
        {"type": "object", "properties": {"city": {"type": "strng"}}},
        ".properties.city.type",
        "In context=('properties', 'city', 'type'), 'strng' is not valid under any of the given schemas.",
    ),
    ({"type": "object", "required": "city"}, ".required", "'city' is not of type 'array'"),
    ({"type": "object", "properties": []}, ".properties", "[] is not of type 'object'"),
    ({"type": "string"}, ".type", "schema must be a JSON Schema of 'type: \"object\"', got 'type: \"string\"'"),
    (
        {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": {"n": {"minimum": "1"}}},
        ".properties.n.minimum",
        "'1' is not of type 'number'",
    ),
]


def ga_update(tools: list[dict[str, Any]], event_id: str = "evt_1") -> dict[str, Any]:
    return {"type": "session.update", "event_id": event_id, "session": {"type": "realtime", "tools": tools}}


@pytest.mark.parametrize(("schema", "where", "words"), BAD_SCHEMAS)
def test_invalid_schema_is_refused_at_session_update(schema: dict[str, Any], where: str, words: str) -> None:
    """An invalid tool schema gets OpenAI's error naming the field; no session.updated, config unchanged."""
    play = Playbook(Dialect.GA)
    play.start()
    before = play.state.config
    (error,) = events(play.send(ga_update([GOOD, tool(schema, "other")])))
    assert error["type"] == "error"
    detail = error["error"]
    assert detail["code"] == "invalid_function_parameters" and detail["event_id"] == "evt_1"
    assert detail["param"] == "session.tools[1].parameters" + where
    assert words in detail["message"] and "'other'" in detail["message"]
    assert play.state.config is before


def test_previous_tools_stay_after_a_refused_update() -> None:
    """A good update, then a bad one: the session keeps the good tools and Gemini only ever sees them."""
    play = Playbook(Dialect.GA)
    play.start()
    assert types(play.send(ga_update([GOOD]))) == ["session.updated"]
    assert types(play.send(ga_update([tool({"type": "object", "properties": {"x": {"type": 1}}})]))) == ["error"]
    message = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
    (setup,) = setups(play.send({"type": "conversation.item.create", "item": message}))
    (declaration,) = setup["setup"]["tools"][0]["functionDeclarations"]
    assert declaration["parametersJsonSchema"] == GOOD["parameters"]


def test_beta_session_update_is_checked_too() -> None:
    """Beta flat tools get the same check and the same param path."""
    play = Playbook(Dialect.BETA)
    play.start()
    bad = {"type": "function", "name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "x"}}}}
    (error,) = events(play.send({"type": "session.update", "session": {"tools": [bad]}}))
    assert error["error"]["param"] == "session.tools[0].parameters.properties.a.type"


def test_duplicate_function_names_are_refused() -> None:
    """Two tools with one name: Gemini refuses duplicate declarations, so the update is refused."""
    play = Playbook(Dialect.GA)
    play.start()
    (error,) = events(play.send(ga_update([GOOD, GOOD])))
    assert error["error"]["param"] == "session.tools[1].name" and "Duplicate" in error["error"]["message"]


def test_too_many_functions_are_refused() -> None:
    """More declarations than Gemini takes in one request: refused by count."""
    play = Playbook(Dialect.GA)
    play.start()
    many = [tool({"type": "object"}, f"f{n}") for n in range(MAX_DECLARATIONS + 1)]
    (error,) = events(play.send(ga_update(many)))
    assert error["error"]["param"] == "session.tools" and error["error"]["code"] == "array_above_max_length"


def test_schema_without_type_or_properties_is_accepted() -> None:
    """Valid schemas pass: no type (a $ref to $defs), nullable types, empty parameters."""
    play = Playbook(Dialect.GA)
    play.start()
    ref = {"$ref": "#/$defs/A", "$defs": {"A": {"type": "object", "properties": {"a": {"type": ["string", "null"]}}}}}
    assert types(play.send(ga_update([tool(ref), tool({}, "g"), tool({"type": "object"}, "h")]))) == [
        "session.updated"
    ]


def test_invalid_schema_in_response_create_is_named() -> None:
    """response.create tools are checked before the must-match-the-session rule, so the error names the field."""
    play = Playbook(Dialect.GA)
    play.start()
    message = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
    play.send({"type": "conversation.item.create", "item": message})
    bad = tool({"type": "object", "properties": {"city": {"type": "strng"}}})
    (error,) = events(play.send({"type": "response.create", "event_id": "r1", "response": {"tools": [bad]}}))
    assert error["error"]["code"] == "invalid_function_parameters" and error["error"]["event_id"] == "r1"
    assert error["error"]["param"] == "response.tools[0].parameters.properties.city.type"
    assert play.state.response is None


def test_deeply_nested_schema_is_an_error_not_a_crash() -> None:
    """A schema nested past the recursion limit is refused with a clear message."""
    schema: dict[str, Any] = {"type": "object"}
    for _ in range(3000):
        schema = {"type": "object", "properties": {"a": schema}}
    play = Playbook(Dialect.GA)
    play.start()
    (error,) = events(play.send(ga_update([tool(schema)])))
    assert error["error"]["code"] == "invalid_function_parameters" and "too deeply" in error["error"]["message"]
