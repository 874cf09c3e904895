"""gateway/ops/metrics.py: /metrics moves with sessions, responses, refusals, client errors and latencies."""

from __future__ import annotations

import asyncio
import json

import httpx
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from tests.support.live import MASTER_KEY, LiveGateway

AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def moved(before: dict, after: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_counters_and_histograms_move(gateway: LiveGateway) -> None:
    """One session with a bad event and a text turn, one refused connection: each shows in /metrics."""
    base = gateway.http_base.removesuffix("/v1")
    async with httpx.AsyncClient(base_url=base) as http:
        before = samples((await http.get("/metrics")).text)
        async with connect(f"{gateway.ws_base}/realtime?model=gemini-live", additional_headers=AUTH) as ws:
            await ws.recv()
            await ws.send(json.dumps({"type": "no.such.event"}))
            assert json.loads(await ws.recv())["error"]["code"] == "invalid_value"
            item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
            await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
            await ws.send(json.dumps({"type": "response.create"}))
            while json.loads(await ws.recv())["type"] != "response.done":
                pass
            open_now = samples((await http.get("/metrics")).text)
            assert open_now[("livegate_sessions_open", (("alias", "gemini-live"),))] >= 1
        async with connect(f"{gateway.ws_base}/realtime?model=gemini-live") as refused:
            await refused.recv()
        await asyncio.sleep(0.2)
        after = samples((await http.get("/metrics")).text)
    assert moved(before, after, "livegate_client_errors_total", code="invalid_value") == 1
    assert moved(before, after, "livegate_refused_connections_total", reason="missing_key") == 1
    assert moved(before, after, "livegate_sessions_total", alias="gemini-live", outcome="client_closed") == 1
    assert moved(before, after, "livegate_upstream_dial_seconds_count", alias="gemini-live") == 1
    first = "livegate_time_to_first_delta_seconds_count"
    assert moved(before, after, first, alias="gemini-live", modality="audio") == 1  # an audio session's first delta
    assert moved(before, after, "livegate_spend_usd_total", alias="gemini-live") > 0
