"""Ephemeral client secrets through real clients (OPENAI_REALTIME.md §10): openai-python and openai-node mint
them with their own `client_secrets.create`, connect with them (Bearer and the browser sub-protocol), and the
gateway applies the secret's session, pins its alias, refuses expired and tampered ones, and lets another
replica with the same signing keys accept them."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import AsyncOpenAI, AuthenticationError
from openai.types.beta.realtime.session_create_response import SessionCreateResponse
from openai.types.realtime.realtime_session_create_response import RealtimeSessionCreateResponse
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from gateway.accounts.client_secrets import ClientSecrets, Grant
from gateway.accounts.keys import hash_key
from schemas.openai import Dialect, validate_server_event
from tests.support.live import MASTER_KEY, GatewayThread, LiveGateway

ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")
SESSION = {
    "type": "realtime",
    "model": "gemini-live",
    "instructions": "Answer in one short sentence.",
    "output_modalities": ["text"],
    "audio": {"output": {"voice": "coral"}},
}


def client(gateway: LiveGateway, key: str = MASTER_KEY) -> AsyncOpenAI:
    return AsyncOpenAI(api_key=key, base_url=gateway.http_base, websocket_base_url=gateway.ws_base)


async def recv(ws: ClientConnection) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(await ws.recv())
    return event


async def refused(ws: ClientConnection) -> tuple[dict[str, Any], int]:
    error = await recv(ws)
    with pytest.raises(ConnectionClosed):
        await ws.recv()
    assert ws.close_code is not None
    return error, ws.close_code


async def text_turn(conn: Any, text: str) -> str:
    await conn.conversation.item.create(
        item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    )
    await conn.response.create()
    out = ""
    async for event in conn:
        validate_server_event(event.to_dict(), Dialect.GA)
        if event.type == "response.output_text.delta":
            out += event.delta
        if event.type in ("response.done", "error"):
            return out
    return out


async def test_openai_python_mints_then_connects_with_the_secret(gateway: LiveGateway) -> None:
    """`client.realtime.client_secrets.create` returns an `ek_` value, its expiry and the effective session; a
    client holding only the secret connects, starts with that session, updates it, and holds a text turn."""
    before = int(time.time())
    secret = await client(gateway).realtime.client_secrets.create(
        session=SESSION,  # type: ignore[arg-type]
        expires_after={"anchor": "created_at", "seconds": 120},
    )
    assert secret.value.startswith("ek_") and before + 120 <= secret.expires_at <= int(time.time()) + 120
    assert isinstance(secret.session, RealtimeSessionCreateResponse)
    assert secret.session.model == "gemini-live" and secret.session.instructions == SESSION["instructions"]
    assert secret.session.output_modalities == ["text"]
    assert secret.session.audio and secret.session.audio.output and secret.session.audio.output.voice == "coral"
    for round_ in range(2):  # "a secret can be used to create multiple sessions until it expires"
        async with client(gateway, secret.value).realtime.connect(model="gemini-live") as conn:
            created = (await conn.recv()).to_dict()
            assert created["type"] == "session.created"
            assert created["session"]["instructions"] == SESSION["instructions"]
            assert created["session"]["output_modalities"] == ["text"]
            assert created["session"]["audio"]["output"]["voice"] == "coral"
            if round_:
                await conn.session.update(session={"type": "realtime", "instructions": "Now be verbose."})
                updated = (await conn.recv()).to_dict()
                assert updated["type"] == "session.updated"
                assert updated["session"]["instructions"] == "Now be verbose."
                assert updated["session"]["audio"]["output"]["voice"] == "coral"  # the preset stays under it
            assert await text_turn(conn, "Hello") == "You said: Hello"


async def test_secret_in_the_subprotocol_needs_no_model(gateway: LiveGateway) -> None:
    """A browser-style connection: the secret in `openai-insecure-api-key.`, no `?model=`; the secret names it."""
    secret = await client(gateway).realtime.client_secrets.create(session=SESSION)  # type: ignore[arg-type]
    assert len(secret.value) < 1024
    protocols = ["realtime", f"openai-insecure-api-key.{secret.value}"]
    async with connect(f"{gateway.ws_base}/realtime", subprotocols=protocols) as ws:  # type: ignore[arg-type]
        created = await recv(ws)
        assert ws.subprotocol == "realtime"
    assert created["type"] == "session.created" and created["session"]["model"] == "gemini-live"


async def test_secret_refuses_another_model(gateway: LiveGateway) -> None:
    """`?model=` may be omitted with a secret, but when present it must be the secret's alias (close 4000)."""
    secret = await client(gateway).realtime.client_secrets.create(session=SESSION)  # type: ignore[arg-type]
    headers = {"Authorization": f"Bearer {secret.value}"}
    async with connect(f"{gateway.ws_base}/realtime?model=gemini-3.1-live", additional_headers=headers) as ws:
        error, code = await refused(ws)
    assert error["error"]["code"] == "invalid_model" and "minted for model 'gemini-live'" in error["error"]["message"]
    assert code == 4000


def _forged(grant: Grant) -> str:
    """A secret signed exactly as this gateway signs (its key is derived from the master key)."""
    return ClientSecrets([], MASTER_KEY).mint(grant)


@pytest.mark.parametrize("kind", ["expired", "tampered", "foreign key", "garbage"])
async def test_bad_secrets_get_the_auth_error_and_3000(gateway: LiveGateway, kind: str) -> None:
    """Expired, altered, signed with another key, or not a token at all: `invalid_api_key`, close 3000."""
    good = Grant(hash_key(MASTER_KEY), "gemini-live", int(time.time()) + 60, Dialect.GA, {})
    genuine = _forged(good)
    payload, _, signature = genuine.rpartition(".")
    value = {
        "expired": _forged(Grant(good.key_id, good.alias, int(time.time()) - 1, Dialect.GA, {})),
        "tampered": payload[:12] + ("B" if payload[12] == "A" else "A") + payload[13:] + "." + signature,
        "foreign key": ClientSecrets(["another-signing-key-0123456789"], None).mint(good),
        "garbage": "ek_not-a-token",
    }[kind]
    headers = {"Authorization": f"Bearer {value}"}
    async with connect(f"{gateway.ws_base}/realtime?model=gemini-live", additional_headers=headers) as ws:
        error, code = await refused(ws)
    assert error["error"]["code"] == "invalid_api_key" and code == 3000
    assert ("expired" in error["error"]["message"]) == (kind == "expired")
    assert value not in json.dumps(error)


async def test_secret_of_a_revoked_key_is_refused(gateway: LiveGateway) -> None:
    """A genuine, unexpired secret whose minting key is no longer accepted (here: not the master key) fails."""
    grant = Grant("f" * 64, "gemini-live", int(time.time()) + 60, Dialect.GA, {})
    headers = {"Authorization": f"Bearer {_forged(grant)}"}
    async with connect(f"{gateway.ws_base}/realtime?model=gemini-live", additional_headers=headers) as ws:
        error, code = await refused(ws)
    assert error["error"]["code"] == "invalid_api_key" and code == 3000


async def test_beta_sessions_create(gateway: LiveGateway) -> None:
    """`client.beta.realtime.sessions.create` answers the beta session object with `client_secret`; a beta
    connection with that secret starts from it."""
    session = await client(gateway).beta.realtime.sessions.create(
        model="gemini-live",  # type: ignore[arg-type]
        modalities=["text"],
        instructions="Be brief.",
        client_secret={"expires_after": {"anchor": "created_at", "seconds": 60}},
    )
    assert isinstance(session, SessionCreateResponse)
    assert session.client_secret.value.startswith("ek_") and session.modalities == ["text"]
    headers = {"Authorization": f"Bearer {session.client_secret.value}", "OpenAI-Beta": "realtime=v1"}
    async with connect(f"{gateway.ws_base}/realtime", additional_headers=headers) as ws:
        created = await recv(ws)
    validate_server_event(created, Dialect.BETA)
    assert created["session"]["instructions"] == "Be brief." and created["session"]["modalities"] == ["text"]


@pytest.mark.parametrize(
    ("body", "param", "code"),  # code "": whichever the session check names
    [
        ({"expires_after": {"seconds": 5}}, "expires_after.seconds", "integer_below_min_value"),
        ({"expires_after": {"seconds": 7201}}, "expires_after.seconds", "integer_above_max_value"),
        ({"expires_after": {"anchor": "now"}}, "expires_after.anchor", "invalid_value"),
        ({"session": {"type": "realtime", "model": "gpt-realtime"}}, "session.model", "invalid_model"),
        ({"session": {"type": "realtime", "model": "gemini-transcribe"}}, "session.model", "invalid_model"),
        ({"session": {"type": "realtime", "bogus": 1}}, "session.bogus", "unknown_parameter"),
        ({"session": {"type": "realtime", "audio": {"output": {"voice": "nobody"}}}}, "session.audio.output.voice", ""),
        ({"session": {"type": "transcription"}}, "session.type", "invalid_value"),
        ({"surprise": True}, "surprise", "unknown_parameter"),
    ],
)
async def test_mint_errors_are_openai_shaped(gateway: LiveGateway, body: dict[str, Any], param: str, code: str) -> None:
    """Bad requests get HTTP 400 with OpenAI's error body naming the parameter."""
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{gateway.http_base}/realtime/client_secrets", json=body, headers={"Authorization": f"Bearer {MASTER_KEY}"}
        )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param and error["message"]
    assert error["code"] == code or not code


async def test_mint_needs_a_long_lived_key(gateway: LiveGateway) -> None:
    """No key, a wrong key, or a client secret cannot mint: 401, which the SDK raises as AuthenticationError."""
    secret = await client(gateway).realtime.client_secrets.create()
    for key in ("sk-wrong", secret.value):
        with pytest.raises(AuthenticationError):
            await client(gateway, key).realtime.client_secrets.create()
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{gateway.http_base}/realtime/client_secrets", json={})
    assert response.status_code == 401  # OpenAI's HTTP wording, which says what to send (not the WebSocket's)
    assert response.json()["error"]["message"].startswith("You didn't provide an API key")
    assert "Authorization: Bearer YOUR_KEY" in response.json()["error"]["message"]


async def test_cors_preflight(gateway: LiveGateway) -> None:
    """A page on another origin may mint: the preflight allows POST with an Authorization header."""
    headers = {
        "Origin": "http://localhost:5173",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    async with httpx.AsyncClient() as http:
        response = await http.options(f"{gateway.http_base}/realtime/client_secrets", headers=headers)
        minted = await http.post(
            f"{gateway.http_base}/realtime/client_secrets",
            json={},
            headers={"Authorization": f"Bearer {MASTER_KEY}", "Origin": "http://localhost:5173"},
        )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", "http://localhost:5173")
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    assert "POST" in response.headers["access-control-allow-methods"]
    assert minted.status_code == 200 and minted.headers["access-control-allow-origin"] == "*"


# ---- replicas and rotation ------------------------------------------------------------------------------

OLD_KEY, NEW_KEY = "old-signing-key-0123456789abcdef", "new-signing-key-0123456789abcdef"


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveGateway, LiveGateway, LiveGateway]]:
    """Two replicas mid-rotation (new key first, old still accepted) and one that only knows the old key."""
    threads = [
        GatewayThread(tmp_path_factory.mktemp("replica"), general={"client_secret_keys": keys})
        for keys in ([NEW_KEY, OLD_KEY], [NEW_KEY, OLD_KEY], [OLD_KEY])
    ]
    started = [thread.start() for thread in threads]
    yield started[0], started[1], started[2]
    for thread in threads:
        thread.stop()


async def test_another_replica_accepts_the_secret(replicas: tuple[LiveGateway, LiveGateway, LiveGateway]) -> None:
    """Minted on one replica, used on another with the same keys: no shared state needed. During a rotation a
    secret signed with the old key still works on the rotated replicas; one signed with the new key does not
    work where only the old key is known."""
    first, second, old_only = replicas
    for minter, user, accepted in ((first, second, True), (old_only, first, True), (first, old_only, False)):
        secret = await client(minter).realtime.client_secrets.create(session=SESSION)  # type: ignore[arg-type]
        headers = {"Authorization": f"Bearer {secret.value}"}
        async with connect(f"{user.ws_base}/realtime", additional_headers=headers) as ws:
            first_event = await recv(ws)
        assert (first_event["type"] == "session.created") is accepted, first_event


# ---- openai-node -----------------------------------------------------------------------------------------


@pytest.mark.skipif(NODE is None, reason="node is not on PATH")
def test_openai_node_mints_and_talks_with_the_secret(tls_gateway: tuple[LiveGateway, Path]) -> None:
    """openai-node's `realtime.clientSecrets.create` gets a secret; its browser-style OpenAIRealtimeWebSocket
    (the secret in the sub-protocol) holds a text turn with the secret's session."""
    from tests.gateway.test_node_clients import native_websocket_flags, node_env

    gateway, ca_file = tls_gateway
    assert NODE is not None
    env = node_env(
        LIVEGATE_BASE_URL=gateway.http_base,
        LIVEGATE_API_KEY=MASTER_KEY,
        LIVEGATE_MODEL="gemini-live",
        LIVEGATE_USER_TEXT="Hi from node",
        NODE_EXTRA_CA_CERTS=str(ca_file),
    )
    proc = subprocess.run(
        [NODE, *native_websocket_flags(), str(ROOT / "tests" / "node" / "client_secret.mjs")],
        cwd=ROOT / "tests" / "node",
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout[-2000:]
    lines = proc.stdout.splitlines()
    secret = json.loads(lines[0].removeprefix("livegate-secret "))
    assert secret["value"].startswith("ek_") and secret["session"]["instructions"] == "Answer briefly."
    events = [json.loads(line) for line in lines[1:] if line.strip()]
    assert events[0]["type"] == "session.created" and events[0]["session"]["output_modalities"] == ["text"]
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == "You said: Hi from node" and events[-1]["type"] == "response.done"
    assert MASTER_KEY not in proc.stderr


async def test_the_largest_secret_still_fits_the_handshake(gateway: LiveGateway) -> None:
    """A secret near the size limit (long instructions that do not compress) passes the server's header caps in
    the browser sub-protocol, and its session arrives whole; one over the limit is refused at mint, not later."""
    noise = "".join(f"{i * 7919 % 10007:04x}" for i in range(4000))
    async with httpx.AsyncClient() as http:
        for length in range(len(noise), 0, -250):
            body = {"session": {"type": "realtime", "model": "gemini-live", "instructions": noise[:length]}}
            response = await http.post(
                f"{gateway.http_base}/realtime/client_secrets",
                json=body,
                headers={"Authorization": f"Bearer {MASTER_KEY}"},
            )
            if response.status_code == 200:
                break
            assert (
                response.status_code == 400 and "too long for a WebSocket header" in response.json()["error"]["message"]
            )
    secret = response.json()["value"]
    assert length < len(noise) and len(secret) > 5500
    protocols = ["realtime", f"openai-insecure-api-key.{secret}", "openai-agents-sdk.0.20.0"]
    async with connect(f"{gateway.ws_base}/realtime", subprotocols=protocols) as ws:  # type: ignore[arg-type]
        created = await recv(ws)
    assert created["type"] == "session.created" and created["session"]["instructions"] == noise[:length]
