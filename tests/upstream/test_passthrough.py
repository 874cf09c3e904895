"""gateway/transports/passthrough.py: /v1/vertex-ai/live with google-genai, frames untouched, 4001/4002/1011, cost."""

from __future__ import annotations

import asyncio
import json
import re
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import trustme
from google import genai
from google.auth import exceptions as auth_errors
from google.genai import types
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed, InvalidStatus

from gateway.emulator import EmulatorServer
from gateway.upstream.google_auth import GoogleAuth

from .support import (
    AUTH,
    MASTER_KEY,
    TIMEOUT,
    TOKEN_URI,
    VERTEX_MODEL,
    document,
    entry,
    free_port,
    http_base,
    running_gateway,
    service_account,
    token_response,
)

TOKEN = "ya29.passthrough-token"
PLACEHOLDER = entry("unused", "gemini/gemini-3.1-flash-live-preview", api_key="unused")  # model_list is required
COST = re.compile(
    r"^Vertex AI Live WebSocket session cost: \$(\d+\.\d{6}) \(input: \$(\d+\.\d{6}), output: \$(\d+\.\d{6})\) "
    r"tokens: (\d+), characters: (\d+), duration: (\d+\.\d)s$"
)
_SDK_ENV = (
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_VERTEX_BASE_URL",
    "GOOGLE_GENAI_API_VERSION",
)


@pytest.fixture
def sa_json() -> str:
    return json.dumps(service_account())


@pytest.fixture
def tls_files(tmp_path: Path, ca: trustme.CA) -> tuple[str, str, ssl.SSLContext]:
    cert = ca.issue_cert("localhost", "127.0.0.1")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_pem.write_to_path(str(keyfile))
    for index, pem in enumerate(cert.cert_chain_pems):
        pem.write_to_path(str(certfile), append=index > 0)
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return str(certfile), str(keyfile), context


def passthrough(**settings: Any) -> dict[str, Any]:
    return document(PLACEHOLDER, vertex_passthrough=settings)


async def cost_line(caplog: pytest.LogCaptureFixture) -> re.Match[str]:
    """The session's cost record, logged when the gateway side of the session ends."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            for record in caplog.records:
                if record.name == "livegate.passthrough" and (match := COST.match(record.getMessage())):
                    return match
            await asyncio.sleep(0.01)


async def test_real_sdk_completes_a_turn_through_the_passthrough(
    tmp_path: Path,
    tls_files: tuple[str, str, ssl.SSLContext],
    sa_json: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """google-genai in Vertex proxy mode (§1.4) → wss gateway → emulator: a turn, token injected, cost logged."""
    for name in _SDK_ENV:
        monkeypatch.delenv(name, raising=False)
    caplog.set_level("INFO", logger="livegate.passthrough")
    certfile, keyfile, client_ssl = tls_files
    async with EmulatorServer(bearer_token=TOKEN) as emulator:
        settings = {"api_base": http_base(emulator.url), "vertex_credentials": sa_json}
        with respx.mock() as router:
            router.post(TOKEN_URI).mock(return_value=token_response(TOKEN))
            async with running_gateway(tmp_path, passthrough(**settings), certfile=certfile, keyfile=keyfile) as gw:
                client = genai.Client(
                    vertexai=True,
                    http_options={
                        "base_url": f"{gw.base}/v1/vertex-ai/live?project_id=proj-q&location=us-east5",
                        "headers": {"Authorization": f"Bearer {MASTER_KEY}"},
                        "async_client_args": {"ssl": client_ssl},
                    },
                )
                config = types.LiveConnectConfig(
                    response_modalities=[types.Modality.AUDIO],
                    output_audio_transcription=types.AudioTranscriptionConfig(),
                )
                async with client.aio.live.connect(model=VERTEX_MODEL, config=config) as session:
                    await session.send_client_content(
                        turns=types.Content(role="user", parts=[types.Part(text="through the pass")]),
                        turn_complete=True,
                    )
                    async with asyncio.timeout(TIMEOUT):
                        messages = [m async for m in session.receive()]
                match = await cost_line(caplog)
    transcript = "".join(
        m.server_content.output_transcription.text or ""
        for m in messages
        if m.server_content and m.server_content.output_transcription
    )
    assert transcript == "You said: through the pass"
    record = emulator.connections[0]
    assert record.headers["authorization"] == f"Bearer {TOKEN}"  # the gateway key never reaches Google
    assert record.setup and record.setup["model"] == (
        f"projects/proj-q/locations/us-east5/publishers/google/models/{VERTEX_MODEL}"
    )
    usage = [m.usage_metadata for m in messages if m.usage_metadata]
    total, inp, out, tokens, characters, _ = match.groups()
    assert int(tokens) == sum(u.total_token_count or 0 for u in usage) > 0
    assert float(total) == pytest.approx(float(inp) + float(out), abs=2e-6) and float(out) > 0
    assert int(characters) >= len("through the pass") + len(transcript)


class Recorder:
    """A Vertex stand-in that records each frame's type and bytes, and answers one text and one binary frame."""

    def __init__(self) -> None:
        self.frames: list[tuple[type, str | bytes]] = []
        self.headers: dict[str, str] = {}

    async def handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        self.headers = dict(ws.request.headers)
        async for frame in ws:
            self.frames.append((type(frame), frame))
            if len(self.frames) == 1:
                await ws.send('{"setupComplete":{}}')
                await ws.send(b'{"serverContent":{"turnComplete":true}}')
            if len(self.frames) == 3:
                await ws.close(1008, "Publisher Model `x` was not found")


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[Recorder, str]]:
    rec = Recorder()
    async with serve(rec.handle, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        yield rec, f"http://127.0.0.1:{port}"


async def test_frames_pass_untouched_both_ways(tmp_path: Path, recorder: tuple[Recorder, str], sa_json: str) -> None:
    """Text stays text and binary stays binary; bytes are unchanged except setup.model's project prefix."""
    rec, base = recorder
    setup = {"setup": {"model": "publishers/google/models/m1", "generationConfig": {"responseModalities": ["TEXT"]}}}
    later_text, later_binary = '{"realtimeInput": {"text": "x"}}', b'{"clientContent":{"turnComplete":true}}'
    with respx.mock() as router:
        router.post(TOKEN_URI).mock(return_value=token_response(TOKEN))
        settings = {"api_base": base, "vertex_credentials": sa_json, "vertex_project": "cfg-proj"}
        async with (
            running_gateway(tmp_path, passthrough(**settings)) as gw,
            connect(f"{gw.base}/vertex-ai/live", additional_headers=AUTH) as ws,
        ):
            await ws.send(json.dumps(setup))
            received = [await ws.recv(), await ws.recv()]
            await ws.send(later_text)
            await ws.send(later_binary)
            with pytest.raises(ConnectionClosed):
                await ws.recv()
    assert received == ['{"setupComplete":{}}', b'{"serverContent":{"turnComplete":true}}']
    (t0, first), (t1, second), (t2, third) = rec.frames
    assert (t0, t1, t2) == (str, str, bytes) and (second, third) == (later_text, later_binary)
    assert json.loads(first)["setup"]["model"] == "projects/cfg-proj/locations/us-central1/publishers/google/models/m1"
    assert rec.headers["authorization"] == f"Bearer {TOKEN}"
    assert (ws.close_code, ws.close_reason) == (1008, "Publisher Model `x` was not found")


async def expect_close(url: str, **kwargs: Any) -> tuple[int | None, str | None]:
    async with asyncio.timeout(TIMEOUT), connect(url, additional_headers=AUTH, **kwargs) as ws:
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    return ws.close_code, ws.close_reason


async def test_no_project_closes_4002(tmp_path: Path, sa_json: str) -> None:
    """No ?project_id=, nothing in the config or DEFAULT_VERTEXAI_PROJECT: close 4002 (seed 000)."""
    async with running_gateway(tmp_path, passthrough(vertex_credentials=sa_json)) as gw:
        code, reason = await expect_close(f"{gw.base}/v1/vertex-ai/live")
    assert code == 4002 and reason and "project_id" in reason


async def test_missing_credentials_close_4001(tmp_path: Path) -> None:
    """No vertex_credentials and no application default credentials: close 4001 saying so."""

    def no_adc(request: object) -> object:
        raise auth_errors.DefaultCredentialsError("none")  # type: ignore[no-untyped-call]

    auth = GoogleAuth(adc=no_adc)  # type: ignore[arg-type]
    environ = {"DEFAULT_VERTEXAI_PROJECT": "env-proj"}
    async with running_gateway(tmp_path, passthrough(), environ=environ, google_auth=auth) as gw:
        code, reason = await expect_close(f"{gw.base}/v1/vertex-ai/live")
    assert code == 4001 and reason and "not configured" in reason


async def test_refused_credentials_close_4001(tmp_path: Path, sa_json: str) -> None:
    """The token endpoint refuses the service account: 4001 with Google's reason."""
    with respx.mock() as router:
        router.post(TOKEN_URI).respond(400, json={"error": "invalid_grant", "error_description": "bad"})
        async with running_gateway(tmp_path, passthrough(vertex_credentials=sa_json)) as gw:
            code, reason = await expect_close(f"{gw.base}/v1/vertex-ai/live?project_id=p")
    assert code == 4001 and reason and "invalid_grant" in reason


async def test_unreachable_vertex_closes_1011(tmp_path: Path, sa_json: str) -> None:
    """Vertex cannot be reached: 1011."""
    with respx.mock() as router:
        router.post(TOKEN_URI).mock(return_value=token_response(TOKEN))
        settings = {"vertex_credentials": sa_json, "api_base": f"http://127.0.0.1:{free_port()}"}
        async with running_gateway(tmp_path, passthrough(**settings)) as gw:
            code, _ = await expect_close(f"{gw.base}/v1/vertex-ai/live?project_id=p")
    assert code == 1011


async def test_bad_location_in_query_is_refused(tmp_path: Path, sa_json: str) -> None:
    """A location that could redirect the host is refused before any credentials are used."""
    async with running_gateway(tmp_path, passthrough(vertex_credentials=sa_json)) as gw:
        code, _ = await expect_close(f"{gw.base}/v1/vertex-ai/live?project_id=p&location=evil.example%2Fx")
    assert code == 1008


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
async def test_gateway_key_is_required(tmp_path: Path, headers: dict[str, str]) -> None:
    """Without the gateway key the upgrade is refused with HTTP 401 (same KeyGate as /v1/realtime)."""
    async with running_gateway(tmp_path, passthrough(vertex_project="p")) as gw:
        with pytest.raises(InvalidStatus) as info:
            async with connect(f"{gw.base}/v1/vertex-ai/live", additional_headers=headers):
                pass
    assert info.value.response.status_code == 401


async def test_virtual_keys_work_and_are_billed(tmp_path: Path, sa_json: str) -> None:
    """A key from /key/generate opens the passthrough; each usageMetadata becomes a spend row charged to it.
    A key limited to some aliases is refused here (1008): the passthrough is no alias."""
    async with EmulatorServer(bearer_token=TOKEN) as emulator:
        settings = {"api_base": http_base(emulator.url), "vertex_credentials": sa_json, "vertex_project": "p"}
        with respx.mock() as router:
            router.post(TOKEN_URI).mock(return_value=token_response(TOKEN))
            router.route(host="127.0.0.1").pass_through()
            async with running_gateway(tmp_path, passthrough(**settings)) as gw:
                admin = httpx.AsyncClient(base_url=http_base(gw.base), headers=AUTH)
                key = (await admin.post("/key/generate", json={"key_alias": "native"})).json()["key"]
                limited = (await admin.post("/key/generate", json={"models": ["unused"]})).json()["key"]
                async with connect(f"{gw.base}/v1/vertex-ai/live", additional_headers={"api-key": key}) as ws:
                    await ws.send(json.dumps({"setup": {"model": VERTEX_MODEL}}))
                    await ws.recv()
                    turn = {"turns": [{"role": "user", "parts": [{"text": "hi"}]}], "turnComplete": True}
                    await ws.send(json.dumps({"clientContent": turn}))
                    while "turnComplete" not in str(await asyncio.wait_for(ws.recv(), TIMEOUT)):
                        pass
                async with connect(f"{gw.base}/v1/vertex-ai/live", additional_headers={"api-key": limited}) as no:
                    with pytest.raises(ConnectionClosed):
                        await asyncio.wait_for(no.recv(), TIMEOUT)
                assert no.close_code == 1008 and "`vertex-ai/live`" in (no.close_reason or "")
                async with asyncio.timeout(TIMEOUT):
                    while True:
                        rows = (await admin.get("/spend/logs", params={"key_alias": "native"})).json()["data"]
                        if len(rows) >= 2:
                            break
                        await asyncio.sleep(0.1)
                info = (await admin.get("/key/info", params={"key": key})).json()["info"]
                await admin.aclose()
    kinds = sorted(row["call_type"] for row in rows)
    assert kinds == ["realtime_session", "vertex_live"]
    assert all(row["model"] == f"vertex_ai/{VERTEX_MODEL}" for row in rows)
    assert info["spend"] > 0 and info["usage"]["total_tokens"] > 0


def _sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_budget_spent_mid_session_closes_after_the_turn(
    tmp_path: Path,
    tls_files: tuple[str, str, ssl.SSLContext],
    sa_json: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """google-genai on a key with a tiny budget: its first turn arrives whole (transcript, turnComplete, usage),
    then the session closes 1008 insufficient_quota before a second turn; the turn's usage is a spend row, on
    /key/info and /metrics; the key's next session is refused at the start."""
    for name in _SDK_ENV:
        monkeypatch.delenv(name, raising=False)
    certfile, keyfile, client_ssl = tls_files
    async with EmulatorServer(bearer_token=TOKEN) as emulator:
        settings = {"api_base": http_base(emulator.url), "vertex_credentials": sa_json, "vertex_project": "p"}
        with respx.mock() as router:
            router.post(TOKEN_URI).mock(return_value=token_response(TOKEN))
            router.route(host="localhost").pass_through()
            async with running_gateway(tmp_path, passthrough(**settings), certfile=certfile, keyfile=keyfile) as gw:
                admin = httpx.AsyncClient(base_url=http_base(gw.base), headers=AUTH, verify=client_ssl)
                key = (await admin.post("/key/generate", json={"key_alias": "poor", "max_budget": 1e-9})).json()["key"]
                before = (await admin.get("/metrics")).text
                client = genai.Client(
                    vertexai=True,
                    http_options={
                        "base_url": f"{gw.base}/v1/vertex-ai/live",
                        "headers": {"Authorization": f"Bearer {key}"},
                        "async_client_args": {"ssl": client_ssl},
                    },
                )
                config = types.LiveConnectConfig(
                    response_modalities=[types.Modality.AUDIO],
                    output_audio_transcription=types.AudioTranscriptionConfig(),
                )
                messages: list[types.LiveServerMessage] = []
                async with client.aio.live.connect(model=VERTEX_MODEL, config=config) as session:
                    await session.send_client_content(
                        turns=types.Content(role="user", parts=[types.Part(text="one turn")]), turn_complete=True
                    )
                    async with asyncio.timeout(TIMEOUT):
                        messages = [m async for m in session.receive()]
                    with pytest.raises(genai.errors.APIError) as closed:
                        async with asyncio.timeout(TIMEOUT):
                            async for message in session.receive():
                                messages.append(message)
                async with asyncio.timeout(TIMEOUT):
                    while True:
                        rows = (await admin.get("/spend/logs", params={"key_alias": "poor"})).json()["data"]
                        if len(rows) >= 2:
                            break
                        await asyncio.sleep(0.05)
                info = (await admin.get("/key/info", params={"key": key})).json()["info"]
                after = (await admin.get("/metrics")).text
                async with connect(f"{gw.base}/v1/vertex-ai/live", additional_headers={"api-key": key},
                                   ssl=client_ssl) as again:
                    with pytest.raises(ConnectionClosed):
                        await asyncio.wait_for(again.recv(), TIMEOUT)
                await admin.aclose()
    transcript = "".join(
        m.server_content.output_transcription.text or ""
        for m in messages
        if m.server_content and m.server_content.output_transcription
    )
    assert transcript == "You said: one turn"
    assert messages[-1].server_content is not None and messages[-1].server_content.turn_complete
    assert closed.value.code == 1008 and "used up its budget" in str(closed.value)
    (usage,) = [m.usage_metadata for m in messages if m.usage_metadata]
    (turn,) = [row for row in rows if row["call_type"] == "vertex_live"]
    (summary,) = [row for row in rows if row["call_type"] == "realtime_session"]
    assert turn["total_tokens"] == usage.total_token_count and turn["spend"] > 0
    assert summary["close_code"] == 1008 and info["spend"] == pytest.approx(turn["spend"])
    tokens = 'livegate_tokens_total{alias="vertex-ai/live",direction="output",modality="audio"}'
    out_audio = sum(d.token_count or 0 for d in usage.response_tokens_details or () if d.modality == "AUDIO")
    assert out_audio > 0 and _sample(after, tokens) - _sample(before, tokens) == out_audio
    ended = 'livegate_sessions_total{alias="vertex-ai/live",outcome="1008"}'
    assert _sample(after, ended) - _sample(before, ended) == 1
    assert again.close_code == 1008 and "budget" in (again.close_reason or "")
