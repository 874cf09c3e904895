"""Through the gateway: real-Google-shaped deployments (api_base → emulator), Vertex OAuth, fallbacks, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import respx

from gateway.emulator import EmulatorServer
from gateway.upstream.google_auth import GoogleAuth

from .support import (
    DEV_MODEL,
    TOKEN_URI,
    VERTEX_MODEL,
    document,
    entry,
    free_port,
    http_base,
    running_gateway,
    service_account,
    text_turn,
    token_response,
)

KEY = "AIzaSyGATEWAYTESTKEY00000000000000000"


async def test_gemini_api_deployment_completes_a_turn(tmp_path: Path) -> None:
    """gemini/<id> with api_base at an emulator that checks the key: a full text turn."""
    async with EmulatorServer(api_key=KEY) as emulator:
        model = entry("live", f"gemini/{DEV_MODEL}", api_key=KEY, api_base=http_base(emulator.url))
        async with running_gateway(tmp_path, document(model)) as gateway:
            turn = await text_turn(gateway, "live", "hi there")
    assert turn.text == "You said: hi there" and not turn.errors
    assert emulator.connections[0].path.endswith("v1beta.GenerativeService.BidiGenerateContent")


async def test_wrong_gemini_key_gets_error_and_4001(tmp_path: Path) -> None:
    """A key Gemini refuses: one error event naming the problem and close 4001, not a hang."""
    async with EmulatorServer(api_key=KEY) as emulator:
        wrong = "AIzaSyWRONGWRONGWRONG000000000"
        model = entry("live", f"gemini/{DEV_MODEL}", api_key=wrong, api_base=http_base(emulator.url))
        async with running_gateway(tmp_path, document(model)) as gateway:
            turn = await text_turn(gateway, "live")
    (error,) = turn.errors
    assert error["code"] == "upstream_auth_failed" and "API key not valid" in error["message"]
    assert turn.close_code == 4001 and "WRONG" not in json.dumps(turn.events)


async def test_vertex_deployment_sends_the_service_account_token(tmp_path: Path) -> None:
    """vertex_ai/<id> with a service account: the emulator (bearer_token=) sees `Authorization: Bearer <token>`."""
    token = "ya29.vertex-gateway-token"
    sa = json.dumps(service_account())
    async with EmulatorServer(bearer_token=token) as emulator:
        params = {"vertex_project": "proj-1", "vertex_location": "europe-west4", "vertex_credentials": sa}
        model = entry("vx", f"vertex_ai/{VERTEX_MODEL}", api_base=http_base(emulator.url), **params)
        with respx.mock() as router:
            route = router.post(TOKEN_URI).mock(return_value=token_response(token))
            async with running_gateway(tmp_path, document(model)) as gateway:
                first = await text_turn(gateway, "vx", "one")
                second = await text_turn(gateway, "vx", "two")
    assert (first.text, second.text) == ("You said: one", "You said: two")
    assert route.call_count == 1  # cached across sessions
    record = emulator.connections[0]
    assert record.headers["authorization"] == f"Bearer {token}"
    assert record.path.endswith("/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent")
    assert record.setup is not None
    assert record.setup["model"] == f"projects/proj-1/locations/europe-west4/publishers/google/models/{VERTEX_MODEL}"


async def test_refused_service_account_gets_error_and_4001(tmp_path: Path) -> None:
    """The token endpoint refuses the key: the client gets an error event and close 4001 with the reason."""
    refused = {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
    async with EmulatorServer(bearer_token="x") as emulator:
        params = {"vertex_project": "p", "vertex_credentials": json.dumps(service_account())}
        model = entry("vx", f"vertex_ai/{VERTEX_MODEL}", api_base=http_base(emulator.url), **params)
        with respx.mock() as router:
            router.post(TOKEN_URI).respond(400, json=refused)
            async with running_gateway(tmp_path, document(model)) as gateway:
                turn = await text_turn(gateway, "vx")
    (error,) = turn.errors
    assert error["code"] == "upstream_auth_failed" and "invalid_grant" in error["message"]
    assert turn.close_code == 4001 and not emulator.connections  # never dialed without a token


async def test_wrong_bearer_token_is_401_then_4001(tmp_path: Path) -> None:
    """Vertex answers the upgrade with 401 for a token it does not accept: 4001 for the client."""
    async with EmulatorServer(bearer_token="ya29.expected") as emulator:
        params = {"vertex_project": "p", "vertex_credentials": json.dumps(service_account())}
        model = entry("vx", f"vertex_ai/{VERTEX_MODEL}", api_base=http_base(emulator.url), **params)
        with respx.mock() as router:
            router.post(TOKEN_URI).mock(return_value=token_response("ya29.other"))
            async with running_gateway(tmp_path, document(model)) as gateway:
                turn = await text_turn(gateway, "vx")
    assert turn.close_code == 4001 and "HTTP 401" in turn.errors[0]["message"]


async def test_handshake_failures_fall_back_in_order(tmp_path: Path) -> None:
    """Refused port, then HTTP 404, then a working deployment: the client only sees the answer."""
    async with EmulatorServer(api_key=KEY) as emulator:
        base = http_base(emulator.url)
        models = [
            entry("live", f"gemini/{DEV_MODEL}", api_key=KEY, api_base=f"http://127.0.0.1:{free_port()}"),
            entry("live", f"gemini/{DEV_MODEL}", api_key=KEY, api_base=f"{base}/wrong/prefix"),
            entry("live", "gemini/gemini-2.5-flash-native-audio-preview-09-2025", api_key=KEY, api_base=base),
        ]
        async with running_gateway(tmp_path, document(*models)) as gateway:
            turn = await text_turn(gateway, "live", "fallback works")
    assert turn.text == "You said: fallback works" and not turn.errors
    assert [c.status for c in emulator.connections] == [404, 101]
    setup = emulator.connections[1].setup
    assert setup is not None and setup["model"] == "models/gemini-2.5-flash-native-audio-preview-09-2025"


async def test_all_fallbacks_failing_names_every_attempt(tmp_path: Path) -> None:
    """Every deployment fails: one error listing each (provider/model: what happened), secrets redacted."""
    async with EmulatorServer(api_key=KEY) as emulator:
        base = http_base(emulator.url)
        models = [
            entry("live", f"gemini/{DEV_MODEL}", api_key=KEY, api_base=f"http://127.0.0.1:{free_port()}"),
            entry("live", "gemini/gemini-3.1-flash-live-preview", api_key=KEY, api_base=f"{base}/nope"),
        ]
        async with running_gateway(tmp_path, document(*models)) as gateway:
            turn = await text_turn(gateway, "live")
    (error,) = turn.errors
    assert "every deployment of 'live' failed" in error["message"]
    assert f"1) gemini/{DEV_MODEL}: connection refused" in error["message"]
    assert "2) gemini/gemini-3.1-flash-live-preview: HTTP 404" in error["message"]
    assert turn.close_code == 4000 and KEY not in json.dumps(turn.events)


async def test_missing_adc_for_vertex_is_4001(tmp_path: Path) -> None:
    """A Vertex deployment with no credentials anywhere and no ADC: error 'not configured' and 4001."""
    from google.auth import exceptions as auth_errors

    def no_adc(request: object) -> object:
        raise auth_errors.DefaultCredentialsError("none")  # type: ignore[no-untyped-call]

    model = entry("vx", f"vertex_ai/{VERTEX_MODEL}", vertex_project="p", api_base=f"http://127.0.0.1:{free_port()}")
    async with running_gateway(tmp_path, document(model), google_auth=GoogleAuth(adc=no_adc)) as gateway:  # type: ignore[arg-type]
        turn = await text_turn(gateway, "vx")
    assert turn.close_code == 4001 and "not configured" in turn.errors[0]["message"]
