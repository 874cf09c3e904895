"""Seed 003's simple protocol (`/api/gemini/ws`): the seed's own Python client, unchanged but for its URL, and the
message formats over a raw socket (config, both text forms, 16 kHz audio, errors, auth).

tests/fixtures/seed003/client.{js,py} are the seed's two client blocks byte for byte (checked by SHA-256); a run
only swaps the `ws://localhost:8000/...` literal for the live gateway's URL. The JS one runs in Chromium
(tests/browser/test_seed003_browser.py).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openai import AsyncOpenAI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from schemas.simple import ServerMessage
from tests.support.audio import silence, speech
from tests.support.live import MASTER_KEY, GatewayThread, LiveGateway

ROOT = Path(__file__).resolve().parents[2]
SEED_DIR = ROOT / "tests" / "fixtures" / "seed003"
SEED_URL = "ws://localhost:8000/api/gemini/ws"
SEED_SHA256 = {  # the blocks under "JavaScript/Browser Client" and "Python Client" in seed 003
    "client.js": "1841c7c8e242286c87695a5f57a19078e6140abaa2b81f0a0422196bf1f49905",
    "client.py": "439ea1b12102032efd00d847da02197871401b0e9fbab9402b5c1ea17b278220",
}
QUESTION = "What is the capital of France?"
RUN_TIMEOUT = 20.0  # seconds for the seed's Python client to print its reply; a run takes ~1 s
_SERVER = __import__("pydantic").TypeAdapter(ServerMessage)


def seed_source(name: str, url: str) -> str:
    """A seed client's source with its URL pointed at `url`, nothing else changed."""
    source = (SEED_DIR / name).read_text()
    assert source.count(SEED_URL) == 1
    return source.replace(SEED_URL, url)


async def mint(gateway: LiveGateway, **session: Any) -> str:
    """An `ek_…` secret minted with openai-python's own `client_secrets.create`."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    secret = await client.realtime.client_secrets.create(session={"type": "realtime", **session})
    return secret.value


def simple_url(gateway: LiveGateway, key: str = MASTER_KEY) -> str:
    return f"ws://127.0.0.1:{gateway.port}/api/gemini/ws?key={key}"


async def recv(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
    _SERVER.validate_python(message)  # every message is one the seed documents
    return message


async def reply(ws: ClientConnection, complete: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
    """Messages until `complete(messages)` holds: the protocol has no end-of-turn message, so the test says what
    the end looks like (a pause in the messages is no end on a busy machine). At most 10 s between two."""
    seen: list[dict[str, Any]] = []
    while not complete(seen):
        try:
            seen.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
        except TimeoutError:
            return seen
        _SERVER.validate_python(seen[-1])
    return seen


def said(text: str) -> Callable[[list[dict[str, Any]]], bool]:
    """The reply's text is `text`, or has already become something else (the assertion then shows what)."""
    return lambda messages: text_of(messages) == text or not text.startswith(text_of(messages))


def text_of(messages: list[dict[str, Any]]) -> str:
    return "".join(m["text"] for m in messages if m["type"] == "response")


def audio_bytes(messages: list[dict[str, Any]]) -> int:
    return sum(len(base64.b64decode(m["data"])) for m in messages if m["type"] == "audio")


@pytest.mark.parametrize("name", sorted(SEED_SHA256))
def test_seed_clients_are_the_seed_verbatim(name: str) -> None:
    """The fixtures are seed 003's client blocks byte for byte."""
    digest = hashlib.sha256((SEED_DIR / name).read_bytes()).hexdigest()
    assert digest == SEED_SHA256[name]


async def test_seed_python_client_gets_text_and_audio(gateway: LiveGateway, tmp_path: Path) -> None:
    """The seed's Python client (config TEXT+AUDIO, then typed lines from stdin) prints the reply's text and the
    audio it received; its key is an `ek_` secret in the URL."""
    script = tmp_path / "client.py"
    script.write_text(seed_source("client.py", simple_url(gateway, await mint(gateway, model="gemini-live"))))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    stdin, stdout, stderr = tmp_path / "stdin", tmp_path / "stdout", tmp_path / "stderr"
    stdin.write_text(f"{QUESTION}\nquit\n")  # a typed line, then the seed's own way out of its input loop
    with stdin.open() as feed, stdout.open("w") as out_file, stderr.open("w") as err_file:
        proc = subprocess.Popen([sys.executable, str(script)], stdin=feed, stdout=out_file, stderr=err_file, env=env)
        try:
            deadline = time.monotonic() + RUN_TIMEOUT
            while time.monotonic() < deadline and not _answered(stdout.read_text()):
                await asyncio.sleep(0.05)
        finally:
            proc.kill()
            proc.wait(timeout=5)
    out = stdout.read_text()
    assert out.startswith("Connected to Gemini Live\n"), out[:300]
    assert "".join(re.findall(r"Gemini: (.*)\n", out)) == f"You said: {QUESTION}", out + stderr.read_text()
    audio = [int(n) for n in re.findall(r"Received (\d+) bytes of audio", out)]
    assert len(audio) >= 6 and all(n > 0 for n in audio), out  # one chunk per word
    assert "Error:" not in out


def _answered(out: str) -> bool:
    """The seed client printed the whole reply and an audio chunk per word (6, the assertion below)."""
    text = "".join(re.findall(r"Gemini: (.*)\n", out))
    return text == f"You said: {QUESTION}" and len(re.findall(r"Received (\d+) bytes of audio", out)) >= 6


async def test_text_forms_without_config(gateway: LiveGateway) -> None:
    """No config: the default alias answers in text, to both `message` and the alternative `text` form;
    `system` comes first."""
    async with connect(simple_url(gateway)) as ws:
        assert await recv(ws) == {"type": "system", "data": "Connected to Gemini Live"}
        await ws.send(json.dumps({"type": "message", "data": {"text": "Hello there"}}))
        first = await reply(ws, said("You said: Hello there"))
        await ws.send(json.dumps({"type": "text", "text": "And again"}))
        second = await reply(ws, said("You said: And again"))
    assert text_of(first) == "You said: Hello there" and {m["type"] for m in first} == {"response"}
    assert text_of(second) == "You said: And again"


async def test_config_then_spoken_turn_at_16k(gateway: LiveGateway) -> None:
    """A config naming an alias and AUDIO, then 16 kHz pcm16 speech: config_success, then the reply as
    24 kHz audio and its transcript."""
    async with connect(simple_url(gateway)) as ws:
        await recv(ws)
        config = {"model": "gemini-live", "generation_config": {"response_modalities": ["AUDIO"]}, "voice": "Kore"}
        await ws.send(json.dumps({"type": "config", "data": config}))
        ack = await recv(ws)
        assert ack == {"type": "config_success", "message": "Configuration acknowledged", "model": "gemini-live"}
        pcm = speech(0.6, 16000) + silence(0.8, 16000)
        for i in range(0, len(pcm), 640):
            await ws.send(json.dumps({"type": "audio", "data": base64.b64encode(pcm[i : i + 640]).decode()}))
        words = 2 * 2400 * 5  # 100 ms of 24 kHz pcm16 per word of the reply
        messages = await reply(ws, lambda seen: said("You said: user speech 1")(seen) and audio_bytes(seen) >= words)
    assert text_of(messages) == "You said: user speech 1"
    audio = [m for m in messages if m["type"] == "audio"]
    assert audio and all(m["format"] == "pcm16" and m["sampleRate"] == 24000 for m in audio)
    assert audio_bytes(messages) >= words


@pytest.mark.parametrize(
    ("frame", "says"),
    [
        ("not json", "JSON"),
        (json.dumps({"type": "video", "data": "x"}), "Unknown message type 'video'"),
        (json.dumps({"type": "audio", "data": "***"}), "base64"),
        (json.dumps({"type": "config", "data": {"model": "gpt-4o"}}), "Unknown model 'gpt-4o'"),
        (json.dumps({"type": "config", "data": {"voice": "Nobody"}}), "Unknown voice 'Nobody'"),
        (json.dumps({"type": "config", "data": {"generation_config": {"top_k": 3}}}), "unknown field"),
    ],
)
async def test_bad_messages_get_an_error_and_the_session_goes_on(gateway: LiveGateway, frame: str, says: str) -> None:
    """Each bad message gets an `error` naming the problem; the connection stays usable."""
    async with connect(simple_url(gateway)) as ws:
        await recv(ws)
        await ws.send(frame)
        error = await recv(ws)
        assert error["type"] == "error" and says in error["data"], error
        await ws.send(json.dumps({"type": "text", "text": "still here?"}))
        assert text_of(await reply(ws, said("You said: still here?"))) == "You said: still here?"


async def test_config_after_the_conversation_started_is_refused(gateway: LiveGateway) -> None:
    """config is the opening message only: later it gets an error, and nothing changes."""
    async with connect(simple_url(gateway)) as ws:
        await recv(ws)
        await ws.send(json.dumps({"type": "text", "text": "hi"}))
        await reply(ws, said("You said: hi"))
        await ws.send(json.dumps({"type": "config", "data": {}}))
        error = await recv(ws)
    assert error["type"] == "error" and "only as the first message" in error["data"]


@pytest.mark.parametrize("key", ["sk-wrong", None])
async def test_bad_or_missing_key_is_refused_with_3000(gateway: LiveGateway, key: str | None) -> None:
    """Auth as on /v1/realtime: a wrong or missing key gets an error message and close 3000."""
    url = simple_url(gateway, key) if key else f"ws://127.0.0.1:{gateway.port}/api/gemini/ws"
    async with connect(url) as ws:
        error = await recv(ws)
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    assert error["type"] == "error" and ws.close_code == 3000
    if key is None:  # these clients set no headers: the words say where the key goes
        assert "?key=<key>" in error["data"]


async def test_a_refused_client_that_talks_first_still_reads_the_error(gateway: LiveGateway) -> None:
    """A seed client sends its `config` at once, before reading: its sends are read and dropped until it is
    quiet, then the close comes, so it reads the error and close 3000 instead of failing mid-send."""
    async with connect(simple_url(gateway, "sk-wrong")) as ws:
        await asyncio.sleep(0.02)  # the error (and, before, the close) has arrived by now
        for message in ({"type": "config", "data": {}}, {"type": "text", "data": "hello"}):
            await ws.send(json.dumps(message))
        error = await recv(ws)
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    assert error["type"] == "error" and ws.close_code == 3000


async def test_secret_pins_its_alias(gateway: LiveGateway) -> None:
    """With an `ek_` secret, a Gemini model id means the secret's alias, another alias is refused, and the
    secret's instructions-free preset still answers."""
    secret = await mint(gateway, model="gemini-live-text")
    async with connect(simple_url(gateway, secret)) as ws:
        await recv(ws)
        await ws.send(json.dumps({"type": "config", "data": {"model": "gemini-live"}}))
        refused = await recv(ws)
        await ws.send(json.dumps({"type": "config", "data": {"model": "gemini-2.0-flash-exp"}}))
        ack = await recv(ws)
    assert refused["type"] == "error" and "minted for model 'gemini-live-text'" in refused["data"]
    assert ack["type"] == "config_success" and ack["model"] == "gemini-live-text"


async def test_url_key_never_reaches_a_log_line(gateway: LiveGateway, caplog: pytest.LogCaptureFixture) -> None:
    """uvicorn logs each WebSocket's path and query at INFO: the `?key=` value is redacted there."""
    caplog.set_level(logging.DEBUG, logger="uvicorn.error")
    secret = await mint(gateway, model="gemini-live")
    for key in (MASTER_KEY, secret):
        async with connect(simple_url(gateway, key)) as ws:
            await recv(ws)
    lines = "\n".join(record.getMessage() for record in caplog.records)
    assert "/api/gemini/ws?[redacted]" in lines
    assert MASTER_KEY not in lines and secret not in lines


async def test_silent_client_is_closed_after_the_idle_timeout(tmp_path: Path) -> None:
    """A client that never sends its opening message does not hold its slot forever: the idle timeout (or the
    session maximum) applies to the wait, then an error and close 1000."""
    thread = GatewayThread(tmp_path, general={"limits": {"idle_timeout_seconds": 0.5}})
    gateway = thread.start()
    try:
        async with connect(simple_url(gateway)) as ws:
            await recv(ws)
            error = await recv(ws)
            with pytest.raises(ConnectionClosed):
                await ws.recv()
        assert error == {"type": "error", "data": "No message within 0.5 s; closing."} and ws.close_code == 1000
    finally:
        thread.stop()
