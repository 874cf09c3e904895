"""gateway/emulator/server.py over real sockets: handshake gate, strictness closes, frames, records, CLI."""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
import sys
from typing import Any

import orjson
import pytest
from websockets.exceptions import InvalidStatus

from gateway.emulator import EmulatorServer, developer_path, vertex_path

from .helpers import (
    AUDIO_MODEL,
    LIVE_31,
    TEXT_MODEL,
    TIMEOUT,
    dev_setup,
    dial,
    expect_close,
    open_session,
    recv,
    recv_turn,
    send,
    text_of,
    transcript_of,
    vertex_setup,
)


async def test_wrong_path_is_404(emulator: EmulatorServer) -> None:
    """Any path other than the Live endpoints is refused with HTTP 404 before the upgrade."""
    with pytest.raises(InvalidStatus) as caught:
        await dial(
            emulator, "/ws/google.ai.generativelanguage.v1beta.GenerativeService.StreamGenerateContent"
        )
    assert caught.value.response.status_code == 404
    assert emulator.connections[-1].status == 404


@pytest.mark.parametrize(
    "path", [developer_path("v1alpha"), "/" + developer_path("v1"), "/" + vertex_path("v1")]
)
async def test_paths_served(emulator: EmulatorServer, path: str) -> None:
    """Any Developer version, `//ws` and both Vertex versions complete a setup."""
    setup = vertex_setup() if "aiplatform" in path else dev_setup()
    ws, _ = await open_session(emulator, setup, path)
    await ws.close()


async def test_bad_api_key_closes_1007() -> None:
    """A wrong or missing Developer key: the upgrade succeeds, then close 1007 (§1.2, §5.1)."""
    async with EmulatorServer(api_key="secret") as server:
        for headers in ({}, {"x-goog-api-key": "wrong"}):
            ws = await dial(server, additional_headers=headers)
            assert await expect_close(ws) == (1007, "API key not valid. Please pass a valid API key.")
        ws, _ = await open_session(server, dev_setup(), developer_path() + "?key=secret")
        await ws.close()
        ws, _ = await open_session(server, dev_setup(), additional_headers={"x-goog-api-key": "secret"})
        await ws.close()


async def test_credentials_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    """Even at DEBUG, the server logs neither the API key (header or query) nor the bearer token."""
    caplog.set_level(logging.DEBUG)
    async with EmulatorServer(api_key="sekrit-key", bearer_token="sekrit-token") as server:
        ws, _ = await open_session(server, dev_setup(), developer_path() + "?key=sekrit-key")
        await ws.close()
        headers = {"x-goog-api-key": "sekrit-key", "Authorization": "Bearer sekrit-token"}
        ws, _ = await open_session(server, vertex_setup(), additional_headers=headers)
        await ws.close()
        ws = await dial(server, additional_headers={"x-goog-api-key": "sekrit-bad"})
        await expect_close(ws)
    server_logs = [r.getMessage() for r in caplog.records if r.name.startswith("livegate.emulator")]
    assert any("handshake" in line for line in server_logs)
    assert not [line for line in server_logs if "sekrit" in line]


async def test_vertex_bad_token_is_401() -> None:
    """A wrong or missing Vertex bearer token fails the upgrade with HTTP 401."""
    async with EmulatorServer(bearer_token="tok") as server:
        for headers in ({}, {"Authorization": "Bearer nope"}):
            with pytest.raises(InvalidStatus) as caught:
                await dial(server, vertex_path(), additional_headers=headers)
            assert caught.value.response.status_code == 401
        ws, first = await open_session(
            server, vertex_setup(), additional_headers={"Authorization": "Bearer tok"}
        )
        assert first["setupComplete"]["sessionId"]
        await ws.close()


async def test_records_handshake_and_messages(emulator: EmulatorServer) -> None:
    """Each connection records its path, headers, raw setup and every client message."""
    ws, _ = await open_session(
        emulator,
        dev_setup(generation_config={}),
        developer_path() + "?key=q",
        additional_headers={"X-Test": "1"},
    )
    await send(ws, {"realtime_input": {"text": "hi"}})
    await recv_turn(ws)
    await ws.close()
    record = emulator.connections[-1]
    assert record.path == developer_path() + "?key=q"
    assert record.headers["x-test"] == "1"
    assert record.setup == {"model": f"models/{AUDIO_MODEL}", "generation_config": {}}
    assert [list(message) for message in record.messages] == [["setup"], ["realtime_input"]]
    assert record.session is not None and record.session.turns_completed == 1
    await asyncio.sleep(0.05)  # let the handler note the client's close
    assert record.close_code == 1000


async def test_snake_case_and_binary_client_frames(emulator: EmulatorServer) -> None:
    """snake_case keys and binary JSON frames are accepted; server frames are binary camelCase."""
    ws = await dial(emulator)
    await ws.send(
        orjson.dumps({"setup": {"model": f"models/{AUDIO_MODEL}", "output_audio_transcription": {}}})
    )
    assert await recv(ws) == {"setupComplete": {}}
    await send(
        ws,
        {"client_content": {"turns": [{"role": "user", "parts": [{"text": "a b"}]}], "turn_complete": True}},
    )
    frames = await recv_turn(ws)
    assert transcript_of(frames) == "You said: a b"
    await ws.close()


STRICT_CASES: list[tuple[str, Any, int, str]] = [
    ("invalid JSON", "{not json", 1007, "Invalid JSON payload received. Unexpected token."),
    (
        "unknown field",
        dev_setup(foo=1),
        1007,
        "Invalid JSON payload received. Unknown name \"foo\" at 'setup'",
    ),
    (
        "unknown nested field",
        dev_setup(generationConfig={"responseMimeType": "text/plain"}),
        1007,
        "Unknown name \"responseMimeType\" at 'setup.generation_config'",
    ),
    ("two kinds", {**dev_setup(), "clientContent": {}}, 1007, "Oneof field 'message_type' is already set"),
    ("no kind", {}, 1007, "Request contains an invalid argument"),
    ("message before setup", {"realtimeInput": {"text": "hi"}}, 1007, "the first message must be setup"),
    (
        "TEXT on an audio model",
        dev_setup(generationConfig={"responseModalities": ["TEXT"]}),
        1007,
        "The requested combination of response modalities (TEXT) is not supported by the model",
    ),
    (
        "two modalities",
        dev_setup(generationConfig={"responseModalities": ["AUDIO", "TEXT"]}),
        1007,
        "The requested combination of response modalities (AUDIO, TEXT)",
    ),
    (
        "retired model",
        dev_setup("gemini-2.0-flash-live-001"),
        1008,
        "models/gemini-2.0-flash-live-001 is not found",
    ),
    (
        "unknown model",
        dev_setup("gemini-0-nope"),
        1008,
        "models/gemini-0-nope is not found for API version v1beta",
    ),
    ("bare model id", {"setup": {"model": AUDIO_MODEL}}, 1008, f"{AUDIO_MODEL} is not found"),
    (
        "unknown voice",
        dev_setup(
            generationConfig={"speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Nova"}}}}
        ),
        1007,
        'unknown voice name "Nova"',
    ),
    (
        "thinking level on 3.8",
        dev_setup("gemini-3.8-live", generationConfig={"thinkingConfig": {"thinkingLevel": "LOW"}}),
        1007,
        "Thinking level is not supported for this model",
    ),
]


@pytest.mark.parametrize(
    ("case", "message", "code", "reason"), STRICT_CASES, ids=[c[0] for c in STRICT_CASES]
)
async def test_first_frame_strictness(
    emulator: EmulatorServer, case: str, message: Any, code: int, reason: str
) -> None:
    """A bad first frame closes with Google's code and a ≤123-byte reason."""
    ws = await dial(emulator)
    await send(ws, message)
    got_code, got_reason = await expect_close(ws)
    assert got_code == code and reason in got_reason, (got_code, got_reason)
    assert len(got_reason.encode()) <= 123
    assert emulator.connections[-1].close_code == code


async def test_retired_model_reason_is_truncated(emulator: EmulatorServer) -> None:
    """The 1008 reason is Google's sentence cut at 123 bytes, as in "…Call ListMod" (§5.1)."""
    ws = await dial(emulator)
    await send(ws, dev_setup("gemini-2.0-flash-live-001"))
    code, reason = await expect_close(ws)
    sentence = (
        "models/gemini-2.0-flash-live-001 is not found for API version v1beta, or is not supported for "
        "bidiGenerateContent. Call ListModels to see the list of available models and their supported "
        "methods."
    )
    assert code == 1008 and reason == sentence.encode()[:123].decode()


LATER_CASES: list[tuple[str, dict[str, Any], Any, str]] = [
    ("second setup", dev_setup(), dev_setup(), "setup may be sent only once"),
    ("unknown field later", dev_setup(), {"realtimeInput": {"txt": "x"}}, 'Unknown name "txt"'),
    (
        "activityStart with automatic VAD",
        dev_setup(),
        {"realtimeInput": {"activityStart": {}}},
        "Explicit activity control is not supported",
    ),
    (
        "clientContent on 3.1",
        dev_setup(LIVE_31),
        {"clientContent": {"turns": [{"parts": [{"text": "x"}]}], "turnComplete": True}},
        "Request contains an invalid argument.",
    ),
    (
        "audio with an image mime type",
        dev_setup(),
        {"realtimeInput": {"audio": {"mimeType": "image/png"}}},
        "image/png",
    ),
]


@pytest.mark.parametrize(("case", "setup", "message", "reason"), LATER_CASES, ids=[c[0] for c in LATER_CASES])
async def test_in_session_strictness(
    emulator: EmulatorServer, case: str, setup: dict[str, Any], message: Any, reason: str
) -> None:
    """A bad frame after setupComplete closes with 1007."""
    ws, _ = await open_session(emulator, setup)
    await send(ws, message)
    code, got = await expect_close(ws)
    assert code == 1007 and reason in got, got


async def test_history_seeding_on_31(emulator: EmulatorServer) -> None:
    """3.1: history via clientContent until turnComplete, then realtime text; later clientContent is 1007."""
    setup = dev_setup(
        LIVE_31, historyConfig={"initialHistoryInClientContent": True}, outputAudioTranscription={}
    )
    ws, _ = await open_session(emulator, setup)
    history = [{"role": "user", "parts": [{"text": "x"}]}, {"role": "model", "parts": [{"text": "y"}]}]
    await send(ws, {"clientContent": {"turns": history, "turnComplete": True}})
    await send(ws, {"realtimeInput": {"text": "now"}})
    frames = await recv_turn(ws)
    assert transcript_of(frames) == "You said: now"
    assert frames[-1]["usageMetadata"]["promptTokenCount"] == 3
    await send(ws, {"clientContent": {"turns": history}})
    assert (await expect_close(ws))[0] == 1007


async def test_text_turn_stream(emulator: EmulatorServer) -> None:
    """TEXT (Vertex half-cascade): not resumable, word chunks, generationComplete, turnComplete + usage, handle."""
    setup = vertex_setup(TEXT_MODEL, generationConfig={"responseModalities": ["TEXT"]}, sessionResumption={})
    ws, first = await open_session(emulator, setup)
    assert first["setupComplete"]["sessionId"]
    await send(
        ws,
        {
            "clientContent": {
                "turns": [{"role": "user", "parts": [{"text": "one two"}]}],
                "turnComplete": True,
            }
        },
    )
    frames = await recv_turn(ws)
    assert frames[0] == {"sessionResumptionUpdate": {"resumable": False}}, "not resumable mid-turn (§4)"
    frames = frames[1:]
    assert text_of(frames) == "You said: one two"
    assert sum("modelTurn" in f["serverContent"] for f in frames) == 4
    assert frames[-2] == {"serverContent": {"generationComplete": True}}
    assert frames[-1]["usageMetadata"] == {
        "promptTokenCount": 2,
        "candidatesTokenCount": 4,
        "totalTokenCount": 6,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 2}],
        "candidatesTokensDetails": [{"modality": "TEXT", "tokenCount": 4}],
        "trafficType": "ON_DEMAND",
    }
    update = await recv(ws)
    assert update["sessionResumptionUpdate"]["resumable"] is True
    await ws.close()


async def test_stop_closes_open_sessions(emulator: EmulatorServer) -> None:
    """stop() closes live connections (1001 going away)."""
    ws, _ = await open_session(emulator, dev_setup())
    await emulator.stop()
    assert (await expect_close(ws))[0] == 1001


async def test_url_and_tls(server_ssl: ssl.SSLContext, client_ssl: ssl.SSLContext) -> None:
    """`url` is ws://host:port, or wss://localhost:port with TLS; port 0 binds an ephemeral port."""
    async with EmulatorServer() as plain:
        assert plain.port > 0 and plain.url == f"ws://127.0.0.1:{plain.port}"
    async with EmulatorServer(ssl_context=server_ssl) as secure:
        assert secure.url == f"wss://localhost:{secure.port}"
        ws, _ = await open_session(secure, dev_setup(), ssl=client_ssl)
        await ws.close()


async def test_main_serves_until_sigterm() -> None:
    """`main()` (the `livegate emulator` command) serves and exits 0 on SIGTERM, never logging the key."""
    argv = ["-m", "gateway.emulator", "--port", "0", "--api-key", "hush"]
    process = await asyncio.create_subprocess_exec(sys.executable, *argv, stderr=asyncio.subprocess.PIPE)
    assert process.stderr is not None
    line = ""
    while "Gemini Live emulator listening on" not in line:
        line = (await asyncio.wait_for(process.stderr.readline(), TIMEOUT)).decode()
    url = line.rsplit(" ", 1)[-1].strip()
    assert url.startswith("ws://127.0.0.1:")
    server = EmulatorServer()
    server.port = int(url.rsplit(":", 1)[-1])
    ws, _ = await open_session(server, dev_setup(), developer_path() + "?key=hush")
    await ws.close()
    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), TIMEOUT) == 0
    assert b"hush" not in await process.stderr.read()
