"""What a gateway imports only when a session or its config needs it (issue #15: idle RSS and start-up)."""

from __future__ import annotations

import ast
import asyncio
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from openai import AsyncOpenAI

from tests.support.live import MASTER_KEY
from tests.support.processes import GatewayProcess, write_config

HEAVY = ("numpy", "soxr", "google.auth", "google.genai", "sqlalchemy", "jsonschema")


def test_a_plain_gateway_loads_no_heavy_dependency(tmp_path: Path) -> None:
    """pcm16 sessions, no database, no Vertex OAuth, no tools: the app is built without numpy, soxr,
    google-auth, google-genai, SQLAlchemy or jsonschema (each comes with the first session or setting that
    needs it)."""
    config = tmp_path / "config.yaml"
    models = [{"model_name": "live", "litellm_params": {"model": "gemini/gemini-2.5-flash-native-audio-preview-12-2025",
                                                         "api_key": "k"}}]
    config.write_text(yaml.safe_dump({"model_list": models, "general_settings": {"master_key": "sk-x",
                                                                                "database_url": None}}))
    code = (
        "import sys\n"
        "from gateway.app import create_app\n"
        "from gateway.config import load_config\n"
        "import gateway.cli, gateway.serve\n"
        f"create_app(load_config({str(config)!r}, {{}}))\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# The gateway's own CLI, plus a SIGUSR1 that prints which heavy modules it has loaded so far.
_WATCHED_LAUNCHER = f"""
import signal, sys
from gateway.cli import main
def heavy(*_):
    print("heavy:", sorted(m for m in {HEAVY!r} if m in sys.modules), flush=True)
signal.signal(signal.SIGUSR1, heavy)
sys.exit(main(sys.argv[1:]))
"""


async def test_the_default_sqlite_gateway_serves_keys_without_sqlalchemy(tmp_path: Path) -> None:
    """The default config (a SQLite file beside it), restarted after a virtual key was made: readiness, sessions on
    the master key and on the virtual key, and their spend rows never load SQLAlchemy (~20 MB of RSS); the first
    admin call does. The rows are in the file all the same, charged to the key."""
    live = {"model_name": "live", "litellm_params": {"model": "emulator/gemini-3.1-flash-live-preview"}}
    config = write_config(tmp_path / "config.yaml", [live], {"proxy_batch_write_at": 0.05})
    admin = {"Authorization": f"Bearer {MASTER_KEY}"}
    first = GatewayProcess("first", config, tmp_path).wait_ready()  # migrates the new file; makes the key
    try:
        made = httpx.post(f"{first.base}/key/generate", json={"key_alias": "app", "max_budget": 5}, headers=admin)
        key = made.json()["key"]
    finally:
        first.stop()
    gateway = GatewayProcess("gateway", config, tmp_path, launcher=_WATCHED_LAUNCHER).wait_ready()

    async def loaded() -> list[str]:
        marks = gateway.log_path.read_text().count("heavy:")
        gateway.signal(signal.SIGUSR1)
        for _ in range(200):
            lines = [line for line in gateway.log_path.read_text().splitlines() if line.startswith("heavy:")]
            if len(lines) > marks:
                return list(ast.literal_eval(lines[-1].removeprefix("heavy:").strip()))
            await asyncio.sleep(0.05)
        raise AssertionError(f"no answer to SIGUSR1:\n{gateway.tail()}")

    try:
        used = [await _text_turn(gateway, MASTER_KEY), await _text_turn(gateway, key)]
        rows = await _spend_rows(tmp_path / "livegate.db", want=4)  # two responses, two sessions
        assert httpx.get(f"{gateway.base}/health/readiness", timeout=5).status_code == 200
        assert "sqlalchemy" not in await loaded()
        with sqlite3.connect(tmp_path / "livegate.db") as file:
            (spend,) = file.execute("SELECT spend FROM livegate_keys WHERE key_alias = 'app'").fetchone()
            (cost,) = file.execute("SELECT spend FROM livegate_spend_logs WHERE key_alias = 'app' AND "
                                   "call_type = 'realtime'").fetchone()
        assert rows == sorted([(alias, kind, tokens) for alias, tokens in zip(("master", "app"), used, strict=True)
                               for kind in ("realtime", "realtime_session")])
        assert spend == pytest.approx(cost) and cost > 0  # the virtual key's response, charged to it
        listed = httpx.get(f"{gateway.base}/key/list", headers=admin, timeout=10)
        assert listed.status_code == 200 and "sqlalchemy" in await loaded()
    finally:
        gateway.stop()
    with sqlite3.connect(tmp_path / "livegate.db") as file:
        assert sorted(file.execute("SELECT key_alias, call_type, total_tokens FROM livegate_spend_logs")) == rows


async def _spend_rows(path: Path, want: int) -> list[tuple[Any, ...]]:
    """(key_alias, call_type, total_tokens) of every spend row, once `want` are written (every 0.05 s)."""
    for _ in range(200):
        with sqlite3.connect(path) as file:
            rows = sorted(file.execute("SELECT key_alias, call_type, total_tokens FROM livegate_spend_logs"))
        if len(rows) >= want:
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"{want} spend rows expected, {len(rows)} written")


async def _text_turn(gateway: GatewayProcess, key: str) -> int:
    """One text turn with openai-python on `key`: the tokens its response.done reported."""
    client = AsyncOpenAI(api_key=key, base_url=gateway.base + "/v1", websocket_base_url=gateway.ws_base)
    async with client.realtime.connect(model="live") as connection:
        await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        await connection.conversation.item.create(
            item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello"}]}
        )
        await connection.response.create()
        done = [event async for event in _until_done(connection)][-1]
    assert done.type == "response.done" and done.response.usage is not None and done.response.usage.total_tokens
    return done.response.usage.total_tokens


async def _until_done(connection: Any) -> AsyncIterator[Any]:
    async for event in connection:
        yield event
        if event.type in ("response.done", "error"):
            return
