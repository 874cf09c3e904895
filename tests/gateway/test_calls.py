"""The call routes (`POST /v1/realtime/calls`, its hangup, the beta era's `POST /v1/realtime`, the sideband at
`/v1/realtime?call_id=…`): bodies, keys, client secrets, virtual keys, refusals, CORS (issue #12)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx
import openai
import pytest
import websockets
from openai import AsyncOpenAI

from schemas.openai import Dialect, validate_server_event
from tests.support.live import MASTER_KEY, GatewayThread, LiveGateway
from tests.support.rtc import RtcClient

ROOT = Path(__file__).resolve().parents[2]


async def test_bare_offer_then_hangup(gateway: LiveGateway) -> None:
    """An application/sdp body with ?model= (the samples' form) is answered; hangup ends the call, then 404s."""
    rtc = RtcClient(None)
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    try:
        offer = await rtc.offer()
        async with httpx.AsyncClient() as http:
            reply = await http.post(
                f"{gateway.http_base}/realtime/calls?model=gemini-live",
                content=offer,
                headers={"Authorization": f"Bearer {MASTER_KEY}", "Content-Type": "application/sdp"},
            )
        assert reply.status_code == 201 and reply.headers["content-type"].startswith("application/sdp")
        call_id = reply.headers["location"].removeprefix("/v1/realtime/calls/")
        assert call_id.startswith("rtc_")
        await rtc.accept(reply.text)
        await rtc.wait_for("session.created")
        await client.realtime.calls.hangup(call_id)
        await asyncio.wait_for(rtc.closed.wait(), 10)  # the gateway closed the peer connection
        with pytest.raises(openai.NotFoundError) as refused:
            await client.realtime.calls.hangup(call_id)
        assert refused.value.body["code"] == "call_not_found"  # type: ignore[index]
    finally:
        await rtc.close()


def _offer_headers(content_type: str = "application/sdp", key: str | None = MASTER_KEY) -> dict[str, str]:
    headers = {"Content-Type": content_type}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return headers


@pytest.mark.parametrize(
    ("query", "headers", "body", "status", "code"),
    [
        ("?model=gemini-live", _offer_headers(key=None), "v=0", 401, None),
        ("?model=gemini-live", _offer_headers(key="sk-wrong"), "v=0", 401, "invalid_api_key"),
        ("", _offer_headers(), "VALID", 400, "missing_model"),
        ("?model=gpt-realtime", _offer_headers(), "VALID", 400, "invalid_model"),
        ("?model=gemini-transcribe", _offer_headers(), "VALID", 400, "invalid_model"),
        ("?model=gemini-live", _offer_headers(), "hello", 400, "invalid_offer"),
        ("?model=gemini-live", _offer_headers(), "v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\n", 400, "invalid_offer"),
        ("?model=gemini-live", _offer_headers("application/json"), "{}", 415, "unsupported_content_type"),
        ("?model=gemini-live", _offer_headers(), "v=0\r\n" + "a=x\r\n" * 300_000, 413, "request_too_large"),
    ],
)
async def test_refused_calls_get_openai_errors(
    gateway: LiveGateway, query: str, headers: dict[str, str], body: str, status: int, code: str | None
) -> None:
    """Bad key, model, offer or body: an OpenAI-shaped JSON error with the HTTP status, and no call."""
    if body == "VALID":
        rtc = RtcClient(None)
        body = await rtc.offer()
        await rtc.close()
    async with httpx.AsyncClient() as http:
        reply = await http.post(f"{gateway.http_base}/realtime/calls{query}", content=body, headers=headers)
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert error["code"] == code and error["type"] == "invalid_request_error" and error["message"]


async def test_session_part_is_checked_like_session_update(gateway: LiveGateway) -> None:
    """A bad `session` part is refused with the param it names, as a session.update would be."""
    rtc = RtcClient(None)
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    try:
        offer = await rtc.offer()
        session = {"type": "realtime", "model": "gemini-live", "output_modalities": ["video"]}
        with pytest.raises(openai.BadRequestError) as refused:
            await client.realtime.calls.create(sdp=offer, session=session)  # type: ignore[arg-type]
        assert refused.value.body["param"] == "session.output_modalities[0]"  # type: ignore[index]
    finally:
        await rtc.close()


async def test_sideband_follows_and_steers_the_call(gateway: LiveGateway) -> None:
    """openai-python `realtime.connect(call_id=…)`: the call's events (no audio), and its events drive the call."""
    rtc = RtcClient(None)
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    seen: list[dict[str, object]] = []
    try:
        await rtc.connect(client, session={"type": "realtime", "model": "gemini-live"})
        async with client.realtime.connect(call_id=rtc.call_id) as side:
            item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "from the server"}]}
            await side.conversation.item.create(item=item)  # type: ignore[arg-type]
            await side.response.create()
            async for event in side:
                seen.append(event.to_dict())
                if event.type == "response.done":
                    break
        done = await rtc.wait_for("response.done")
    finally:
        await rtc.close()
    kinds = [e["type"] for e in seen]
    assert kinds[0] == "conversation.item.added" and "response.output_audio.delta" not in kinds
    assert "output_audio_buffer.started" in kinds
    assert seen[-1]["response"]["id"] == done["response"]["id"]  # type: ignore[index]
    assert done["response"]["output"][0]["content"][0]["transcript"] == "You said: from the server"


async def test_sideband_for_unknown_call_is_refused(gateway: LiveGateway) -> None:
    """A call id that is not open: one error, close 4000."""
    async with websockets.connect(
        f"{gateway.ws_base}/realtime?call_id=rtc_nope", additional_headers={"Authorization": f"Bearer {MASTER_KEY}"}
    ) as ws:
        error = json.loads(await ws.recv())
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
    assert error["error"]["code"] == "call_not_found" and ws.close_code == 4000


async def test_cors_preflight_for_calls(gateway: LiveGateway) -> None:
    """A page on another origin may post offers: the preflight allows it and Location is exposed."""
    headers = {
        "Origin": "https://app.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    async with httpx.AsyncClient() as http:
        preflight = await http.options(f"{gateway.http_base}/realtime/calls", headers=headers)
        posted = await http.post(
            f"{gateway.http_base}/realtime/calls",
            content="v=0",
            headers={"Origin": "https://app.example", **_offer_headers(key=None)},
        )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert posted.headers["access-control-expose-headers"] == "Location"


async def test_legacy_beta_offer_on_v1_realtime(gateway: LiveGateway) -> None:
    """The beta-era samples post the offer to /v1/realtime?model=…: answered too, with beta event names."""
    rtc = RtcClient(None)
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
    try:
        offer = await rtc.offer()
        async with httpx.AsyncClient() as http:
            reply = await http.post(
                f"{gateway.http_base}/realtime?model=gemini-live", content=offer, headers=_offer_headers()
            )
        assert reply.status_code == 201, reply.text
        await rtc.accept(reply.text)
        rtc.send({"type": "conversation.item.create", "item": item})
        rtc.send({"type": "response.create"})
        await rtc.wait_for("output_audio_buffer.stopped")
    finally:
        await rtc.close()
    for event in rtc.events:
        validate_server_event(event, Dialect.BETA)
    kinds = rtc.types()
    assert "conversation.item.created" in kinds and "response.audio_transcript.delta" in kinds
    assert "response.audio.delta" not in kinds and "response.audio.done" in kinds


def test_a_gateway_without_calls_never_loads_aiortc() -> None:
    """aiortc and PyAV load with the first call: building the app (and answering no call) imports neither."""
    script = (
        "import sys; from gateway.app import create_app; from gateway.config import load_config;"
        "create_app(load_config('examples/config.yaml', {}));"
        "print(sorted(m for m in ('aiortc', 'aioice', 'av') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


async def test_virtual_keys_on_calls(gateway: LiveGateway) -> None:
    """Calls take virtual keys like WebSocket sessions: a key limited to other models is refused (404), a
    call's turns are billed to its key, and only that key may attach a sideband to it."""
    root = gateway.http_base.removesuffix("/v1")
    async with httpx.AsyncClient(base_url=root, headers={"Authorization": f"Bearer {MASTER_KEY}"}) as admin:
        key = (await admin.post("/key/generate", json={"key_alias": "rtc-app"})).json()["key"]
        limited = (await admin.post("/key/generate", json={"models": ["gemini-3.1-live"]})).json()["key"]
        rtc = RtcClient(None)
        try:
            offer = await rtc.offer()
            with pytest.raises(openai.NotFoundError) as refused:
                await AsyncOpenAI(api_key=limited, base_url=gateway.http_base).realtime.calls.create(
                    sdp=offer, extra_query={"model": "gemini-live"}
                )
            assert refused.value.body["code"] == "model_not_found"  # type: ignore[index]
            client = AsyncOpenAI(api_key=key, base_url=gateway.http_base)
            await rtc.connect(client, session={"type": "realtime", "model": "gemini-live"})
            master = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
            async with master.realtime.connect(call_id=rtc.call_id) as other:  # another key: no such call
                refusal = (await other.recv()).to_dict()
            assert refusal["error"]["code"] == "call_not_found", refusal
            async with client.realtime.connect(call_id=rtc.call_id) as side:
                item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
                await side.conversation.item.create(item=item)  # type: ignore[arg-type]
                await side.response.create()
                async for event in side:
                    if event.type == "response.done":
                        break
        finally:
            await rtc.close()
        async with asyncio.timeout(20):
            while True:
                rows = (await admin.get("/spend/logs", params={"key_alias": "rtc-app"})).json()["data"]
                if rows:
                    break
                await asyncio.sleep(0.2)
    assert rows[0]["model_group"] == "gemini-live", rows[0]


async def test_cors_honours_allowed_origins(tmp_path: Path) -> None:
    """With general_settings.allowed_origins, only those pages may call: their preflight names them, another
    origin's is refused (403, before any key check)."""
    thread = GatewayThread(tmp_path, general={"allowed_origins": ["https://app.example"]})
    gateway = thread.start()
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    try:
        async with httpx.AsyncClient() as http:
            allowed = await http.options(
                f"{gateway.http_base}/realtime/calls", headers={"Origin": "https://app.example", **preflight}
            )
            other = await http.options(
                f"{gateway.http_base}/realtime/calls", headers={"Origin": "https://evil.example", **preflight}
            )
    finally:
        thread.stop()
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert other.status_code == 403 and other.json()["error"]["code"] == "origin_not_allowed"


async def test_client_secret_calls(gateway: LiveGateway) -> None:
    """An `ek_` secret opens a call with no model named (the secret's alias and session config apply); it
    cannot ask for another model, and it cannot attach a sideband (that is the app server's, with its key)."""
    server = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    minted = await server.realtime.client_secrets.create(
        session={"type": "realtime", "model": "gemini-live", "instructions": "Be brief."}
    )
    page = AsyncOpenAI(api_key=minted.value, base_url=gateway.http_base)
    rtc = RtcClient(None)
    try:
        offer = await rtc.offer()
        with pytest.raises(openai.BadRequestError) as refused:
            await page.realtime.calls.create(sdp=offer, extra_query={"model": "gemini-3.1-live"})
        assert refused.value.body["code"] == "invalid_model"  # type: ignore[index]
        await rtc.connect(page)
        created = await rtc.wait_for("session.created")
        async with page.realtime.connect(call_id=rtc.call_id) as side:
            refusal = (await side.recv()).to_dict()
    finally:
        await rtc.close()
    assert created["session"]["model"] == "gemini-live" and created["session"]["instructions"] == "Be brief."
    assert refusal["error"]["code"] == "invalid_api_key", refusal


async def test_call_caps_and_budgets_answer_429(gateway: LiveGateway) -> None:
    """A call counts against its key like a WebSocket session: over max_parallel_requests or rpm_limit, or
    with the budget spent, openai-python gets a 429 with OpenAI's codes and no call is made; a hung-up
    call gives its parallel slot back."""
    root = gateway.http_base.removesuffix("/v1")
    async with httpx.AsyncClient(base_url=root, headers={"Authorization": f"Bearer {MASTER_KEY}"}) as admin:
        keys = {}
        for name, limits in (("parallel", {"max_parallel_requests": 1}), ("rpm", {"rpm_limit": 1}),
                             ("broke", {"max_budget": 0})):
            made = await admin.post("/key/generate", json={"key_alias": f"calls-{name}", **limits})
            keys[name] = made.json()["key"]

    async def refused(key: str) -> dict[str, object]:
        rtc = RtcClient(None)
        try:
            with pytest.raises(openai.RateLimitError) as info:
                await AsyncOpenAI(api_key=key, base_url=gateway.http_base, max_retries=0).realtime.calls.create(
                    sdp=await rtc.offer(), extra_query={"model": "gemini-live"}
                )
        finally:
            await rtc.close()
        assert info.value.status_code == 429
        body = info.value.body
        assert isinstance(body, dict)
        return body

    assert (await refused(keys["broke"]))["code"] == "insufficient_quota"
    for name in ("parallel", "rpm"):
        first = RtcClient(None)
        try:
            await first.connect(AsyncOpenAI(api_key=keys[name], base_url=gateway.http_base),
                                session={"type": "realtime", "model": "gemini-live"})
            body = await refused(keys[name])
            assert body["code"] == "rate_limit_exceeded", body
            async with httpx.AsyncClient() as http:
                hangup = await http.post(
                    f"{gateway.http_base}/realtime/calls/{first.call_id}/hangup",
                    headers={"Authorization": f"Bearer {keys[name]}"},
                )
            assert hangup.status_code == 200, hangup.text
        finally:
            await first.close()
    again = RtcClient(None)  # the parallel key's slot is free once its call is hung up
    try:
        async with asyncio.timeout(20):
            while True:
                try:
                    client = AsyncOpenAI(api_key=keys["parallel"], base_url=gateway.http_base, max_retries=0)
                    await again.connect(client, session={"type": "realtime", "model": "gemini-live"})
                    break
                except openai.RateLimitError:  # the hung-up call is still winding down
                    await again.close()
                    again = RtcClient(None)
                    await asyncio.sleep(0.2)
    finally:
        await again.close()
    assert (await refused(keys["rpm"]))["code"] == "rate_limit_exceeded"  # still within the minute
