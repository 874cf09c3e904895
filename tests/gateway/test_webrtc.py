"""WebRTC calls (`POST /v1/realtime/calls`) with an aiortc peer, like OpenAI's WebRTC quickstart in Python:
speech from a WAV on the mic track, the reply on the gateway's track, events on `oai-events` (issue #12)."""

from __future__ import annotations

from pathlib import Path

from openai import AsyncOpenAI

from schemas.openai import Dialect, validate_server_event
from tests.support.live import MASTER_KEY, LiveGateway
from tests.support.rtc import RtcClient, silence, speech, voiced_ms, write_wav

REPLY = "You said: user speech 1"  # the emulator's answer to the first spoken turn
REPLY_MS = 400  # four words, 100 ms of tone each (gateway/emulator/README.md)


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
