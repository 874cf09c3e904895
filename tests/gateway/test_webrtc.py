"""WebRTC calls with an aiortc peer, like OpenAI's WebRTC quickstart in Python: speech from a WAV on the mic
track, the reply on the gateway's track, events on `oai-events`; barge-in, clear, liveness, limits (issue #12).
The call routes themselves (bodies, keys, secrets, CORS, the sideband): test_calls.py."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
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
