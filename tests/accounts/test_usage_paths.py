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

from gateway.emulator.script import Script
from schemas.pricing import PER_TOKEN
from tests.accounts.test_virtual_keys import TEXT_MODEL, Keyed, _sample, text_item, text_turn
from tests.gateway.test_tool_edges import ASK, GOOD
from tests.support.audio import chunks, silence, speech
from tests.support.databases import sqlite_url
from tests.support.live import MASTER_KEY, EmulatorThread, GatewayThread, LiveGateway, alias_on

MASTER = {"Authorization": f"Bearer {MASTER_KEY}"}
TRANSCRIBE_MODEL = "gemini-3.5-transcribe-live"
AUDIO_RATE, TEXT_OUT_RATE = 4.0e-6, 10.0e-6  # USD per token: Google publishes no price for the model (README)


@pytest.fixture(scope="module")
def slow_emulator() -> Iterator[EmulatorThread]:
    """Replies at 20 words a second: time for a client to cancel, or leave, mid-reply."""
    emulator = EmulatorThread(Script(reply_chunk_interval_s=0.05))
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def spend_gateway(
    tmp_path_factory: pytest.TempPathFactory, slow_emulator: EmulatorThread
) -> Iterator[tuple[LiveGateway, EmulatorThread]]:
    tmp = tmp_path_factory.mktemp("usage")
    emulator = EmulatorThread()
    emulator.start()
    transcribe = alias_on(emulator.url, "scribe", TRANSCRIBE_MODEL)
    transcribe["model_info"] = {
        "mode": "realtime_transcription",
        "input_cost_per_audio_token": AUDIO_RATE,
        "output_cost_per_token": TEXT_OUT_RATE,
    }
    models = [alias_on(emulator.url, "live", TEXT_MODEL), transcribe, alias_on(slow_emulator.url, "slow", TEXT_MODEL)]
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


def billed(rows: list[dict[str, Any]]) -> int:
    """Tokens the rows add to a key (session summaries repeat them and are left out)."""
    return sum(row["total_tokens"] for row in rows if row["call_type"] != "realtime_session")


def reported(emulator: EmulatorThread, since: int) -> int:
    """Tokens of every usageMetadata the emulator sent on its connections from index `since` on."""
    connections = emulator.server.connections[since:]
    return sum(int(usage.get("totalTokenCount", 0)) for c in connections for usage in c.usage_sent)


async def until(connection: Any, kind: str) -> list[Any]:
    seen = []
    async with asyncio.timeout(20):
        async for event in connection:
            seen.append(event)
            if event.type in (kind, "error"):
                return seen
    return seen


async def test_client_leaving_after_a_cancel_keeps_the_cancelled_response(
    keyed: Keyed, slow_emulator: EmulatorThread
) -> None:
    """response.cancel mid-reply, then the client closes before Gemini's cut turn completes: the cancelled
    response still has its spend row (it waited for the turn's usage, which never came), and the rows add up
    to exactly what Gemini reported."""
    key = await keyed.key(key_alias="leaver")
    since = len(slow_emulator.server.connections)
    client = AsyncOpenAI(api_key=key, base_url=keyed.gateway.http_base)
    async with client.realtime.connect(model="slow") as connection:
        await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        done = (await text_turn(connection, "one"))[-1]
        long_text = " ".join(["word"] * 60)
        await connection.conversation.item.create(item=text_item(long_text))
        await connection.response.create()
        await until(connection, "response.output_text.delta")
        await connection.response.cancel()
        cancelled = (await until(connection, "response.done"))[-1]
    assert done.response.status == "completed" and cancelled.response.status == "cancelled"
    rows = await keyed.spend_rows(3, key_alias="leaver")
    by_id = {row["request_id"]: row for row in rows}
    assert by_id[cancelled.response.id]["status"] == "cancelled"
    assert billed(rows) == reported(slow_emulator, since) > 0


async def test_client_leaving_mid_answer_is_billed_for_the_whole_turn(
    keyed: Keyed, slow_emulator: EmulatorThread
) -> None:
    """The client closes after the first delta of a long answer, without a cancel. Gemini's turn goes on, and
    the gateway reads it to its end for the usage (usage_settle_seconds): the cut response gets a row of its
    own, cancelled, with that usage, so leaving mid-answer is no way to go unbilled."""
    key = await keyed.key(key_alias="walkout")
    since = len(slow_emulator.server.connections)
    client = AsyncOpenAI(api_key=key, base_url=keyed.gateway.http_base)
    async with client.realtime.connect(model="slow") as connection:
        await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        done = (await text_turn(connection, "one"))[-1]
        await connection.conversation.item.create(item=text_item(" ".join(["word"] * 60)))
        await connection.response.create()
        (created,) = [e for e in await until(connection, "response.output_text.delta") if e.type == "response.created"]
    rows = await keyed.spend_rows(3, key_alias="walkout")
    by_id = {row["request_id"]: row for row in rows}
    cut = by_id[created.response.id]
    assert cut["status"] == "cancelled" and cut["completion_tokens"] > 0
    assert by_id[done.response.id]["status"] == "completed"
    assert billed(rows) == reported(slow_emulator, since) > by_id[done.response.id]["total_tokens"]


async def test_a_turn_that_never_ends_holds_the_row_for_usage_settle_seconds_only(tmp_path: Any) -> None:
    """Gemini stops mid-answer for good and the client leaves: the gateway waits for the turn's usage no longer
    than usage_settle_seconds, then writes the cut response's row without it, and the session's summary."""
    mute = EmulatorThread(Script(stall_at="mid_text", stall_s=None))
    mute.start()
    general = {
        "database_url": sqlite_url(tmp_path),
        "proxy_batch_write_at": 0.05,
        "limits": {"usage_settle_seconds": 0.5},
    }
    thread = GatewayThread(tmp_path, [alias_on(mute.url, "mute", TEXT_MODEL)], general=general)
    gateway = thread.start()
    try:
        async with httpx.AsyncClient(base_url=gateway.http_base.removesuffix("/v1"), headers=MASTER) as admin:
            keyed = Keyed(gateway, mute, admin)
            client = AsyncOpenAI(api_key=await keyed.key(key_alias="stuck"), base_url=gateway.http_base)
            async with client.realtime.connect(model="mute") as connection:
                await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
                await connection.conversation.item.create(item=text_item("hello there"))
                await connection.response.create()
                seen = await until(connection, "response.output_text.delta")
            (created,) = [event for event in seen if event.type == "response.created"]
            rows = {row["request_id"]: row for row in await keyed.spend_rows(2, key_alias="stuck")}
    finally:
        thread.stop()
        mute.stop()
    cut = rows[created.response.id]
    assert cut["status"] == "cancelled" and cut["total_tokens"] == 0  # Gemini never said what the turn cost
    assert [row["call_type"] for row in rows.values()].count("realtime_session") == 1


async def test_typed_turn_over_a_pending_call_bills_the_dropped_continuation(keyed: Keyed) -> None:
    """A typed turn while a call is pending: the gateway answers the call itself and drops Gemini's
    continuation of the old turn; that continuation's usage is still billed (a row of its own), so the key's
    rows add up to exactly what Gemini reported."""
    key = await keyed.key(key_alias="superseder")
    since = len(keyed.emulator.server.connections)
    client = AsyncOpenAI(api_key=key, base_url=keyed.gateway.http_base)
    async with client.realtime.connect(model="live") as connection:
        await connection.session.update(session={"type": "realtime", "output_modalities": ["text"], "tools": [GOOD]})
        first = (await text_turn(connection, ASK))[-1]
        assert first.response.output[0].type == "function_call"
        second = (await text_turn(connection, "Never mind, say hi."))[-1]
        assert second.type == "response.done" and second.response.status == "completed"
    await asyncio.sleep(0.2)
    sent = reported(keyed.emulator, since)
    rows = await keyed.spend_rows(4, key_alias="superseder")
    assert billed(rows) == sent > 0
    responses = {first.response.id, second.response.id}
    assert len([row for row in rows if row["request_id"] not in responses and row["call_type"] == "realtime"]) == 1
