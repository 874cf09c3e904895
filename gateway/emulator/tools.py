"""The deterministic model's function calling (GEMINI_LIVE.md §3.1 tools, §3.4, §4 toolCall).

* Trigger: the user's text (typed, or the transcript of a spoken turn) contains a declared function's name
  as a whole word, case-insensitively. The first such declaration, in setup order, is called; one call per turn.
* Arguments: for each `required` property of the declaration's schema (`parametersJsonSchema`, else
  `parameters`): a string gets the user's whole text, a number or integer gets 1, a boolean gets true;
  other types are left out. No schema: `{}`.
* After the `toolResponse`, the model says `"{name} returned {response as compact sorted JSON}"`.
* A user text opening with `[<name> returned] ` reports a function result in words (how livegate passes
  on an output that came after a newer turn): it never triggers a call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from schemas.gemini import FunctionDeclaration, Tool

_RESULT_IN_WORDS = re.compile(r"^\[[\w.:-]+ returned\] ")


def match_declaration(tools: Sequence[Tool], text: str) -> FunctionDeclaration | None:
    """The first declared function whose name appears in `text` as a whole word."""
    if _RESULT_IN_WORDS.match(text):
        return None
    for tool in tools:
        for declaration in tool.function_declarations or []:
            pattern = rf"(?<!\w){re.escape(declaration.name)}(?!\w)"
            if re.search(pattern, text, re.IGNORECASE):
                return declaration
    return None


def call_args(declaration: FunctionDeclaration, text: str) -> dict[str, Any]:
    """Deterministic arguments for a call triggered by `text`."""
    schema = (
        declaration.parameters_json_schema if declaration.parameters_json_schema is not None else declaration.parameters
    )
    if not isinstance(schema, dict):
        return {}
    properties = schema.get("properties")
    required = schema.get("required")
    if not isinstance(properties, dict) or not isinstance(required, list):
        return {}
    args: dict[str, Any] = {}
    for name in required:
        prop = properties.get(name) if isinstance(name, str) else None
        kind = _type_of(prop) if isinstance(prop, dict) else None
        if kind == "string":
            args[name] = text
        elif kind in ("number", "integer"):
            args[name] = 1
        elif kind == "boolean":
            args[name] = True
    return args


def _type_of(prop: dict[str, Any]) -> str | None:
    # JSON Schema spells types in lowercase (maybe a list with "null"); the OpenAPI subset in uppercase.
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if isinstance(k, str) and k.lower() != "null"), None)
    return kind.lower() if isinstance(kind, str) else None


def reply_after_tool(name: str, response: dict[str, Any] | None) -> str:
    """What the model says once the function answered."""
    body = json.dumps(response if response is not None else {}, sort_keys=True, separators=(",", ":"))
    return f"{name} returned {body}"
