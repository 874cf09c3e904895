"""Usage that reaches spend rows, the key's running spend, /spend/logs and /metrics on paths other than a plain
completed response (issues #10, #13): transcription sessions, and the ways a session or response can end.
openai-python against the emulator, spend in a real SQLite file."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from openai import AsyncOpenAI

from schemas.pricing import PER_TOKEN
from tests.accounts.test_virtual_keys import TEXT_MODEL, Keyed, _sample
from tests.gateway.test_audio import chunks, silence, speech
from tests.support.databases import sqlite_url
from tests.support.live import MASTER_KEY, EmulatorThread, GatewayThread, LiveGateway, alias_on

MASTER = {"Authorization": f"Bearer {MASTER_KEY}"}
TRANSCRIBE_MODEL = "gemini-3.5-transcribe-live"
AUDIO_RATE, TEXT_OUT_RATE = 4.0e-6, 10.0e-6  # USD per token: Google publishes no price for the model (README)


@pytest.fixture(scope="module")
def spend_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveGateway, EmulatorThread]]:
    tmp = tmp_path_factory.mktemp("usage")
    emulator = EmulatorThread()
    emulator.start()
    transcribe = alias_on(emulator.url, "scribe", TRANSCRIBE_MODEL)
    transcribe["model_info"] = {
        "mode": "realtime_transcription",
        "input_cost_per_audio_token": AUDIO_RATE,
        "output_cost_per_token": TEXT_OUT_RATE,
    }
    models = [alias_on(emulator.url, "live", TEXT_MODEL), transcribe]
    general = {"database_url": sqlite_url(tmp), "proxy_batch_write_at": 0.05}
    thread = GatewayThread(tmp, models, general=general)
    yield thread.start(), emulator
    thread.stop()
    emulator.stop()


@pytest.fixture
async def keyed(spend_gateway: tuple[LiveGateway, EmulatorThread]) -> AsyncIterator[Keyed]:
    gateway, emulator = spend_gateway
    async with httpx.AsyncClient(base_url=gateway.http_base.removesuffix("/v1"), headers=MASTER, timeout=10) as admin:
        yield Keyed(gateway, emulator, admin)


async def transcribe(connection: Any, utterances: int) -> list[dict[str, Any]]:
    """Speak `utterances` times; every transcription.completed the client got."""
    pcm = (speech(0.6) + silence(0.8)) * utterances
    for chunk in chunks(pcm):
        await connection.input_audio_buffer.append(audio=base64.b64encode(chunk).decode())
    done: list[dict[str, Any]] = []
    async with asyncio.timeout(30):
        async for event in connection:
            if event.type == "conversation.item.input_audio_transcription.completed":
                done.append(event.to_dict())
                if len(done) == utterances:
                    return done
            assert event.type != "error", event
    return done


async def test_transcription_usage_is_billed_like_responses(keyed: Keyed) -> None:
    """A GA transcription session on a virtual key: each utterance's usage (audio tokens in, text out) is one
    spend row priced with the alias's rates, the key's spend and /key/info add it up, /metrics counts its tokens
    and cost, and the session's summary row sums them."""
    key = await keyed.key(key_alias="scribe-app", max_budget=100)
    before = (await keyed.admin.get("/metrics")).text
    client = AsyncOpenAI(api_key=key, base_url=keyed.gateway.http_base)
    async with client.realtime.connect(model="scribe", extra_query={"intent": "transcription"}) as connection:
        await connection.recv()
        audio_in = {"transcription": {"model": "gpt-4o-transcribe"}, "turn_detection": {"type": "server_vad"}}
        await connection.session.update(session={"type": "transcription", "audio": {"input": audio_in}})
        await connection.recv()
        completed = await transcribe(connection, 2)
    rows = await keyed.spend_rows(3, key_alias="scribe-app")
    by_id = {row["request_id"]: row for row in rows}
    expected_usd = 0.0
    for event in completed:
        usage, row = event["usage"], by_id[event["item_id"]]
        audio_tokens = usage["input_token_details"]["audio_tokens"]
        assert audio_tokens > 0 and row["call_type"] == "realtime_transcription"
        assert (row["prompt_tokens"], row["completion_tokens"], row["total_tokens"]) == (
            usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]
        )
        assert row["input_audio_tokens"] == audio_tokens and row["model_group"] == "scribe"
        cost = audio_tokens * AUDIO_RATE + usage["output_tokens"] * TEXT_OUT_RATE
        assert row["spend"] == pytest.approx(cost) and row["messages"] is None  # transcripts: opt-in only
        expected_usd += cost
    (summary,) = [row for row in rows if row["call_type"] == "realtime_session"]
    assert summary["turns"] == 2 and summary["spend"] == pytest.approx(expected_usd)
    info = (await keyed.admin.get("/key/info", params={"key": key})).json()["info"]
    assert info["spend"] == pytest.approx(expected_usd)
    assert info["usage"]["total_tokens"] == sum(e["usage"]["total_tokens"] for e in completed)
    after = (await keyed.admin.get("/metrics")).text
    audio = 'livegate_tokens_total{alias="scribe",direction="input",modality="audio"}'
    assert _sample(after, audio) - _sample(before, audio) == sum(
        e["usage"]["input_token_details"]["audio_tokens"] for e in completed
    )
    spend = 'livegate_spend_usd_total{alias="scribe"}'
    assert _sample(after, spend) - _sample(before, spend) == pytest.approx(expected_usd)
    assert AUDIO_RATE / PER_TOKEN == 4.0  # the override is per token, the table per million (LiteLLM's names)


async def test_transcription_budget_ends_the_session_after_the_utterance(keyed: Keyed) -> None:
    """A tiny budget: the first utterance is transcribed in full (its completed event and row), then one
    insufficient_quota error and close 1008, as a conversation's response would."""
    key = await keyed.key(key_alias="scribe-poor", max_budget=1e-9)
    client = AsyncOpenAI(api_key=key, base_url=keyed.gateway.http_base)
    async with client.realtime.connect(model="scribe", extra_query={"intent": "transcription"}) as connection:
        await connection.recv()
        (completed,) = await transcribe(connection, 1)
        error = await asyncio.wait_for(connection.recv(), 10)
        assert error.type == "error" and error.error.code == "insufficient_quota"
    assert completed["transcript"] == "user speech 1"
    rows = await keyed.spend_rows(2, key_alias="scribe-poor")
    assert {row["call_type"] for row in rows} == {"realtime_transcription", "realtime_session"}
