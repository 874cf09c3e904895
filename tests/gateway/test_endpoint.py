"""The /v1/realtime handshake and bad input, as the real OpenAI server answers them (OPENAI_REALTIME.md §1, §4)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.live import MASTER_KEY, GatewayThread, LiveGateway

AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}


async def recv_json(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(await ws.recv())


async def closed_after_error(ws: ClientConnection) -> tuple[dict[str, Any], int, str]:
    error = await recv_json(ws)
    with pytest.raises(ConnectionClosed):
        await ws.recv()
    assert ws.close_code is not None
    return error, ws.close_code, ws.close_reason or ""


async def test_bad_key_gets_error_then_3000(gateway: LiveGateway) -> None:
    """A wrong key: the upgrade succeeds, then an invalid_api_key error and close 3000."""
    async with connect(
        f"{gateway.ws_base}/realtime?model=gemini-live", additional_headers={"Authorization": "Bearer nope"}
    ) as ws:
        error, code, reason = await closed_after_error(ws)
    assert error["type"] == "error" and error["error"]["code"] == "invalid_api_key"
    assert code == 3000 and reason == "invalid_request_error.invalid_api_key"


async def test_missing_key_gets_3000(gateway: LiveGateway) -> None:
    """No key at all: the real server's 'Missing bearer' error (code null) and close 3000."""
    async with connect(f"{gateway.ws_base}/realtime?model=gemini-live") as ws:
        error, code, _ = await closed_after_error(ws)
    assert error["error"]["code"] is None and "Missing bearer" in error["error"]["message"] and code == 3000


@pytest.mark.parametrize(("query", "code"), [("", "missing_model"), ("?model=nope", "invalid_model")])
async def test_model_errors_close_4000(gateway: LiveGateway, query: str, code: str) -> None:
    """A missing or unknown alias: error naming it, close 4000, before any upstream dial."""
    async with connect(f"{gateway.ws_base}/realtime{query}", additional_headers=AUTH) as ws:
        error, close, reason = await closed_after_error(ws)
    assert error["error"]["code"] == code and close == 4000 and reason == f"invalid_request_error.{code}"


async def test_a_refused_client_that_talks_first_still_reads_the_error(gateway: LiveGateway) -> None:
    """A client that sends at once, before reading (as the README's snippet does), is not cut off mid-send:
    the gateway reads and drops its frames until it is quiet, then closes. The client's sends succeed, it reads
    the error, then the close (4000). Closing at once, its sends raced the close frame and raised."""
    async with connect(f"{gateway.ws_base}/realtime?model=nope", additional_headers=AUTH) as ws:
        await asyncio.sleep(0.02)  # the error (and, before, the close) has arrived by now
        for event in ({"type": "session.update", "session": {"type": "realtime"}}, {"type": "response.create"}):
            await ws.send(json.dumps(event))
        error, close, _ = await closed_after_error(ws)
    assert error["error"]["code"] == "invalid_model" and close == 4000


async def test_subprotocol_key_and_beta_marker(gateway: LiveGateway) -> None:
    """Browser-style sub-protocols carry the key and the beta marker; the server answers 'realtime'."""
    protocols = ["realtime", f"openai-insecure-api-key.{MASTER_KEY}", "openai-beta.realtime-v1"]
    async with connect(f"{gateway.ws_base}/realtime?model=gemini-live", subprotocols=protocols) as ws:  # type: ignore[arg-type]
        assert ws.subprotocol == "realtime"
        created = await recv_json(ws)
    assert created["type"] == "session.created" and "modalities" in created["session"]


async def test_api_key_header_and_plain_path(gateway: LiveGateway) -> None:
    """Azure-style `api-key` header on the /realtime path (no /v1) works too."""
    base = gateway.ws_base.removesuffix("/v1")
    async with connect(f"{base}/realtime?model=gemini-live", additional_headers={"api-key": MASTER_KEY}) as ws:
        created = await recv_json(ws)
    assert created["type"] == "session.created" and created["session"]["type"] == "realtime"


async def test_bad_input_never_ends_the_session(gateway: LiveGateway) -> None:
    """Non-JSON, binary, unknown type and a wrong field each get an error; the session then completes a turn."""
    async with connect(f"{gateway.ws_base}/realtime?model=gemini-live", additional_headers=AUTH) as ws:
        await recv_json(ws)
        await ws.send("not json")
        assert (await recv_json(ws))["error"]["code"] == "invalid_json"
        await ws.send(b'{"type":"response.create"}')
        assert (await recv_json(ws))["error"]["code"] == "invalid_event"
        await ws.send(json.dumps({"type": "nope", "event_id": "c1"}))
        error = (await recv_json(ws))["error"]
        assert (error["code"], error["param"], error["event_id"]) == ("invalid_value", "type", "c1")
        await ws.send(
            json.dumps(
                {
                    "type": "conversation.item.create",
                    "event_id": "c2",
                    "item": {"type": "message", "role": "user", "content": "x"},
                }
            )
        )
        error = (await recv_json(ws))["error"]
        assert error["event_id"] == "c2" and error["param"].startswith("item.content")
        await ws.send(
            json.dumps({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}})
        )
        assert (await recv_json(ws))["type"] == "session.updated"
        item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "still here"}]}
        await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
        await ws.send(json.dumps({"type": "response.create"}))
        events = []
        while not events or events[-1]["type"] != "response.done":
            events.append(await recv_json(ws))
    assert (
        "".join(e.get("delta", "") for e in events if e["type"] == "response.output_text.delta")
        == "You said: still here"
    )


async def test_upstream_refusal_maps_to_error_and_close(tmp_path: Path) -> None:
    """A retired model (Gemini closes 1008 'not found') reaches the client as one error and a 4000 close; a
    response the refusal cuts is closed out as failed first.

    2.x models dial at `conversation.item.create`, so the refusal can come before or after the gateway reads
    the client's `response.create` (the client cannot wait for it: no event says the dial failed). Both
    orders are valid outcomes: the session ends before that response exists (no response events at all), or
    the response is created and then done with status failed, before the error."""
    thread = GatewayThread(
        tmp_path, [{"model_name": "old", "litellm_params": {"model": "emulator/gemini-2.0-flash-live-001"}}]
    )
    live = thread.start()
    try:
        async with connect(f"{live.ws_base}/realtime?model=old", additional_headers=AUTH) as ws:
            await recv_json(ws)
            item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
            await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
            await ws.send(json.dumps({"type": "response.create", "event_id": "rc"}))
            frames = []
            with pytest.raises(ConnectionClosed):
                while True:
                    frames.append(await recv_json(ws))
            close_code = ws.close_code
    finally:
        thread.stop()
    errors = [f for f in frames if f["type"] == "error"]
    assert len(errors) == 1 and errors[0]["error"]["code"] == "upstream_not_found_or_policy"
    assert "not found" in errors[0]["error"]["message"]
    assert frames[-1] is errors[0] and close_code == 4000
    created = [f["response"]["id"] for f in frames if f["type"] == "response.created"]
    done = [f["response"] for f in frames if f["type"] == "response.done"]
    assert [r["id"] for r in done] == created and len(done) <= 1 and all(r["status"] == "failed" for r in done)


async def test_fallback_to_the_next_deployment_is_invisible(tmp_path: Path) -> None:
    """An alias whose first deployment is retired (1008 at setup) is served by the next one, whose model
    takes user text differently (realtimeInput.text): the client just gets its answer."""
    models = [
        {"model_name": "fb", "litellm_params": {"model": "emulator/gemini-2.0-flash-live-001"}},
        {"model_name": "fb", "litellm_params": {"model": "emulator/gemini-3.1-flash-live-preview"}},
    ]
    thread = GatewayThread(tmp_path, models)
    live = thread.start()
    try:
        async with connect(f"{live.ws_base}/realtime?model=fb", additional_headers=AUTH) as ws:
            await recv_json(ws)
            await ws.send(
                json.dumps({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}})
            )
            item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
            await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
            await ws.send(json.dumps({"type": "response.create"}))
            frames = []
            while not frames or frames[-1]["type"] not in ("response.done", "error"):
                frames.append(await asyncio.wait_for(recv_json(ws), 10))
    finally:
        thread.stop()
    assert frames[-1]["type"] == "response.done" and frames[-1]["response"]["status"] == "completed"
    assert "".join(f.get("delta", "") for f in frames if f["type"] == "response.output_text.delta") == "You said: hi"
