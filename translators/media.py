"""Images and audio inside conversation items (issue #13): checked, kept, and turned into Gemini parts.

OpenAI user items may carry `input_image` (`image_url`, a data URL) and `input_audio` (base64 in the
session's input format) parts (OPENAI_REALTIME.md §2.1). Gemini takes images as JPEG or PNG (Live API
"Image (JPEG <= 1FPS)"; Firebase's `sendVideoRealtime`: `image/png`, `image/jpeg`) and audio as PCM16 with
its rate in the MIME type (GEMINI_LIVE.md §3.3). The bytes are kept beside the conversation (`state.media`),
not in the items echoed to the client: audio is not echoed (its transcript is), an image keeps its URL.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from translators.audio import InputDecoder, law_of
from translators.errors import ClientProtocolError

IMAGE_TYPES = frozenset({"image/jpeg", "image/png"})
MAX_IMAGE_BYTES = 8 * 1024 * 1024  # one image, decoded; Gemini's whole request is capped at 20 MB
MAX_AUDIO_BYTES = 15 * 1024 * 1024  # one item's audio, decoded (about 5 min of pcm16 24 kHz)
PCM_MIME = "audio/pcm;rate=24000"
_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)(?:;[\w.+-]+=[\w.+-]+)*;base64,(?P<data>.*)$", re.DOTALL)


def image_blob(part: dict[str, Any], param: str) -> dict[str, Any]:
    """An `input_image` part as a Gemini blob `{mimeType, data}`; raises a named error for anything else."""
    url = str(part.get("image_url") or "")
    match = _DATA_URL.match(url)
    if match is None:
        raise ClientProtocolError(
            "invalid_value",
            "Only images given inline are supported: use a data URL (data:image/jpeg;base64,… or "
            "data:image/png;base64,…); Gemini Live cannot fetch image URLs.",
            param=f"{param}.image_url",
        )
    mime = match["mime"].lower()
    if mime not in IMAGE_TYPES:
        raise ClientProtocolError(
            "invalid_value",
            f"Unsupported image format '{mime}': Gemini Live takes image/jpeg or image/png.",
            param=f"{param}.image_url",
        )
    size = _decoded_size(match["data"], f"{param}.image_url")
    if size > MAX_IMAGE_BYTES:
        raise ClientProtocolError(
            "invalid_value",
            f"Image too large: {size} bytes; at most {MAX_IMAGE_BYTES} bytes per image.",
            param=f"{param}.image_url",
        )
    return {"mimeType": mime, "data": match["data"]}


def audio_blob(part: dict[str, Any], input_format: dict[str, Any], param: str) -> dict[str, Any] | None:
    """An `input_audio` part's audio as a Gemini blob (pcm16; G.711 decoded), or None when it has none."""
    audio = part.get("audio")
    if not audio:
        return None
    size = _decoded_size(audio, f"{param}.audio")
    if size > MAX_AUDIO_BYTES:
        raise ClientProtocolError(
            "invalid_value",
            f"Audio too large: {size} bytes; at most {MAX_AUDIO_BYTES} bytes per item.",
            param=f"{param}.audio",
        )
    law = law_of(input_format)
    if law is None:
        return {"mimeType": PCM_MIME, "data": audio}
    decoder = InputDecoder(law)
    return {"mimeType": decoder.mime, "data": decoder(audio)}


def _decoded_size(data: str, param: str) -> int:
    try:
        return len(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        raise ClientProtocolError("invalid_value", "Invalid base64 data.", param=param) from None


def video_frames(items: list[dict[str, Any]], media: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The items' images as `realtimeInput.video` frames (3.x mid-session: Live takes JPEG/PNG frames)."""
    return [
        {"realtimeInput": {"video": blob}}
        for item in items
        for blob in media.get(str(item.get("id")), ())
        if blob["mimeType"].startswith("image/")
    ]


def inline_parts(item_id: str, media: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The item's images and audio as Gemini `inlineData` parts, in content order."""
    return [{"inlineData": blob} for blob in media.get(item_id, ())]
