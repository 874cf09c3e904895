"""Cheap checks a client frame gets besides its model: base64 audio, nesting depth, an unparsable frame's id.

These sit on the edge (`schemas.openai.parse_client_event`) so that nothing the models let through can
crash a translator or `orjson.dumps` later (issue #16 items 5 and 11).
"""

from __future__ import annotations

import re
from typing import Any

import orjson

# proto3 JSON `bytes`, which Gemini parses: the standard or the URL-safe alphabet, padding optional.
_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_"

# Objects and arrays nested deeper than this are refused. Our own events wrap a client value in a few more
# levels (a tool schema sits 5 deep in Gemini's setup, metadata 3 deep in response.done) and orjson refuses to
# write more than 255, so the margin is wide; real tool schemas and metadata stay well under 20.
MAX_NESTING = 64

# An `event_id` near the start of a frame that is not JSON (cut short, say): echoed in its error, so an SDK
# waiting on that event (OPENAI_REALTIME.md §4.3) is not left waiting.
_EVENT_ID = re.compile(rb'"event_id"\s*:\s*("(?:[^"\\]|\\.){0,200}")')
_EVENT_ID_WINDOW = 4096  # bytes of an unparsable frame searched for its event_id


def is_base64(text: str) -> bool:
    """Whether Gemini can decode `text`: length and alphabet only, no decoding (it is on the audio hot path;
    about 25 us per second of 24 kHz audio, bench/)."""
    body = text.rstrip("=") if text.endswith("=") else text
    padding = len(text) - len(body)
    if padding > 2 or len(body) % 4 == 1 or (padding and len(text) % 4):
        return False
    return body.isascii() and not body.encode().translate(None, _BASE64_ALPHABET)


def too_deep(value: Any, limit: int = MAX_NESTING) -> bool:
    """Whether objects/arrays in `value` nest more than `limit` levels (the value itself is level 1).

    A loop with its own stack rather than recursion, so a hostile depth cannot reach Python's limit.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, dict | list):
                if depth >= limit:
                    return True
                stack.append((child, depth + 1))
    return False


def event_id_of(raw: bytes | str) -> str | None:
    """The `event_id` of a frame that did not parse, if one can be read near its start; else None."""
    head = raw[:_EVENT_ID_WINDOW]
    match = _EVENT_ID.search(head.encode(errors="ignore") if isinstance(head, str) else head)
    if match is None:
        return None
    try:
        value = orjson.loads(match.group(1))
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, str) else None
