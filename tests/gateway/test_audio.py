"""openai-python streams speech-like audio through the gateway (GA and beta, pcm16 and G.711): speech
events, an audio reply with its transcript, barge-in, and a manual turn (issue #3)."""

from __future__ import annotations

import base64
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from openai import AsyncOpenAI

from gateway.emulator.script import Script
from schemas.openai import Dialect, validate_server_event
from tests.support.audio import chunks, silence, speech
from tests.support.live import MASTER_KEY, EmulatorThread, GatewayThread, LiveGateway, alias_on

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    audioop = pytest.importorskip("audioop")  # an independent G.711 codec to check ours against (Python < 3.13)

MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"


@pytest.fixture(scope="module")
def paced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    """The gateway on an emulator that speaks in (fast) real time, so a reply can be interrupted."""
    emulator = EmulatorThread(Script(reply_chunk_interval_s=0.05))
    url = emulator.start()
    thread = GatewayThread(tmp_path_factory.mktemp("audio"), [alias_on(url, "voice", MODEL)])
    yield thread.start()
    thread.stop()
    emulator.stop()


async def collect(conn: Any, dialect: Dialect, until: str = "response.done", limit: int = 400) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    async for event in conn:
        data = event.to_dict()
        validate_server_event(data, dialect)
        seen.append(data)
        if data["type"] == until or data["type"] == "error" or len(seen) >= limit:
            return seen
    return seen


async def stream(conn: Any, pcm: bytes, encode: Any = None) -> None:
    for chunk in chunks(pcm):
        payload = encode(chunk) if encode else chunk
        await conn.input_audio_buffer.append(audio=base64.b64encode(payload).decode())


async def test_ga_voice_turn_with_server_vad(paced: LiveGateway) -> None:
    """Speech then silence: speech_started/stopped/committed on one item id, input transcript, audio reply."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=paced.http_base)
    async with client.realtime.connect(model="voice") as conn:
        await conn.session.update(
            session={
                "type": "realtime",
                "audio": {
                    "input": {
                        "transcription": {"model": "gpt-4o-mini-transcribe"},
                        "turn_detection": {"type": "server_vad"},
                    }
                },
            }
        )
        await stream(conn, speech(0.8) + silence(0.7))
        seen = await collect(conn, Dialect.GA)
    kinds = [e["type"] for e in seen]
    started, stopped, committed = (
        next(e for e in seen if e["type"] == f"input_audio_buffer.{k}")
        for k in ("speech_started", "speech_stopped", "committed")
    )
    assert started["item_id"] == stopped["item_id"] == committed["item_id"]
    assert kinds.index("input_audio_buffer.committed") < kinds.index("response.created")
    user = next(e for e in seen if e["type"] == "conversation.item.added" and e["item"]["role"] == "user")
    assert user["item"]["id"] == committed["item_id"] and user["item"]["content"][0]["type"] == "input_audio"
    assert "".join(e["delta"] for e in seen if e["type"].endswith("input_audio_transcription.delta")) == "user speech 1"
    audio = b"".join(base64.b64decode(e["delta"]) for e in seen if e["type"] == "response.output_audio.delta")
    transcript = "".join(e["delta"] for e in seen if e["type"] == "response.output_audio_transcript.delta")
    assert transcript == "You said: user speech 1" and len(audio) == 5 * 4800  # 100 ms of pcm16 24 kHz per word
    assert seen[-1]["response"]["status"] == "completed"


async def test_beta_g711_voice_turn(paced: LiveGateway) -> None:
    """A beta phone bot: µ-law in and out; the reply decodes (with the stdlib's codec) to real audio."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=paced.http_base, websocket_base_url=paced.ws_base)
    async with client.beta.realtime.connect(model="voice") as conn:
        await conn.session.update(session={"input_audio_format": "g711_ulaw", "output_audio_format": "g711_ulaw"})
        pcm8k = speech(0.8, 8000) + silence(0.7, 8000)
        for chunk in chunks(pcm8k, 8000):
            await conn.input_audio_buffer.append(audio=base64.b64encode(audioop.lin2ulaw(chunk, 2)).decode())
        seen = await collect(conn, Dialect.BETA)
    kinds = [e["type"] for e in seen]
    assert "input_audio_buffer.speech_started" in kinds and "response.audio.delta" in kinds
    ulaw = b"".join(base64.b64decode(e["delta"]) for e in seen if e["type"] == "response.audio.delta")
    assert abs(len(ulaw) - 5 * 800) <= 8  # 500 ms at 8 kHz, one byte per sample
    decoded = np.frombuffer(audioop.ulaw2lin(ulaw, 2), dtype="<i2").astype(float)
    assert np.sqrt(np.mean(decoded**2)) > 1000  # the emulator's tones survived resampling and companding
    assert (
        "".join(e["delta"] for e in seen if e["type"] == "response.audio_transcript.delta") == "You said: user speech 1"
    )


async def test_barge_in_cancels_the_reply(paced: LiveGateway) -> None:
    """Speaking over the reply: speech_started, the reply ends cancelled (turn_detected), a new reply follows."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=paced.http_base)
    async with client.realtime.connect(model="voice") as conn:
        await stream(conn, speech(0.8) + silence(0.7))
        first = await collect(conn, Dialect.GA, until="response.output_audio.delta")
        assert first[-1]["type"] == "response.output_audio.delta"
        await stream(conn, speech(0.5) + silence(0.7))
        rest = await collect(conn, Dialect.GA)
        while not (rest[-1]["type"] == "response.done" and rest[-1]["response"]["status"] == "completed"):
            rest += await collect(conn, Dialect.GA)
    kinds = [e["type"] for e in rest]
    cancelled = next(e for e in rest if e["type"] == "response.done")
    assert cancelled["response"]["status"] == "cancelled"
    assert cancelled["response"]["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
    assert kinds.index("input_audio_buffer.speech_started") < kinds.index("response.done")
    final = "".join(
        e["delta"]
        for e in rest[kinds.index("response.done") :]
        if e["type"] == "response.output_audio_transcript.delta"
    )
    assert final == "You said: user speech 2"


async def test_manual_turn_commit_then_response_create(paced: LiveGateway, tmp_path: Path) -> None:
    """turn_detection null: commit makes the user item, response.create gets the reply; short commits fail."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=paced.http_base)
    async with client.realtime.connect(model="voice") as conn:
        await conn.session.update(
            session={"type": "realtime", "output_modalities": ["text"], "audio": {"input": {"turn_detection": None}}}
        )
        await conn.input_audio_buffer.append(audio=base64.b64encode(silence(0.05)).decode())
        await conn.input_audio_buffer.commit(event_id="short")
        error = await collect(conn, Dialect.GA, until="error")
        assert (
            error[-1]["error"]["code"] == "input_audio_buffer_commit_empty"
            and error[-1]["error"]["event_id"] == "short"
        )
        await stream(conn, speech(0.6))
        await conn.input_audio_buffer.commit()
        committed = await collect(conn, Dialect.GA, until="conversation.item.done")
        assert [e["type"] for e in committed][-3:] == [
            "input_audio_buffer.committed",
            "conversation.item.added",
            "conversation.item.done",
        ]
        await conn.response.create()
        seen = await collect(conn, Dialect.GA)
    assert "input_audio_buffer.speech_started" not in [e["type"] for e in committed + seen]
    assert "".join(e["delta"] for e in seen if e["type"] == "response.output_text.delta") == "You said: user speech 1"
