"""gateway/upstream/rest_fallback.py: text turns over streamGenerateContent (respx) when no Live socket opens."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import respx

from gateway.config import Deployment, Provider
from gateway.upstream.google_auth import AccessToken
from gateway.upstream.rest_fallback import RestLiveConnection
from schemas.profiles import profile_for

from .support import DEV_MODEL, document, entry, free_port, running_gateway, text_turn

KEY = "AIzaSyRESTFALLBACKKEY0000000000000000"
REST_DEV = "http://127.0.0.1:9/v1beta/models/gemini-2.5-flash"  # deployments below use api_base 127.0.0.1:9


def deployment(provider: Provider, **fields: Any) -> Deployment:
    return Deployment("live", provider, DEV_MODEL, profile_for(DEV_MODEL), rest_fallback="gemini-2.5-flash", **fields)


def sse(*chunks: dict[str, Any]) -> httpx.Response:
    body = "".join(f"data: {json.dumps(chunk)}\r\n\r\n" for chunk in chunks)
    return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})


def chunk(text: str, usage: dict[str, int] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}}]}
    return {**out, "usageMetadata": usage} if usage else out


VERTEX_TOKEN = AccessToken("ya29.rest-fallback", expires_at=time.time() + 3600, quota_project="billing-proj")


@pytest.mark.parametrize(
    ("fields", "token", "url", "credential"),
    [
        (
            {"provider": Provider.GEMINI, "api_key": KEY},
            None,
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            ("x-goog-api-key", KEY),
        ),
        (
            {"provider": Provider.GEMINI, "api_key": KEY, "api_base": "ws://127.0.0.1:9/"},
            None,
            "http://127.0.0.1:9/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            ("x-goog-api-key", KEY),
        ),
        (
            {"provider": Provider.VERTEX, "vertex_project": "p", "vertex_location": "us"},
            VERTEX_TOKEN,
            "https://aiplatform.us.rep.googleapis.com/v1/projects/p/locations/us/publishers/google/models/"
            "gemini-2.5-flash:streamGenerateContent?alt=sse",
            ("authorization", "Bearer ya29.rest-fallback"),
        ),
        (
            {"provider": Provider.VERTEX, "api_key": KEY},
            None,
            "https://aiplatform.googleapis.com/v1/publishers/google/models/gemini-2.5-flash:streamGenerateContent"
            "?alt=sse",
            ("x-goog-api-key", KEY),
        ),
    ],
)
async def test_google_genai_calls_each_backend(
    fields: dict[str, Any], token: AccessToken | None, url: str, credential: tuple[str, str]
) -> None:
    """google-genai's stream goes to the Developer API and Vertex (regional, multi-region, express) REST URLs,
    the credential in a header only, and its SSE chunks become Live frames."""
    provider = fields.pop("provider")
    setup = {"setup": {"model": "x", "generationConfig": {"responseModalities": ["TEXT"], "temperature": 0.2}}}
    with respx.mock() as router:
        route = router.post(url__startswith=url.split("?")[0]).mock(return_value=sse(chunk("Hi"), chunk(" there")))
        connection = RestLiveConnection(deployment(provider, **fields), token)
        await connection.send(orjson.dumps(setup))
        await connection.send(orjson.dumps({"realtimeInput": {"text": "hello"}}))
        frames = [orjson.loads(f) async for f in until_turn_complete(connection)]
        await connection.close()
    request = route.calls[0].request
    assert str(request.url) == url and request.headers[credential[0]] == credential[1]
    assert KEY not in str(request.url) and "ya29" not in str(request.url)
    if token is not None:
        assert request.headers["x-goog-user-project"] == "billing-proj"
    body = json.loads(request.content)
    assert body["contents"] == [{"role": "user", "parts": [{"text": "hello"}]}]
    assert body["generationConfig"] == {"temperature": 0.2}
    turns = [f["serverContent"]["modelTurn"] for f in frames if "modelTurn" in f.get("serverContent", {})]
    texts = [turn["parts"][0]["text"] for turn in turns]
    assert frames[0] == {"setupComplete": {}} and texts == ["Hi", " there"]


async def until_turn_complete(connection: RestLiveConnection) -> AsyncIterator[bytes]:
    async for frame in connection:
        yield frame
        if b"turnComplete" in frame:
            return


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
        router.post(f"{REST_DEV}:streamGenerateContent").respond(
            404, json={"error": {"code": 404, "message": "models/nope is not found", "status": "NOT_FOUND"}}
        )
        missing = RestLiveConnection(d, None)
        await missing.send(orjson.dumps(setup))
        await missing.send(orjson.dumps({"realtimeInput": {"text": "hi"}}))
        frames = [orjson.loads(f) async for f in missing]
    assert frames == [{"setupComplete": {}}] and (missing.close_code, missing.close_reason) == (
        1008,
        "models/nope is not found",
    )
    audio = RestLiveConnection(d, None)
    await audio.send(orjson.dumps({"realtimeInput": {"audio": {"mimeType": "audio/pcm", "data": ""}}}))
    assert audio.close_code == 1007 and "text turns only" in (audio.close_reason or "")
    await audio.close()
    await missing.close()


async def test_history_carries_over_between_turns() -> None:
    """The second REST call carries the first exchange, and the system instruction from the setup."""
    d = deployment(Provider.GEMINI, api_key=KEY, api_base="http://127.0.0.1:9")
    setup = {"setup": {"model": "x", "systemInstruction": {"parts": [{"text": "Be brief."}]}}}
    with respx.mock() as router:
        answers = [sse(chunk("one")), sse(chunk("two"))]
        route = router.post(f"{REST_DEV}:streamGenerateContent").mock(side_effect=answers)
        connection = RestLiveConnection(d, None)
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
