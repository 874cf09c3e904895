"""Client-created conversation items, checked and put in their stored (GA server) form (§2.1)."""

from __future__ import annotations

from typing import Any

from schemas.profiles import UserText
from translators.conversation import item_bytes
from translators.errors import ClientProtocolError
from translators.media import audio_blob, image_blob
from translators.state import SessionState
from translators.tools import CallStatus, function_response

# Client content types accepted per role (§2.1 item shapes); beta assistant `text` is GA `output_text`.
_ROLE_CONTENT: dict[str, frozenset[str]] = {
    "user": frozenset({"input_text", "input_audio", "input_image"}),
    "system": frozenset({"input_text"}),
    "assistant": frozenset({"output_text", "text"}),
}


def message_item(item: dict[str, Any], state: SessionState) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The GA server form of a client-created message item, checked for what Gemini can take, and the Gemini
    blobs of its images and audio in content order (translators/media.py)."""
    if item.get("type") != "message":
        raise ClientProtocolError(
            "invalid_value",
            f"Items of type '{item.get('type')}' are not supported yet; use type 'message'.",
            param="item.type",
        )
    role = item.get("role")
    allowed = _ROLE_CONTENT.get(str(role))
    if allowed is None:
        raise ClientProtocolError(
            "invalid_value",
            f"Invalid value: '{role}'. Supported values are: 'user', 'system', 'assistant'.",
            param="item.role",
        )
    content, blobs = [], []
    for index, part in enumerate(item.get("content") or []):
        if part.get("type") not in allowed:
            raise ClientProtocolError(
                "invalid_value",
                f"Invalid value: '{part.get('type')}' is not a content type for role '{role}'.",
                param=f"item.content[{index}].type",
            )
        stored, blob = _media_part(part, state, f"item.content[{index}]")
        content.append(stored)
        blobs += [blob] if blob is not None else []
    message = {
        "id": item.get("id") or state.ids.new("item"),
        "type": "message",
        "status": "completed",
        "role": role,
        "content": content,
    }
    return message, blobs


def _media_part(part: dict[str, Any], state: SessionState, param: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A content part as stored (and echoed), and the Gemini blob it carries, if any."""
    kind = part["type"]
    if kind == "input_image":
        stored = {"type": kind, "image_url": part["image_url"]}
        return stored | ({"detail": part["detail"]} if part.get("detail") else {}), image_blob(part, param)
    if kind == "input_audio":
        blob = audio_blob(part, state.config.input_format, param)
        if blob is not None and state.profile.user_text is UserText.REALTIME_TEXT:
            raise ClientProtocolError(
                "invalid_value",
                "This model takes audio only as live input: send it with input_audio_buffer.append "
                "(an item's audio is supported on clientContent models such as 2.5 native audio and 3.8).",
                param=f"{param}.audio",
            )
        return {"type": kind, "transcript": part.get("transcript")}, blob
    return {"type": "output_text" if kind == "text" else kind, "text": part.get("text", "")}, None


def output_item(item: dict[str, Any], state: SessionState) -> dict[str, Any]:
    """The stored form of a function_call_output item, checked against the calls Gemini made."""
    call_id = item.get("call_id")
    call = state.calls.get(str(call_id))
    if call is None:
        raise ClientProtocolError(
            "invalid_value",
            f"No function call with call_id '{call_id}' was made in this session.",
            param="item.call_id",
        )
    if call.status is CallStatus.CANCELLED:
        raise ClientProtocolError(
            "invalid_value",
            f"The function call '{call_id}' was cancelled by the model; its output was not forwarded.",
            param="item.call_id",
        )
    if call.status is CallStatus.ANSWERED:
        raise ClientProtocolError(
            "invalid_value", f"The function call '{call_id}' already has an output.", param="item.call_id"
        )
    return {
        "id": item.get("id") or state.ids.new("item"),
        "type": "function_call_output",
        "call_id": call_id,
        "output": item.get("output", ""),
    }


def answer(state: SessionState, item: dict[str, Any]) -> dict[str, Any]:
    """Mark the call answered and build its Gemini functionResponse (GEMINI_LIVE.md §3.4)."""
    call = state.calls[item["call_id"]]
    state.settle(call, CallStatus.ANSWERED)
    answer: dict[str, Any] = {"name": call.name, "response": function_response(item["output"])}
    if call.gemini_id is not None:
        answer["id"] = call.gemini_id
    return answer


def check_room(state: SessionState, item: dict[str, Any], media_bytes: int = 0) -> None:
    """A client item that would grow the conversation past its cap is refused (issue #16 item 13); the
    session goes on, and deleting items makes room. Items Gemini's answers add are never refused. The images
    and audio kept beside the items (`state.media`, `media_bytes` for this item's) count too."""
    conversation, cap = state.conversation, state.max_conversation_bytes
    size = item_bytes(item) + media_bytes + state.media_bytes
    if conversation.size + size > cap:
        raise ClientProtocolError(
            "conversation_too_large",
            f"This item would bring the session's conversation to {conversation.size + size} bytes, over its "
            f"limit of {cap} (general_settings.limits.max_conversation_bytes). Delete items with "
            "conversation.item.delete, or start a new session.",
            param="item",
        )
