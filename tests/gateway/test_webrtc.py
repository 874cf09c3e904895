"""WebRTC calls (`POST /v1/realtime/calls`) with an aiortc peer, like OpenAI's WebRTC quickstart in Python:
speech from a WAV on the mic track, the reply on the gateway's track, events on `oai-events` (issue #12)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import websockets
from openai import AsyncOpenAI

from gateway.emulator.script import Script
from schemas.openai import Dialect, validate_server_event
from tests.support.live import LOOPBACK_WEBRTC, MASTER_KEY, EmulatorThread, GatewayThread, LiveGateway, alias_on
from tests.support.rtc import RtcClient, silence, speech, voiced_ms, write_wav

REPLY = "You said: user speech 1"  # the emulator's answer to the first spoken turn
REPLY_MS = 500  # five words, 100 ms of tone each (gateway/emulator/README.md)
MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"
ROOT = Path(__file__).resolve().parents[2]
# `output_audio_buffer.stopped` goes when the gateway hands its track the last frame; the peer hears it after
# the network and its jitter buffer, so a test waits this long before it stops listening.
TAIL_S = 0.5


async def test_voice_turn_over_webrtc(gateway: LiveGateway, tmp_path: Path) -> None:
    """Speech on the mic track → transcript, the reply heard on the track (voiced, ~400 ms), response.done."""
    wav = write_wav(tmp_path / "speech.wav", silence(0.2), speech(1.2), silence(6))
    rtc = RtcClient(wav)
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    session = {"type": "realtime", "model": "gemini-live", "audio": {"input": {"transcription": {"model": "x"}}}}
    try:
        await rtc.connect(client, session=session)
        done = await rtc.wait_for("response.done", timeout=30)
        stopped = await rtc.wait_for("output_audio_buffer.stopped", timeout=10)
        await asyncio.sleep(TAIL_S)
    finally:
        await rtc.close()
    for event in rtc.events:
        validate_server_event(event, Dialect.GA)
    types = rtc.types()
    assert types[0] == "session.created"
    assert rtc.events[0]["session"]["audio"]["input"]["transcription"] is not None  # the session part applied
    assert "response.output_audio.delta" not in types  # the audio went to the track
    assert types.index("response.content_part.added") < types.index("output_audio_buffer.started")
    assert types.index("response.done") < types.index("output_audio_buffer.stopped")
    assert stopped["response_id"] == done["response"]["id"]
    assert done["response"]["status"] == "completed"
    transcript = done["response"]["output"][0]["content"][0]["transcript"]
    assert transcript == REPLY
    user = next(e for e in rtc.events if e["type"] == "conversation.item.input_audio_transcription.completed")
    assert user["transcript"] == "user speech 1"
    heard = voiced_ms(rtc.reply_audio())
    assert REPLY_MS - 100 <= heard <= REPLY_MS + 100, heard


LONG_TEXT = " ".join(f"word{n}" for n in range(18))  # "You said: …" → 20 words, 2 s of reply audio


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


async def test_client_clear_and_append_rules(gateway: LiveGateway) -> None:
    """output_audio_buffer.clear flushes the playing reply (cleared, never stopped); an append is an error."""
    rtc = RtcClient(None)
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": LONG_TEXT}]}
    try:
        await rtc.connect(client, session={"type": "realtime", "model": "gemini-live"})
        rtc.send({"type": "conversation.item.create", "item": item})
        rtc.send({"type": "response.create"})
        started = await rtc.wait_for("output_audio_buffer.started")
        rtc.send({"type": "output_audio_buffer.clear", "event_id": "evt_clear"})
        cleared = await rtc.wait_for("output_audio_buffer.cleared")
        rtc.send({"type": "input_audio_buffer.append", "audio": "AAAA", "event_id": "evt_append"})
        error = await rtc.wait_for("error")
        done = await rtc.wait_for("response.done")
        truncated = await rtc.wait_for("conversation.item.truncated")
        await asyncio.sleep(0.5)  # a stopped would have come by now: 2 s of audio were queued, ~0 played
    finally:
        await rtc.close()
    assert cleared["response_id"] == started["response_id"]
    assert truncated["item_id"] == done["response"]["output"][0]["id"] and truncated["audio_end_ms"] < 1000
    assert error["error"]["event_id"] == "evt_append" and error["error"]["param"] == "type"
    assert "output_audio_buffer.stopped" not in rtc.types()
    assert voiced_ms(rtc.reply_audio()) < 1000


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


@pytest.fixture(scope="module")
def long_replies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    """A gateway whose emulator hears the first spoken turn as 18 words, so its reply plays for 2 s."""
    emulator = EmulatorThread(Script(user_transcripts=(LONG_TEXT, "short")))
    url = emulator.start()
    thread = GatewayThread(tmp_path_factory.mktemp("rtc"), [alias_on(url, "voice", MODEL)])
    yield thread.start()
    thread.stop()
    emulator.stop()


async def test_barge_in_flushes_the_track(long_replies: LiveGateway, tmp_path: Path) -> None:
    """Speech while a reply plays: the unheard rest is dropped at once (cleared, no stopped), the next turn runs."""
    # Reply 1 (2 s) starts ~0.5 s after the first speech ends; the second speech starts 1 s after it ended.
    wav = write_wav(tmp_path / "barge.wav", silence(0.2), speech(1.0), silence(1.0), speech(1.0), silence(6))
    rtc = RtcClient(wav)
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=long_replies.http_base)
    try:
        await rtc.connect(client, session={"type": "realtime", "model": "voice"})
        first = await rtc.wait_for("output_audio_buffer.started")
        cleared = await rtc.wait_for("output_audio_buffer.cleared")
        at = rtc.events.index(cleared)
        second = await rtc.wait_for("output_audio_buffer.started", after=at)
        stopped = await rtc.wait_for("output_audio_buffer.stopped", after=at)
        await asyncio.sleep(TAIL_S)
    finally:
        await rtc.close()
    assert cleared["response_id"] == first["response_id"]
    done = next(e for e in rtc.events if e["type"] == "response.done")
    assert done["response"]["id"] == first["response_id"]  # Gemini had finished: only the call heard the speech
    assert rtc.types().index("response.done") < at
    # The conversation keeps what was heard of reply 1 (the call knows where its playback stopped).
    truncated = rtc.events[at + 1]
    assert truncated["type"] == "conversation.item.truncated", rtc.types()[at - 2 : at + 3]
    assert truncated["item_id"] == done["response"]["output"][0]["id"]
    assert 200 <= truncated["audio_end_ms"] <= 1500, truncated
    assert stopped["response_id"] == second["response_id"] != first["response_id"]
    stops = [e for e in rtc.events if e["type"] == "output_audio_buffer.stopped"]
    assert [e["response_id"] for e in stops] == [second["response_id"]]
    heard = voiced_ms(rtc.reply_audio())
    assert 300 <= heard <= 1600, heard  # part of reply 1 and all of reply 2 (300 ms), never the whole 2 s


async def test_vanished_peer_frees_the_upstream(tmp_path: Path) -> None:
    """A peer killed outright (no DTLS close, no hangup): its audio stops, the call ends within seconds,
    Gemini's socket is closed and the key's session slot is free again."""
    emulator = EmulatorThread()
    url = emulator.start()
    general = {"webrtc": {**LOOPBACK_WEBRTC, "media_timeout_seconds": 1}, "limits": {"max_sessions_per_key": 1}}
    thread = GatewayThread(tmp_path, [alias_on(url, "voice", MODEL)], general=general)
    gateway = thread.start()
    peer = subprocess.Popen(
        [sys.executable, "-m", "tests.support.rtc_peer", gateway.http_base, MASTER_KEY, "voice"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert peer.stdout is not None
        ready = await asyncio.wait_for(asyncio.to_thread(peer.stdout.readline), 30)
        assert ready.startswith("READY rtc_"), ready
        (upstream,) = emulator.server.connections
        assert upstream.close_code is None  # the call holds its Gemini socket
        peer.kill()
        killed = time.monotonic()
        while upstream.close_code is None and time.monotonic() - killed < 10:
            await asyncio.sleep(0.1)
        assert upstream.close_code is not None, "the upstream is still open 10 s after the peer vanished"
        assert time.monotonic() - killed < 4
        rtc = RtcClient(None)  # the per-key cap (1) admits a new call: the old one released its slot
        try:
            client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
            await rtc.connect(client, session={"type": "realtime", "model": "voice"})
        finally:
            await rtc.close()
    finally:
        peer.kill()
        peer.wait(5)
        thread.stop()
        emulator.stop()


async def test_peer_that_never_connects_is_ended(tmp_path: Path) -> None:
    """An offer answered but never followed by ICE: the call ends at connect_timeout_seconds (hangup 404s)."""
    general = {"webrtc": {**LOOPBACK_WEBRTC, "connect_timeout_seconds": 0.5}}
    thread = GatewayThread(tmp_path, general=general)
    gateway = thread.start()
    rtc = RtcClient(None)
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    try:
        offer = await rtc.offer()
        raw = await client.realtime.calls.with_raw_response.create(sdp=offer, extra_query={"model": "gemini-live"})
        call_id = raw.headers["location"].rsplit("/", 1)[-1]
        await asyncio.sleep(2)  # the answer is never applied
        with pytest.raises(openai.NotFoundError):
            await client.realtime.calls.hangup(call_id)
    finally:
        await rtc.close()
        thread.stop()


@pytest.mark.parametrize(
    ("limits", "code", "shutdown"),
    [({"max_session_seconds": 1}, "session_expired", False), ({"shutdown_grace_seconds": 2}, "server_shutdown", True)],
)
async def test_session_limits_end_calls(tmp_path: Path, limits: dict[str, float], code: str, shutdown: bool) -> None:
    """A call is a session like any other: its maximum duration or the gateway's drain ends it with one
    error on oai-events, then the peer connection closes."""
    thread = GatewayThread(tmp_path, general={"limits": limits})
    gateway = thread.start()
    rtc = RtcClient(None)
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    try:
        await rtc.connect(client, session={"type": "realtime", "model": "gemini-live"})
        if shutdown:
            thread.shutdown()
        error = await rtc.wait_for("error", timeout=10)
        await asyncio.wait_for(rtc.closed.wait(), 10)
    finally:
        await rtc.close()
        thread.stop()
    assert error["error"]["code"] == code


@pytest.mark.parametrize("output_format", [{"type": "audio/pcm", "rate": 24000}, {"type": "audio/pcmu"}])
async def test_typed_reply_is_heard_in_any_output_format(gateway: LiveGateway, output_format: dict[str, Any]) -> None:
    """A typed turn's spoken reply plays on the track whatever output format the session chose (the call
    follows session.updated and decodes G.711 before resampling to 48 kHz)."""
    rtc = RtcClient(None)
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
    try:
        await rtc.connect(client, session={"type": "realtime", "model": "gemini-live"})
        update = {"type": "realtime", "audio": {"output": {"format": output_format}}}
        rtc.send({"type": "session.update", "session": update})
        await rtc.wait_for("session.updated")
        rtc.send({"type": "conversation.item.create", "item": item})
        rtc.send({"type": "response.create"})
        await rtc.wait_for("output_audio_buffer.stopped")
        await asyncio.sleep(TAIL_S)
    finally:
        await rtc.close()
    heard = voiced_ms(rtc.reply_audio())
    assert 300 - 80 <= heard <= 300 + 80, heard  # "You said: hi": three words, 100 ms each


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


async def test_data_channel_only_call(gateway: LiveGateway) -> None:
    """An offer with no audio section: events only; a spoken reply's audio is dropped, not queued."""
    rtc = RtcClient(None, audio=False)
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
    try:
        await rtc.connect(client, session={"type": "realtime", "model": "gemini-live"})
        rtc.send({"type": "conversation.item.create", "item": item})
        rtc.send({"type": "response.create"})
        done = await rtc.wait_for("response.done")
    finally:
        await rtc.close()
    kinds = rtc.types()
    assert done["response"]["output"][0]["content"][0]["transcript"] == "You said: hi"
    assert not any(kind.startswith("output_audio_buffer.") for kind in kinds) and rtc.audio == []


async def test_peer_closing_its_connection_frees_the_upstream(tmp_path: Path) -> None:
    """The client closes its RTCPeerConnection (DTLS close): the call ends at once, Gemini's socket closes."""
    emulator = EmulatorThread()
    url = emulator.start()
    thread = GatewayThread(tmp_path, [alias_on(url, "voice", MODEL)])
    gateway = thread.start()
    rtc = RtcClient(None)
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
    try:
        await rtc.connect(client, session={"type": "realtime", "model": "voice"})
        rtc.send({"type": "conversation.item.create", "item": item})
        rtc.send({"type": "response.create"})
        await rtc.wait_for("response.done")
        (upstream,) = emulator.server.connections
        await rtc.close()
        closed_at = time.monotonic()
        while upstream.close_code is None and time.monotonic() - closed_at < 10:
            await asyncio.sleep(0.05)
        assert upstream.close_code is not None and time.monotonic() - closed_at < 2
    finally:
        await rtc.close()
        thread.stop()
        emulator.stop()


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
