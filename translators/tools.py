"""Function calling both ways: OpenAI tools → Gemini declarations, Gemini calls ↔ OpenAI call items.

OPENAI_REALTIME.md §3.6, §5.1 (tools, tool_choice); GEMINI_LIVE.md §3.1 (functionDeclarations with
`parametersJsonSchema`, no tool_choice in Live), §3.4 (toolResponse), §9.7. Schemas, arguments and
responses are free-form JSON and are never re-cased.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass
from typing import Any

from translators.errors import ClientProtocolError
from translators.tool_schema import check_tool_schemas

# Gemini's function-name rule (letters, digits, _ . : -, at most 64, not starting with a digit).
FUNCTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")

# Live has no toolConfig (GEMINI_LIVE.md §3.1): `required` and a named function are asked for in the
# system instruction, the closest Gemini allows; `none` withholds the declarations altogether.
REQUIRED_INSTRUCTION = "Always respond by calling one of the available functions."
NAMED_INSTRUCTION = "Always respond by calling the function `{name}`."


class CallStatus(enum.Enum):
    PENDING = "pending"  # Gemini waits for its output
    ANSWERED = "answered"  # the client gave its output
    CANCELLED = "cancelled"  # toolCallCancellation: outputs are refused
    SUPERSEDED = "superseded"  # a new user turn came first: the gateway answered it (translators/supersede.py)


@dataclass
class Call:
    """One function call Gemini made, by OpenAI call_id."""

    name: str
    gemini_id: str | None  # the id to echo in toolResponse (Vertex may omit it)
    status: CallStatus = CallStatus.PENDING
    superseded: bool = False  # Gemini got the gateway's "superseded" answer; the client's output is context


def check_tools(tools: tuple[dict[str, Any], ...], tool_choice: Any, param: str) -> None:
    """Refuse what Gemini cannot take, before any setup is sent."""
    names: set[str] = set()
    for index, tool in enumerate(tools):
        if tool.get("type") != "function":
            raise ClientProtocolError(
                "invalid_value",
                f"Tools of type '{tool.get('type')}' are not available on Gemini; use function tools.",
                param=f"{param}.tools[{index}].type",
            )
        name = str(tool.get("name", ""))
        if not FUNCTION_NAME.match(name):
            raise ClientProtocolError(
                "invalid_value",
                f"Invalid function name '{name}': Gemini needs a letter or underscore first, then up to 63 "
                "letters, digits, '_', '.', ':' or '-'.",
                param=f"{param}.tools[{index}].name",
            )
        if name in names:  # Gemini: "Duplicate function declaration found"
            raise ClientProtocolError(
                "invalid_value", f"Duplicate function name '{name}'.", param=f"{param}.tools[{index}].name"
            )
        names.add(name)
    check_tool_schemas(tools, param)
    if isinstance(tool_choice, dict) and (
        tool_choice.get("type") != "function" or tool_choice.get("name") not in names
    ):
        raise ClientProtocolError(
            "invalid_value", "tool_choice must name one of the session's function tools.", param=f"{param}.tool_choice"
        )


def declarations(tools: tuple[dict[str, Any], ...], tool_choice: Any) -> tuple[list[dict[str, Any]], str]:
    """Gemini function declarations honouring tool_choice, and the instruction it adds (or "")."""
    if tool_choice == "none":
        return [], ""
    chosen = tools
    extra = REQUIRED_INSTRUCTION if tool_choice == "required" else ""
    if isinstance(tool_choice, dict):
        chosen = tuple(t for t in tools if t.get("name") == tool_choice.get("name"))
        extra = NAMED_INSTRUCTION.format(name=tool_choice.get("name"))
    out = []
    for tool in chosen:
        declaration: dict[str, Any] = {"name": tool["name"]}
        if tool.get("description"):
            declaration["description"] = tool["description"]
        if tool.get("parameters"):
            declaration["parametersJsonSchema"] = tool["parameters"]
        out.append(declaration)
    return out, extra


def arguments_json(args: Any) -> str:
    """Gemini's args object as the JSON string OpenAI's `arguments` carries."""
    return json.dumps(args if args is not None else {}, separators=(",", ":"), ensure_ascii=False)


def function_response(output: str) -> dict[str, Any]:
    """An OpenAI output string as Gemini's response object: a JSON object as is, anything else wrapped."""
    try:
        parsed = json.loads(output)
    except ValueError:
        return {"output": output}
    return parsed if isinstance(parsed, dict) else {"output": parsed}
