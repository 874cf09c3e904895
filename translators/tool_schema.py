"""Function tool schemas checked before a declaration can reach Gemini (issue #13).

OpenAI refuses a tool whose `parameters` is not a valid JSON Schema in the `session.update` (or
`response.create`) that carries it: `invalid_function_parameters`, `param` naming the offending field, the
session's previous config kept. Gemini would accept the setup's shape and refuse the declaration only at
the first turn (1007, the session lost), so each schema is checked here, in two steps:

1. its JSON Schema metaschema (the `jsonschema` package: draft 2020-12 unless the schema's `$schema` names
   another draft; Gemini documents `parametersJsonSchema` as JSON Schema, google-genai's `JSONSchema` as
   "compatible with 2020-12");
2. what Gemini itself documents for `parametersJsonSchema`: "The schema must describe an object where the
   properties are the parameters to the function" (google-genai `FunctionDeclaration`), and at most 128
   function declarations per request (Vertex function-calling reference).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from translators.errors import ClientProtocolError

MAX_DECLARATIONS = 128  # Gemini's limit on function declarations in one request
CODE = "invalid_function_parameters"  # OpenAI's code for a function schema it cannot use


def check_tool_schemas(tools: Iterable[dict[str, Any]], where: str) -> None:
    """Raise OpenAI's error for the first tool whose `parameters` Gemini could not take; `where` is the
    param prefix (`session`, `response`)."""
    tools = list(tools)
    if len(tools) > MAX_DECLARATIONS:
        raise ClientProtocolError(
            "array_above_max_length",
            f"Invalid '{where}.tools': array too long. Gemini takes at most {MAX_DECLARATIONS} functions, "
            f"but got {len(tools)}.",
            param=f"{where}.tools",
        )
    for index, tool in enumerate(tools):
        schema = tool.get("parameters")
        if schema:
            _check_schema(schema, str(tool.get("name", "")), f"{where}.tools[{index}].parameters")


def _check_schema(schema: dict[str, Any], name: str, param: str) -> None:
    # jsonschema (~4 MB) is loaded by the first session that declares a tool (issue #15: idle RSS)
    from jsonschema import Draft202012Validator, validators
    from jsonschema.exceptions import best_match

    cls = validators.validator_for(schema, default=Draft202012Validator)
    try:
        error = best_match(cls(cls.META_SCHEMA).iter_errors(schema))
    except RecursionError:
        raise ClientProtocolError(
            CODE, f"Invalid schema for function '{name}': the schema is nested too deeply.", param=param
        ) from None
    if error is not None:
        path = tuple(error.absolute_path)
        raise ClientProtocolError(
            CODE,
            f"Invalid schema for function '{name}': In context={path!r}, {error.message}.",
            param=param + _dotted(path),
        )
    kind = schema.get("type")
    if kind is not None and kind != "object":
        raise ClientProtocolError(
            CODE,
            f"Invalid schema for function '{name}': schema must be a JSON Schema of 'type: \"object\"', "
            f"got 'type: {_json(kind)}'.",
            param=f"{param}.type",
        )


def _dotted(path: tuple[Any, ...]) -> str:
    """`('properties', 'city', 'type')` → `.properties.city.type`; list indices as `[n]`."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)


def _json(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)
