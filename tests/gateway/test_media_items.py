"""input_image and input_audio content in conversation items through openai-python, GA and beta (issue #13):
the model (the emulator) hears them, usage counts the image, and what Gemini cannot take is a named error."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from openai import AsyncOpenAI

from schemas.openai import Dialect
from tests.gateway.test_openai_python import collect_until_done
from tests.gateway.test_tool_edges import checked, text_of
from tests.support.live import MASTER_KEY, LiveGateway

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
IMAGE = {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}"}
HALF_SECOND = base64.b64encode(bytes(24000)).decode()  # 500 ms of pcm16 24 kHz silence


def message(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": list(content)}


async def ga_turn(gateway: LiveGateway, alias: str, item: dict[str, Any]) -> list[dict[str, Any]]:
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    async with client.realtime.connect(model=alias) as connection:
        await connection.recv()
        await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        await connection.recv()
        await connection.conversation.item.create(item=item)
        await connection.response.create()
        return checked(await collect_until_done(connection), Dialect.GA)


@pytest.mark.parametrize("alias", ["gemini-live", "gemini-3.1-live", "gemini-3.8-live"])
async def test_ga_image_item_is_seen_and_counted(gateway: LiveGateway, alias: str) -> None:
    """Text + a PNG data URL: inline (2.5, 3.8) or as a video frame (3.1); the reply mentions it, usage has
    the image's tokens, the echoed item keeps the image URL."""
    seen = await ga_turn(gateway, alias, message({"type": "input_text", "text": "What is this?"}, IMAGE))
    assert seen[0]["type"] == "conversation.item.added" and seen[0]["item"]["content"][1] == IMAGE
    assert text_of(seen[-1]) == "You said: What is this? [1 image]"
    assert seen[-1]["response"]["usage"]["input_token_details"]["image_tokens"] == 258


@pytest.mark.parametrize("alias", ["gemini-live", "gemini-3.8-live"])
async def test_ga_audio_item_is_heard(gateway: LiveGateway, alias: str) -> None:
    """An input_audio item with base64 pcm16: the model hears 500 ms of audio (clientContent models)."""
    seen = await ga_turn(gateway, alias, message({"type": "input_audio", "audio": HALF_SECOND}))
    assert seen[0]["item"]["content"] == [{"type": "input_audio", "transcript": None}]
    assert text_of(seen[-1]) == "You said: [audio 500 ms]"


async def test_beta_audio_item_is_heard(gateway: LiveGateway) -> None:
    """Beta clients add audio items the same way (beta has no images)."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base, websocket_base_url=gateway.ws_base)
    async with client.beta.realtime.connect(model="gemini-live") as connection:
        await connection.recv()
        await connection.session.update(session={"modalities": ["text"]})
        await connection.recv()
        content = [{"type": "input_text", "text": "Listen:"}, {"type": "input_audio", "audio": HALF_SECOND}]
        await connection.conversation.item.create(item=message(*content))
        await connection.response.create()
        seen = checked(await collect_until_done(connection), Dialect.BETA)
    assert text_of(seen[-1]) == "You said: Listen: [audio 500 ms]"


@pytest.mark.parametrize(
    ("alias", "part", "param", "words"),
    [
        (
            "gemini-live",
            {"type": "input_image", "image_url": "https://example.com/x.png"},
            "item.content[0].image_url",
            "data URL",
        ),
        (
            "gemini-live",
            {"type": "input_image", "image_url": f"data:image/webp;base64,{PNG}"},
            "item.content[0].image_url",
            "image/webp",
        ),
        ("gemini-3.1-live", {"type": "input_audio", "audio": HALF_SECOND}, "item.content[0].audio", "live input"),
    ],
)
async def test_what_gemini_cannot_take_is_a_named_error(
    gateway: LiveGateway, alias: str, part: dict[str, Any], param: str, words: str
) -> None:
    """A remote image URL, a WebP image, an audio item on a realtime-text model: error naming the field."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    async with client.realtime.connect(model=alias) as connection:
        await connection.recv()
        await connection.conversation.item.create(item=message(part), event_id="media")
        error = (await connection.recv()).to_dict()
    checked([error], Dialect.GA)
    assert (
        error["error"]["param"] == param
        and error["error"]["event_id"] == "media"
        and words in error["error"]["message"]
    )
