"""Images and audio in conversation items: checked, echoed without bytes, and sent to Gemini as it takes them."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.openai import Dialect
from tests.translators.harness import Playbook, events, setups, types, upstream
from translators.media import MAX_IMAGE_BYTES
from translators.resume import Retry

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
IMAGE = {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}", "detail": "low"}
AUDIO = "AAAA" * 1600  # 100 ms of pcm16 24 kHz
NATIVE_25 = "gemini-2.5-flash-native-audio-preview-12-2025"
LIVE_31 = "gemini-3.1-flash-live-preview"


def create(*content: dict[str, Any]) -> dict[str, Any]:
    item = {"type": "message", "role": "user", "content": list(content)}
    return {"type": "conversation.item.create", "event_id": "ci", "item": item}


def session(model: str) -> Playbook:
    play = Playbook(Dialect.GA, model=model)
    play.start()
    return play


def test_image_goes_inline_with_the_words_on_client_content_models() -> None:
    """2.5: text and image in one clientContent turn; the echoed item keeps the URL, no bytes added."""
    play = session(NATIVE_25)
    out = play.send(create({"type": "input_text", "text": "What is this?"}, IMAGE))
    assert events(out)[0]["item"]["content"] == [{"type": "input_text", "text": "What is this?"}, IMAGE]
    play.connect()
    (sent,) = upstream(play.send({"type": "response.create"}))
    assert sent["clientContent"]["turns"] == [
        {"role": "user", "parts": [{"text": "What is this?"}, {"inlineData": {"mimeType": "image/png", "data": PNG}}]}
    ]


def test_image_is_a_video_frame_before_the_words_on_realtime_text_models() -> None:
    """3.1 mid-session: the image as realtimeInput.video, then the words as realtimeInput.text."""
    play = session(LIVE_31)
    play.send(create({"type": "input_text", "text": "hi"}))
    play.send({"type": "response.create"})
    play.connect()
    play.recv({"serverContent": {"turnComplete": True}})
    play.send(create({"type": "input_text", "text": "And this?"}, IMAGE))
    assert upstream(play.send({"type": "response.create"})) == [
        {"realtimeInput": {"video": {"mimeType": "image/png", "data": PNG}}},
        {"realtimeInput": {"text": "And this?"}},
    ]


def test_audio_item_goes_as_inline_audio_not_its_transcript() -> None:
    """2.5: an input_audio item's audio is an inlineData part (pcm16 24 kHz); the echo carries no audio."""
    play = session(NATIVE_25)
    out = play.send(create({"type": "input_audio", "audio": AUDIO, "transcript": "hello"}))
    assert events(out)[0]["item"]["content"] == [{"type": "input_audio", "transcript": "hello"}]
    play.connect()
    (sent,) = upstream(play.send({"type": "response.create"}))
    assert sent["clientContent"]["turns"][0]["parts"] == [
        {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": AUDIO}}
    ]


def test_g711_item_audio_is_decoded() -> None:
    """A G.711 session's item audio is decoded to pcm16 at 8 kHz like streamed audio."""
    play = session(NATIVE_25)
    play.send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"format": {"type": "audio/pcmu"}}}},
        }
    )
    play.send(create({"type": "input_audio", "audio": "/////w=="}))
    play.connect()
    (sent,) = upstream(play.send({"type": "response.create"}))
    (part,) = sent["clientContent"]["turns"][0]["parts"]
    assert part["inlineData"]["mimeType"] == "audio/pcm;rate=8000"


def test_audio_items_are_refused_on_realtime_text_models() -> None:
    """3.1 takes audio only as live input: the item is refused with the reason, nothing stored."""
    play = session(LIVE_31)
    (error,) = events(play.send(create({"type": "input_audio", "audio": AUDIO})))
    assert (
        error["error"]["param"] == "item.content[0].audio" and "input_audio_buffer.append" in error["error"]["message"]
    )
    assert len(play.state.conversation) == 0


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://example.com/cat.png", "data URL"),
        (f"data:image/gif;base64,{PNG}", "Unsupported image format 'image/gif'"),
        ("data:image/png;base64,@@@", "Invalid base64"),
        ("data:image/png;base64," + "A" * (4 * ((MAX_IMAGE_BYTES + 3) // 3 + 1)), "Image too large"),
    ],
)
def test_bad_images_are_refused_by_field(url: str, words: str) -> None:
    """Remote URLs, formats Gemini does not take, bad base64 and oversized images: a named error."""
    play = session(NATIVE_25)
    (error,) = events(play.send(create({"type": "input_text", "text": "x"}, {"type": "input_image", "image_url": url})))
    assert error["error"]["param"] == "item.content[1].image_url" and words in error["error"]["message"]
    assert error["error"]["event_id"] == "ci"


def test_a_replay_keeps_the_media_and_a_deleted_item_drops_it() -> None:
    """A reconnect without a handle replays the image; deleting the item forgets its bytes."""
    play = session(NATIVE_25)
    play.send(create({"type": "input_text", "text": "look"}, IMAGE))
    play.send({"type": "response.create"})
    play.connect()
    play.recv({"serverContent": {"turnComplete": True}})
    out = play.upstream.upstream_lost("server_error", "upstream_error", "lost", 1011, Retry.REPLAY)
    assert setups(out)
    (history,) = upstream(play.connect())
    assert {"inlineData": {"mimeType": "image/png", "data": PNG}} in history["clientContent"]["turns"][0]["parts"]
    item_id = play.state.conversation.items()[0]["id"]
    assert types(play.send({"type": "conversation.item.delete", "item_id": item_id})) == ["conversation.item.deleted"]
    assert play.state.media == {}


def test_item_media_counts_against_the_conversation_cap() -> None:
    """The audio an item carries counts toward max_conversation_bytes; deleting the item frees it."""
    play = session(NATIVE_25)
    play.state.max_conversation_bytes = 4 * 6400
    first = create({"type": "input_audio", "audio": AUDIO * 2})
    assert types(play.send(first)) == ["conversation.item.added", "conversation.item.done"]
    (error,) = events(play.send(create({"type": "input_audio", "audio": AUDIO * 2})))
    assert error["error"]["code"] == "conversation_too_large"
    item_id = play.state.conversation.items()[0]["id"]
    play.send({"type": "conversation.item.delete", "item_id": item_id})
    assert types(play.send(create({"type": "input_audio", "audio": AUDIO * 2})))[0] == "conversation.item.added"
