"""The emulator's deterministic model: reply text, word chunks, synthetic audio and token counts.

The frame order follows GEMINI_LIVE.md §4.1: content chunks, `generationComplete`, `turnComplete` + usage.
"""

from __future__ import annotations

import base64
import json
import math
import re
import sys
from array import array
from functools import lru_cache
from typing import Any

from schemas.gemini import (
    OUTPUT_AUDIO_MIME,
    Blob,
    Content,
    FunctionCall,
    GoAway,
    ModalityTokenCount,
    Part,
    ServerContent,
    ServerMessage,
    SessionResumptionUpdate,
    ToolCall,
    ToolCallCancellation,
    Transcription,
    UsageMetadata,
)
from schemas.profiles import Backend

HELLO = "Hello! How can I help you today?"
OUTPUT_RATE = 24000  # Hz, §5
_AMPLITUDE = 6000
_FADE_SAMPLES = 48  # 2 ms ramps so word tones don't click


def reply_text(user_text: str) -> str:
    """`You said: T`, or a greeting when there is no user text."""
    return f"You said: {user_text}" if user_text.strip() else HELLO


def word_chunks(text: str) -> list[str]:
    """One chunk per word with its trailing whitespace; the chunks concatenate back to `text`."""
    chunks = re.findall(r"\S+\s*", text)
    leading = text[: len(text) - len(text.lstrip())]
    if chunks and leading:
        chunks[0] = leading + chunks[0]
    return chunks or ([text] if text else [])


IMAGE_TOKENS = 258  # what Gemini bills one image or video frame (at the default media resolution)


def media_note(images: int, audio_ms: int) -> str:
    """How the model mentions media it was given with the user's words: ` [1 image]`, ` [audio 500 ms]`."""
    note = f" [{images} image{'s' if images != 1 else ''}]" if images else ""
    return note + (f" [audio {audio_ms} ms]" if audio_ms else "")


def inline_media(content: Content) -> tuple[int, int]:
    """Images and milliseconds of PCM audio given inline (`inlineData`) in one turn."""
    images, audio_ms = 0, 0
    for part in content.parts:
        blob = part.inline_data
        mime = (blob.mime_type or "") if blob is not None else ""
        if blob is not None and mime.startswith("image/"):
            images += 1
        elif blob is not None and mime.startswith("audio/pcm"):
            rate = int(mime.split("rate=", 1)[1]) if "rate=" in mime else 16000
            audio_ms += round(len(blob.raw()) / 2 / rate * 1000)
    return images, audio_ms


def count_tokens(text: str) -> int:
    """The emulator's tokenizer: one token per whitespace-separated word."""
    return len(text.split())


def content_tokens(content: Content) -> int:
    """Tokens of one history turn: its text words, plus `name` and compact JSON of function calls/responses."""
    total = 0
    for part in content.parts:
        if part.thought:
            continue
        if part.text:
            total += count_tokens(part.text)
        elif part.function_call is not None:
            total += count_tokens(f"{part.function_call.name} {_compact(part.function_call.args)}")
        elif part.function_response is not None:
            response = part.function_response
            total += count_tokens(f"{response.name or ''} {_compact(response.response)}")
    return total


def _compact(value: Any) -> str:
    return json.dumps(value if value is not None else {}, sort_keys=True, separators=(",", ":"))


@lru_cache(maxsize=64)
def tone(index: int, duration_ms: int) -> bytes:
    """PCM16 LE mono 24 kHz: a short sine for word `index` (pitch cycles over 8 notes)."""
    frequency = 300.0 + 50.0 * (index % 8)
    count = OUTPUT_RATE * duration_ms // 1000
    samples = array("h", bytes(2 * count))
    for i in range(count):
        ramp = min(1.0, i / _FADE_SAMPLES, (count - 1 - i) / _FADE_SAMPLES)
        samples[i] = int(_AMPLITUDE * ramp * math.sin(2 * math.pi * frequency * i / OUTPUT_RATE))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def _count(modality: str, tokens: int) -> ModalityTokenCount:
    return ModalityTokenCount.model_validate({"modality": modality, "token_count": tokens})


def usage(backend: Backend, prompt: dict[str, int], response_tokens: int, modality: str) -> UsageMetadata:
    """Per-turn usage with the backend's field names (§4, §8); `prompt` maps modality to tokens."""
    prompt_details = [_count(name, tokens) for name, tokens in prompt.items() if tokens]
    response_details = [_count(modality, response_tokens)]
    prompt_total = sum(prompt.values())
    common: dict[str, Any] = {
        "prompt_token_count": prompt_total,
        "total_token_count": prompt_total + response_tokens,
        "prompt_tokens_details": prompt_details,
    }
    if backend is Backend.VERTEX:
        return UsageMetadata(
            **common,
            candidates_token_count=response_tokens,
            candidates_tokens_details=response_details,
            traffic_type="ON_DEMAND",
        )
    return UsageMetadata(**common, response_token_count=response_tokens, response_tokens_details=response_details)


def _content(**fields: Any) -> dict[str, Any]:
    return ServerMessage(server_content=ServerContent(**fields)).to_wire()


def _audio_part(index: int, duration_ms: int) -> Part:
    data = base64.b64encode(tone(index, duration_ms)).decode()
    return Part(inline_data=Blob(mime_type=OUTPUT_AUDIO_MIME, data=data))


def content_frame(index: int, chunk: str, *, modality: str, audio_ms: int) -> dict[str, Any]:
    """Word `index` of a reply: its text (TEXT sessions) or its tone (AUDIO sessions)."""
    part = Part(text=chunk) if modality == "TEXT" else _audio_part(index, audio_ms)
    return _content(model_turn=Content(parts=[part]))


def output_transcript_frame(chunk: str) -> dict[str, Any]:
    return _content(output_transcription=Transcription(text=chunk))


def input_transcript_frame(text: str) -> dict[str, Any]:
    return _content(input_transcription=Transcription(text=text))


def interim_transcript_frame(text: str) -> dict[str, Any]:
    """A transcription model's running snapshot of the utterance so far (resent whole each time)."""
    return _content(interim_input_transcription=Transcription(text=text))


def generation_complete_frame(usage_metadata: UsageMetadata | None = None) -> dict[str, Any]:
    content = ServerContent(generation_complete=True)
    return ServerMessage(server_content=content, usage_metadata=usage_metadata).to_wire()


def turn_complete_frame(usage_metadata: UsageMetadata | None = None) -> dict[str, Any]:
    return ServerMessage(server_content=ServerContent(turn_complete=True), usage_metadata=usage_metadata).to_wire()


def interrupted_frame() -> dict[str, Any]:
    return _content(interrupted=True)


def tool_call_frame(calls: list[FunctionCall]) -> dict[str, Any]:
    return ServerMessage(tool_call=ToolCall(function_calls=calls)).to_wire()


def tool_cancellation_frame(ids: list[str]) -> dict[str, Any]:
    return ServerMessage(tool_call_cancellation=ToolCallCancellation(ids=ids)).to_wire()


def go_away_frame(time_left_s: float) -> dict[str, Any]:
    """`goAway` with a proto Duration string ("2s", "0.5s")."""
    return ServerMessage(go_away=GoAway(time_left=f"{time_left_s:g}s")).to_wire()


def resumption_frame(handle: str | None, last_consumed: int | None = None) -> dict[str, Any]:
    """A resumable handle, or `resumable: false` without one while the model is busy (§4)."""
    update = SessionResumptionUpdate(
        new_handle=handle,
        resumable=handle is not None,
        last_consumed_client_message_index=None if last_consumed is None else str(last_consumed),
    )
    return ServerMessage(session_resumption_update=update).to_wire()


def reply_frames(
    reply: str, *, modality: str, transcribe: bool, usage_metadata: UsageMetadata, audio_ms: int
) -> list[dict[str, Any]]:
    """The server frames of one complete turn, in order (§4.1 audio turn / text turn)."""
    frames: list[dict[str, Any]] = []
    for index, chunk in enumerate(word_chunks(reply)):
        frames.append(content_frame(index, chunk, modality=modality, audio_ms=audio_ms))
        if modality == "AUDIO" and transcribe:
            frames.append(output_transcript_frame(chunk))
    frames.append(generation_complete_frame())
    frames.append(turn_complete_frame(usage_metadata))
    return frames
