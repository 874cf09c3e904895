"""The conversation as Gemini hears it: items as turns, initial history, and text for 3.x models.

GEMINI_LIVE.md §3.2: 2.x models take `clientContent` turns any time (`turnComplete: false` appends
without a reply), and so does gemini-3.8-live ("for the entire session lifecycle with explicit roles", its
model page); 3.1 takes them only as initial history (`historyConfig`), and mid-session user text as
`realtimeInput.text` (schemas/profiles.py `user_text`). Gemini turns have no system role, so system text
goes as a labelled user turn; audio items go as their transcript, or as the audio itself when the client
gave it (with images, as `inlineData` parts: translators/media.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from schemas.profiles import ModelProfile
from translators.media import inline_parts
from translators.tools import function_response

Media = dict[str, list[dict[str, Any]]]  # item id → the Gemini blobs of its images and audio

GEMINI_ROLE = {"user": "user", "system": "user", "assistant": "model"}
_LABEL = {"system": "[system] ", "assistant": "[assistant] ", "user": ""}


def item_text(item: dict[str, Any]) -> str:
    """The words of a message item: its text parts, or the transcripts of its audio parts."""
    words = []
    for part in item.get("content") or ():
        text = part.get("text") if "text" in part else part.get("transcript")
        if text:
            words.append(text)
    return "".join(words)


def as_turns(items: Iterable[dict[str, Any]], media: Media | None = None) -> list[dict[str, Any]]:
    """Items as Gemini `Content` turns: words as text parts, images and given audio as inlineData parts,
    calls and their outputs as functionCall / functionResponse parts (a replay keeps its tool turns)."""
    items = list(items)
    names = {item.get("call_id"): item.get("name", "") for item in items if item.get("type") == "function_call"}
    turns = []
    for item in items:
        kind = item.get("type")
        if kind == "function_call":
            call = {
                "name": item.get("name", ""),
                "args": _json_object(item.get("arguments")),
                "id": item.get("call_id"),
            }
            turns.append({"role": "model", "parts": [{"functionCall": call}]})
        elif kind == "function_call_output":
            answer = {"name": names.get(item.get("call_id"), ""), "response": function_response(item.get("output", ""))}
            turns.append({"role": "user", "parts": [{"functionResponse": {**answer, "id": item.get("call_id")}}]})
        elif kind == "message" and (parts := _message_parts(item, media or {})):
            turns.append({"role": GEMINI_ROLE[item["role"]], "parts": parts})
    return turns


def _message_parts(item: dict[str, Any], media: Media) -> list[dict[str, Any]]:
    """A message's text (its audio's transcript only when the audio itself is not there) and media."""
    inline = inline_parts(str(item.get("id", "")), media)
    content = item.get("content") or ()
    if inline:
        content = [part for part in content if part.get("type") != "input_audio"]
    text = item_text({"content": content})
    label = _LABEL["system"] if item["role"] == "system" else ""
    return ([{"text": label + text}] if text else []) + inline


def _json_object(arguments: Any) -> dict[str, Any]:
    try:
        parsed = json.loads(arguments or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def history_message(
    items: Iterable[dict[str, Any]], profile: ModelProfile, media: Media | None = None
) -> dict[str, Any] | None:
    """Context without a reply: appended turns (2.x), or the initial history that 3.x models require to
    end with `turnComplete: true` (which there closes the history instead of starting a reply)."""
    turns = as_turns(items, media)
    if not turns:
        return None
    return {"clientContent": {"turns": turns, "turnComplete": profile.history_at_start_only}}


def split_history(items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """3.x models before the first connect: the items before the trailing user messages are history."""
    start = len(items)
    while start and items[start - 1].get("role") == "user":
        start -= 1
    return items[:start], items[start:]


def realtime_text(items: Iterable[dict[str, Any]]) -> str:
    """New items as one realtime text (3.x mid-session); non-user items are labelled, as an approximation."""
    lines = []
    for item in items:
        text = item_text(item) if item.get("type") == "message" else ""
        if text:
            lines.append(_LABEL[item["role"]] + text)
    return "\n".join(lines)
