"""`livegate serve --log-format json|text`: one line per session start and end and per refused connection, with
their fields, and no key, token or credential in any line (the redaction check of test_secrets.py, extended to
the new lines and the admin API)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from gateway.ops.logs import JsonFormatter, connection_refused, events, session_started
from tests.upstream.support import free_port

MASTER = "sk-logs-master-key-0123456789"
ORIGIN = "https://app.example.com"


def _config(tmp_path: Path) -> Path:
    document = {
        "model_list": [
            {
                "model_name": "live",
                "litellm_params": {"model": "emulator/gemini-2.5-flash-native-audio-preview-12-2025"},
            }
        ],
        "general_settings": {
            "master_key": MASTER,
            "allowed_origins": [ORIGIN],
            "metrics_key": "metrics-secret-123",
            "proxy_batch_write_at": 0.05,
        },
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


async def _wait_up(base: str, proc: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base) as http:
        for _ in range(200):
            if proc.poll() is not None:
                raise AssertionError("livegate serve exited")
            try:
                if (await http.get("/health/liveliness")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError("livegate serve did not come up")


async def _session(url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    seen = []
    async with connect(url, additional_headers=headers) as ws:
        seen.append(json.loads(await ws.recv()))
        item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
        try:
            await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
            await ws.send(json.dumps({"type": "response.create"}))
            while seen[-1]["type"] not in ("response.done", "error"):
                seen.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
        except ConnectionClosed:
            pass
    return seen


async def test_json_lines_for_sessions_and_refusals_hold_no_secret(tmp_path: Path) -> None:
    """A real `livegate serve --log-format json --log-level debug`: every stderr line is a JSON object; session
    start/end and refusal lines carry their fields; no key of any kind appears anywhere."""
    port = free_port()
    argv = [sys.executable, "-m", "gateway.cli", "serve", "--config", str(_config(tmp_path)), "--port", str(port),
            "--log-format", "json", "--log-level", "debug"]
    log_file = (tmp_path / "stderr.log").open("wb")  # a file, not a pipe: debug output would fill a pipe
    proc = subprocess.Popen(argv, stderr=log_file, stdout=subprocess.DEVNULL, env={**os.environ})
    base, ws_base = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/v1/realtime?model=live"
    secrets = [MASTER, "metrics-secret-123", "sk-wrong-key-abcdef"]
    try:
        await _wait_up(base, proc)
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {MASTER}"}) as http:
            virtual = (await http.post("/key/generate", json={"key_alias": "logs-app"})).json()["key"]
            secrets.append(virtual)
            assert (await _session(ws_base, {"Authorization": f"Bearer {virtual}"}))[-1]["type"] == "response.done"
            await _session(ws_base, {"Authorization": f"Bearer {MASTER}", "Origin": ORIGIN})
            refused = await _session(ws_base, {"Authorization": "Bearer sk-wrong-key-abcdef"})
            assert refused[0]["error"]["code"] == "invalid_api_key"
            with pytest.raises(InvalidStatus) as denied:
                await _session(ws_base, {"Authorization": f"Bearer {MASTER}", "Origin": "https://evil.example"})
            assert denied.value.response.status_code == 403
            metrics = await http.get("/metrics", headers={"Authorization": "Bearer metrics-secret-123"})
            assert metrics.status_code == 200 and "livegate_sessions_total" in metrics.text
            assert (await http.get("/metrics")).status_code == 401
            await asyncio.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        log_file.close()
    text = (tmp_path / "stderr.log").read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is JSON
    for secret in secrets:
        assert secret not in text
    events_ = {line.get("event"): line for line in lines if "event" in line}
    assert {"session_start", "session_end", "connection_refused"} <= set(events_)
    starts = [line for line in lines if line.get("event") == "session_start"]
    assert {s["key_alias"] for s in starts} == {"logs-app", "master"} and all(s["client"] for s in starts)
    assert starts[0]["alias"] == "live" and starts[0]["dialect"] == "ga" and starts[0]["session_id"].startswith("sess_")
    ends = [line for line in lines if line.get("event") == "session_end"]
    assert ends and all({"duration_s", "turns", "tokens", "cost_usd", "close", "deployment"} <= set(e) for e in ends)
    assert any(e["turns"] == 1 and e["tokens"] > 0 for e in ends)
    reasons = {line["reason"] for line in lines if line.get("event") == "connection_refused"}
    assert {"unknown key", "origin not allowed"} <= reasons
    assert any(line["level"] == "INFO" and line["logger"] == "livegate" for line in lines)  # start-up lines
    assert any("storage: sqlite" in line["message"] for line in lines)
    assert proc.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled


def test_text_and_json_formats_render_the_same_fields(caplog: pytest.LogCaptureFixture) -> None:
    """Text lines read `what k=v …`; JSON lines put the same fields at the top level; values are redacted."""
    caplog.set_level(logging.INFO, logger=events.name)
    session_started("sess_1", "live", "app", "ga", "127.0.0.1:5000")
    connection_refused("/v1/realtime", "bad Bearer sk-abcdef", 3000, None)
    started, refused = caplog.records
    line = "session start session_id=sess_1 alias=live key_alias=app dialect=ga client=127.0.0.1:5000"
    assert started.getMessage() == line
    rendered = json.loads(JsonFormatter("%(levelname)s %(name)s %(message)s").format(started))
    assert rendered["event"] == "session_start" and rendered["key_alias"] == "app" and rendered["client"]
    assert "sk-abcdef" not in refused.getMessage() and "[redacted]" in refused.getMessage()
