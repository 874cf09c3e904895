"""The real google-genai SDK drives the emulator over TLS, Developer API and Vertex paths (§1.4, §10)."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import pytest
from google import genai
from google.genai import errors, types
from google.oauth2.credentials import Credentials

from gateway.emulator import EmulatorServer, Script
from schemas.gemini import Setup

from .helpers import AUDIO_MODEL, LIVE_31, TEXT_MODEL, TIMEOUT, chunked, silence_pcm, tone_pcm

_ENV = (
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_GENAI_API_VERSION",
    "GOOGLE_GEMINI_BASE_URL",
    "GOOGLE_VERTEX_BASE_URL",
    "SSL_CERT_FILE",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)


def developer_client(server: EmulatorServer, client_ssl: ssl.SSLContext, **http: Any) -> genai.Client:
    options = {
        "base_url": f"https://localhost:{server.port}",
        "async_client_args": {"ssl": client_ssl},
        **http,
    }
    return genai.Client(api_key="k", http_options=options)


def vertex_client(server: EmulatorServer, client_ssl: ssl.SSLContext, base: str = "") -> genai.Client:
    return genai.Client(
        vertexai=True,
        project="p",
        location="us-central1",
        credentials=Credentials(token="ya29.FAKE"),  # google-auth: not expired, never refreshed
        http_options={
            "base_url": base or f"https://localhost:{server.port}",
            "async_client_args": {"ssl": client_ssl},
        },
    )


async def one_turn(session: Any) -> list[types.LiveServerMessage]:
    async with asyncio.timeout(TIMEOUT):
        return [message async for message in session.receive()]


def audio_and_transcript(messages: list[types.LiveServerMessage]) -> tuple[bytes, str]:
    audio, text = b"", ""
    for message in messages:
        content = message.server_content
        if content and content.model_turn:
            audio += b"".join(
                p.inline_data.data or b"" for p in content.model_turn.parts or [] if p.inline_data
            )
        if content and content.output_transcription:
            text += content.output_transcription.text or ""
    return audio, text


async def test_developer_audio_turn_over_tls(
    tls_emulator: EmulatorServer, client_ssl: ssl.SSLContext
) -> None:
    """An AUDIO session over wss gets PCM audio bytes and an exact output transcript, then usage."""
    client = developer_client(tls_emulator, client_ssl, api_version="v1beta")
    config = {"response_modalities": ["AUDIO"], "output_audio_transcription": {}}
    async with client.aio.live.connect(model=AUDIO_MODEL, config=config) as session:
        await session.send_client_content(turns={"role": "user", "parts": [{"text": "hi there"}]})
        messages = await one_turn(session)
    audio, transcript = audio_and_transcript(messages)
    assert transcript == "You said: hi there"
    assert len(audio) == 4 * 2400 * 2  # four words, 100 ms of 24 kHz PCM16 each
    usage = messages[-1].usage_metadata
    assert usage is not None and usage.response_token_count == 4 and usage.prompt_token_count == 2
    record = tls_emulator.connections[-1]
    assert record.path.startswith("/ws/google.ai.generativelanguage.v1beta.")
    assert record.headers["x-goog-api-key"] == "k"


async def test_sdk_default_version_and_double_slash(
    tls_emulator: EmulatorServer, client_ssl: ssl.SSLContext
) -> None:
    """SDK 3.x dials API version v1 and, with a trailing-slash base URL, `//ws/...`: both served."""
    client = developer_client(tls_emulator, client_ssl, base_url=f"https://localhost:{tls_emulator.port}/")
    async with client.aio.live.connect(model=LIVE_31, config={"response_modalities": ["AUDIO"]}) as session:
        await session.send_realtime_input(text="ping")
        messages = await one_turn(session)
    assert messages[-1].server_content and messages[-1].server_content.turn_complete
    assert tls_emulator.connections[-1].path.startswith(
        "//ws/google.ai.generativelanguage.v1.GenerativeService"
    )


async def test_vertex_text_session(tls_emulator: EmulatorServer, client_ssl: ssl.SSLContext) -> None:
    """Vertex: setupComplete has a sessionId, TEXT chunks arrive, the SDK maps the Vertex usage names."""
    client = vertex_client(tls_emulator, client_ssl)
    async with client.aio.live.connect(model=TEXT_MODEL, config={"response_modalities": ["TEXT"]}) as session:
        assert session.session_id
        await session.send_client_content(turns={"role": "user", "parts": [{"text": "hello world"}]})
        messages = await one_turn(session)
    text = "".join(m.server_content.model_turn.parts[0].text or "" for m in messages if _has_turn(m))
    assert text == "You said: hello world"
    assert sum(1 for m in messages if _has_turn(m)) == 4
    usage = messages[-1].usage_metadata
    assert usage is not None and usage.response_token_count == 4  # mapped from candidatesTokenCount
    assert usage.traffic_type == types.TrafficType.ON_DEMAND
    record = tls_emulator.connections[-1]
    assert record.headers["authorization"] == "Bearer ya29.FAKE"
    assert record.setup and record.setup["model"].startswith(
        "projects/p/locations/us-central1/publishers/google/"
    )


def _has_turn(message: types.LiveServerMessage) -> bool:
    return bool(message.server_content and message.server_content.model_turn)


async def test_vertex_proxy_mode(
    emulator: EmulatorServer, server_ssl: ssl.SSLContext, client_ssl: ssl.SSLContext
) -> None:
    """Vertex proxy mode (§1.4): the SDK dials base_url verbatim, the model as publishers/google/models/…."""
    async with EmulatorServer(ssl_context=server_ssl, bearer_token="tok") as server:
        uri = (
            f"wss://localhost:{server.port}/ws/google.cloud.aiplatform.v1.LlmBidiService/BidiGenerateContent"
        )
        client = genai.Client(
            vertexai=True,
            http_options={
                "base_url": uri,
                "headers": {"Authorization": "Bearer tok"},
                "async_client_args": {"ssl": client_ssl},
            },
        )
        model = "publishers/google/models/gemini-live-2.5-flash-native-audio"
        async with client.aio.live.connect(model=model, config={"output_audio_transcription": {}}) as session:
            assert session.session_id
            await session.send_realtime_input(text="proxy")
            _, transcript = audio_and_transcript(await one_turn(session))
    assert transcript == "You said: proxy"


async def test_rich_setup_from_sdk_is_accepted(
    tls_emulator: EmulatorServer, client_ssl: ssl.SSLContext
) -> None:
    """Everything the SDK puts in a 2.5 setup (mixed snake/camel case, §3.1) passes the strict schema."""
    tool = types.FunctionDeclaration(
        name="get_weather",
        description="d",
        parameters_json_schema={"type": "object", "properties": {"city_name": {"type": "string"}}},
    )
    config = types.LiveConnectConfig(
        response_modalities=["AUDIO"],
        temperature=0.7,
        max_output_tokens=100,
        speech_config={
            "voice_config": {"prebuilt_voice_config": {"voice_name": "Kore"}},
            "language_code": "en-US",
        },
        thinking_config={"thinking_budget": 128, "include_thoughts": False},
        enable_affective_dialog=True,
        system_instruction="Be brief",
        tools=[types.Tool(function_declarations=[tool]), types.Tool(google_search={})],
        session_resumption={},
        input_audio_transcription={},
        output_audio_transcription={},
        realtime_input_config={
            "automatic_activity_detection": {
                "disabled": False,
                "prefix_padding_ms": 20,
                "silence_duration_ms": 500,
            },
            "activity_handling": "NO_INTERRUPTION",
        },
        context_window_compression={"trigger_tokens": 25600, "sliding_window": {"target_tokens": 12800}},
        proactivity={"proactive_audio": True},
    )
    client = developer_client(tls_emulator, client_ssl, api_version="v1alpha")
    async with client.aio.live.connect(model=AUDIO_MODEL, config=config) as session:
        await session.send_realtime_input(
            audio=types.Blob(data=b"\x00\x01" * 160, mime_type="audio/pcm;rate=16000")
        )
        await session.send_realtime_input(text="go")
        messages = await one_turn(session)
        update = await asyncio.wait_for(session._receive(), TIMEOUT)
    assert update.session_resumption_update and update.session_resumption_update.resumable
    assert audio_and_transcript(messages)[1] == "You said: go"
    setup = tls_emulator.connections[-1].setup
    assert setup is not None
    declared = [d for t in Setup.model_validate(setup).tools or [] for d in t.function_declarations or []]
    assert declared[0].parameters_json_schema["properties"] == {
        "city_name": {"type": "string"}
    }  # not re-cased


async def test_retired_model_raises_api_error(
    tls_emulator: EmulatorServer, client_ssl: ssl.SSLContext
) -> None:
    """A retired model closes with 1008 and Google's truncated "not found" reason, surfaced as APIError."""
    client = developer_client(tls_emulator, client_ssl, api_version="v1beta")
    with pytest.raises(errors.APIError) as caught:
        async with client.aio.live.connect(model="gemini-2.0-flash-live-001", config={}):
            pass
    assert caught.value.code == 1008
    assert "models/gemini-2.0-flash-live-001 is not found for API version v1beta" in str(caught.value)


async def _until(session: Any, predicate: Any) -> list[types.LiveServerMessage]:
    """Messages from the SDK's raw receiver up to the first one matching `predicate`."""
    messages: list[types.LiveServerMessage] = []
    async with asyncio.timeout(TIMEOUT):
        while not messages or not predicate(messages[-1]):
            messages.append(await session._receive())
    return messages


def _input_transcript(messages: list[types.LiveServerMessage]) -> str:
    return "".join(
        m.server_content.input_transcription.text or ""
        for m in messages
        if m.server_content and m.server_content.input_transcription
    )


async def test_sdk_audio_vad_turn(tls_emulator: EmulatorServer, client_ssl: ssl.SSLContext) -> None:
    """send_realtime_input(audio=…) at 16 kHz: the VAD hears a tone, then silence ends the turn."""
    client = developer_client(tls_emulator, client_ssl, api_version="v1beta")
    config = {"input_audio_transcription": {}, "output_audio_transcription": {}}
    async with client.aio.live.connect(model=AUDIO_MODEL, config=config) as session:
        for chunk in chunked(tone_pcm(16000, 300) + silence_pcm(16000, 600), 16000, 100):
            await session.send_realtime_input(audio=types.Blob(data=chunk, mime_type="audio/pcm;rate=16000"))
        messages = await one_turn(session)
    assert _input_transcript(messages) == "user speech 1"
    assert audio_and_transcript(messages)[1] == "You said: user speech 1"


async def test_sdk_tool_call_and_response(server_ssl: ssl.SSLContext, client_ssl: ssl.SSLContext) -> None:
    """A spoken turn names a declared function: toolCall → send_tool_response → the turn goes on."""
    script = Script(user_transcripts=("what is get_weather for Paris",))
    async with EmulatorServer(ssl_context=server_ssl, api_key="k", script=script) as server:
        client = developer_client(server, client_ssl, api_version="v1beta")
        tool = types.FunctionDeclaration(
            name="get_weather",
            parameters_json_schema={
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        )
        config = types.LiveConnectConfig(
            response_modalities=["AUDIO"],
            tools=[types.Tool(function_declarations=[tool])],
            output_audio_transcription={},
        )
        async with client.aio.live.connect(model=AUDIO_MODEL, config=config) as session:
            for chunk in chunked(tone_pcm(16000, 200), 16000, 100):
                await session.send_realtime_input(audio=types.Blob(data=chunk, mime_type="audio/pcm;rate=16000"))
            await session.send_realtime_input(audio_stream_end=True)  # no silence: the mic stops instead
            messages = await _until(session, lambda m: m.tool_call is not None)
            assert messages[-1].tool_call is not None and messages[-1].tool_call.function_calls
            call = messages[-1].tool_call.function_calls[0]
            assert (call.name, call.args) == ("get_weather", {"city": "what is get_weather for Paris"})
            await session.send_tool_response(
                function_responses=[types.FunctionResponse(id=call.id, name=call.name, response={"temp_c": 21})]
            )
            messages = await one_turn(session)
    assert audio_and_transcript(messages)[1] == 'get_weather returned {"temp_c":21}'


async def test_sdk_barge_in_cancellation_go_away_and_resume(
    server_ssl: ssl.SSLContext, client_ssl: ssl.SSLContext
) -> None:
    """The SDK parses toolCallCancellation, interrupted, goAway and resumption updates; the handle resumes."""
    script = Script(cancel_tool_calls=True, go_away_after_turns=1, go_away_time_left_s=5, fault_connections=1)
    async with EmulatorServer(ssl_context=server_ssl, api_key="k", script=script) as server:
        client = developer_client(server, client_ssl, api_version="v1beta")
        tools = [types.Tool(function_declarations=[types.FunctionDeclaration(name="ping")])]
        config = types.LiveConnectConfig(tools=tools, session_resumption=types.SessionResumptionConfig())
        async with client.aio.live.connect(model=AUDIO_MODEL, config=config) as session:
            await session.send_realtime_input(text="ping")
            messages = await one_turn(session)  # a cancelled call: no turnComplete-less wait
            cancelled = [m.tool_call_cancellation for m in messages if m.tool_call_cancellation]
            assert cancelled and cancelled[0].ids == ["fc_1"]
            assert messages[-1].server_content and messages[-1].server_content.turn_complete
            assert any(m.server_content and m.server_content.interrupted for m in messages)
            await session.send_realtime_input(text="hello there")
            await one_turn(session)
            tail = await _until(session, lambda m: m.go_away is not None)
            handles = [m.session_resumption_update.new_handle for m in tail if m.session_resumption_update]
            assert tail[-1].go_away is not None and tail[-1].go_away.time_left == "5s"
        resumed = types.LiveConnectConfig(session_resumption=types.SessionResumptionConfig(handle=handles[-1]))
        async with client.aio.live.connect(model=AUDIO_MODEL, config=resumed) as session:
            await session.send_realtime_input(text="again")
            messages = await one_turn(session)
        usage = messages[-1].usage_metadata
        # "ping" 1 + "hello there" 2 + "You said: hello there" 4 + "again" 1 (the cancelled call left no turn)
        assert usage is not None and usage.prompt_token_count == 8
        assert server.connections[-1].resumed_handle == handles[-1]
