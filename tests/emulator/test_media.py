"""The emulated model hears images and given audio: inline in clientContent or as video frames; it mentions
them in its reply and bills them (IMAGE/VIDEO tokens, audio as audio); other inline types are refused."""

from __future__ import annotations

import base64
from typing import Any

from .helpers import LIVE_31, server_content
from .pure import closed_with, feed, sent, started

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
TEXT: dict[str, Any] = {"outputAudioTranscription": {}}


def said(frames: list[dict[str, Any]]) -> str:
    return "".join(t["text"] for t in server_content(frames, "outputTranscription"))


def prompt_details(frames: list[dict[str, Any]]) -> dict[str, int]:
    usage = frames[-1]["usageMetadata"]
    return {d["modality"]: d["tokenCount"] for d in usage["promptTokensDetails"]}


def turn(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"clientContent": {"turns": [{"role": "user", "parts": list(parts)}], "turnComplete": True}}


def test_inline_image_is_mentioned_and_billed() -> None:
    """clientContent text + a PNG: `You said: … [1 image]`, 258 IMAGE prompt tokens."""
    state = started(**TEXT)
    frames = sent(feed(state, turn({"text": "What is this?"}, {"inlineData": {"mimeType": "image/png", "data": PNG}})))
    assert said(frames) == "You said: What is this? [1 image]"
    assert prompt_details(frames)["IMAGE"] == 258


def test_inline_audio_is_mentioned_and_billed_as_audio() -> None:
    """Inline PCM audio: `[audio 100 ms]` and AUDIO prompt tokens."""
    state = started(**TEXT)
    pcm = base64.b64encode(bytes(4800)).decode()  # 100 ms at 24 kHz
    frames = sent(feed(state, turn({"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": pcm}})))
    assert said(frames) == "You said: [audio 100 ms]" and prompt_details(frames)["AUDIO"] > 0


def test_video_frames_count_with_the_next_words() -> None:
    """3.1: two frames, then realtime text: `[2 images]` once, VIDEO tokens; the next turn mentions none."""
    state = started(LIVE_31, **TEXT)
    for _ in range(2):
        assert feed(state, {"realtimeInput": {"video": {"mimeType": "image/jpeg", "data": PNG}}}) == []
    frames = sent(feed(state, {"realtimeInput": {"text": "Describe"}}))
    assert said(frames) == "You said: Describe [2 images]" and prompt_details(frames)["VIDEO"] == 2 * 258
    assert said(sent(feed(state, {"realtimeInput": {"text": "Again"}}))) == "You said: Again"


def test_other_inline_types_are_refused() -> None:
    """A GIF (or any non JPEG/PNG image, non-PCM audio) inline closes with 1007."""
    state = started(**TEXT)
    code, reason = closed_with(feed(state, turn({"inlineData": {"mimeType": "image/gif", "data": PNG}})))
    assert code == 1007 and 'unsupported inline data mime type "image/gif"' in reason
