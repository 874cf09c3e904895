"""gateway/upstream/rest_fallback.py: text turns over streamGenerateContent (respx) when no Live socket opens."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import respx

from gateway.config import Deployment, Provider
from gateway.upstream.rest_fallback import RestLiveConnection, rest_url
from schemas.profiles import profile_for

from .support import DEV_MODEL, document, entry, free_port, running_gateway, text_turn

KEY = "AIzaSyRESTFALLBACKKEY0000000000000000"


def deployment(provider: Provider, **fields: Any) -> Deployment:
    return Deployment("live", provider, DEV_MODEL, profile_for(DEV_MODEL), rest_fallback="gemini-2.5-flash", **fields)


def sse(*chunks: dict[str, Any]) -> httpx.Response:
    body = "".join(f"data: {json.dumps(chunk)}\r\n\r\n" for chunk in chunks)
    return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})


def chunk(text: str, usage: dict[str, int] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}}]}
    return {**out, "usageMetadata": usage} if usage else out


@pytest.mark.parametrize(
    ("fields", "url"),
    [
        (
            {"provider": Provider.GEMINI, "api_key": "k"},
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        ),
        (
            {"provider": Provider.GEMINI, "api_key": "k", "api_base": "ws://127.0.0.1:9/"},
            "http://127.0.0.1:9/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        ),
        (
            {"provider": Provider.VERTEX, "vertex_project": "p", "vertex_location": "us"},
            "https://aiplatform.us.rep.googleapis.com/v1/projects/p/locations/us/publishers/google/models/"
            "gemini-2.5-flash:streamGenerateContent?alt=sse",
        ),
        (
            {"provider": Provider.VERTEX, "api_key": "k"},
            "https://aiplatform.googleapis.com/v1/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        ),
    ],
)
def test_rest_urls(fields: dict[str, Any], url: str) -> None:
    """Developer API and Vertex (regional, multi-region, express) REST URLs; the key never in them."""
    provider = fields.pop("provider")
    assert rest_url(deployment(provider, **fields)) == url


async def test_text_turns_are_served_over_rest(tmp_path: Path) -> None:
    """No Live socket opens: each session still gets the streamed answer and usage, key in the header only."""
    base = f"http://127.0.0.1:{free_port()}"  # nothing listens: the Live dial is refused
    model = entry("live", f"gemini/{DEV_MODEL}", api_key=KEY, api_base=base)
    model["model_info"] = {"rest_fallback": "gemini-2.5-flash"}
    usage = {"promptTokenCount": 4, "candidatesTokenCount": 3, "totalTokenCount": 7}
    with respx.mock() as router:
        route = router.post(f"{base}/v1beta/models/gemini-2.5-flash:streamGenerateContent").mock(
            side_effect=[sse(chunk("Hello "), chunk("from REST", usage)), sse(chunk("Again", usage))]
        )
        async with running_gateway(tmp_path, document(model)) as gateway:
            first = await text_turn(gateway, "live", "first question")
            second = await text_turn(gateway, "live", "second question")
    assert (first.text, second.text) == ("Hello from REST", "Again") and not first.errors
    done = first.events[-1]["response"]
    assert done["status"] == "completed" and done["usage"]["total_tokens"] == 7
    request = route.calls[0].request
    assert request.headers["x-goog-api-key"] == KEY and KEY not in str(request.url)
    assert json.loads(request.content)["contents"] == [{"role": "user", "parts": [{"text": "first question"}]}]


async def test_rest_errors_and_audio_close_the_stand_in() -> None:
    """A REST 404 closes with Google's message as 1008; audio input closes with 1007 (text only)."""
    d = deployment(Provider.GEMINI, api_key=KEY, api_base="http://127.0.0.1:9")
    setup = {"setup": {"model": "x", "generationConfig": {"responseModalities": ["TEXT"]}}}
    with respx.mock() as router:
        router.post(rest_url(d)).respond(404, json={"error": {"code": 404, "message": "models/nope is not found"}})
        missing = RestLiveConnection(d, {"x-goog-api-key": KEY})
        await missing.send(orjson.dumps(setup))
        await missing.send(orjson.dumps({"realtimeInput": {"text": "hi"}}))
        frames = [orjson.loads(f) async for f in missing]
    assert frames == [{"setupComplete": {}}] and (missing.close_code, missing.close_reason) == (
        1008,
        "models/nope is not found",
    )
    audio = RestLiveConnection(d, {})
    await audio.send(orjson.dumps({"realtimeInput": {"audio": {"mimeType": "audio/pcm", "data": ""}}}))
    assert audio.close_code == 1007 and "text turns only" in (audio.close_reason or "")
    await audio.close()
    await missing.close()


async def test_history_carries_over_between_turns() -> None:
    """The second REST call carries the first exchange, and the system instruction from the setup."""
    d = deployment(Provider.GEMINI, api_key=KEY, api_base="http://127.0.0.1:9")
    setup = {"setup": {"model": "x", "systemInstruction": {"parts": [{"text": "Be brief."}]}}}
    with respx.mock() as router:
        route = router.post(rest_url(d)).mock(side_effect=[sse(chunk("one")), sse(chunk("two"))])
        connection = RestLiveConnection(d, {})
        await connection.send(orjson.dumps(setup))
        frames = []
        for text in ("a", "b"):
            turn = {"role": "user", "parts": [{"text": text}]}
            await connection.send(orjson.dumps({"clientContent": {"turns": [turn], "turnComplete": True}}))
            async for frame in connection:
                frames.append(orjson.loads(frame))
                if "turnComplete" in frames[-1].get("serverContent", {}):
                    break
        await connection.close()
    body = json.loads(route.calls[1].request.content)
    assert [turn["parts"][0]["text"] for turn in body["contents"]] == ["a", "one", "b"]
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    transcripts = [
        f["serverContent"]["outputTranscription"]["text"]
        for f in frames
        if "outputTranscription" in f.get("serverContent", {})
    ]
    assert transcripts == ["one", "two"]  # AUDIO sessions get the text as the output transcript
