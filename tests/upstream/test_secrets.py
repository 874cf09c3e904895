"""No secret (Google API key, access token, private key; the gateway key server-side) in logs, errors or closes."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import respx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from gateway.emulator import EmulatorServer

from .support import (
    AUTH,
    DEV_MODEL,
    MASTER_KEY,
    TOKEN_URI,
    VERTEX_MODEL,
    document,
    entry,
    http_base,
    running_gateway,
    service_account,
    text_turn,
    token_response,
)

API_KEY = "AIzaSyRECOGNIZABLEkey0000000000000000"
WRONG_KEY = "AIzaSyRECOGNIZABLEwrong000000000000000"
TOKEN = "ya29.RECOGNIZABLE-token"
LOGGERS = (
    "",
    "websockets",
    "websockets.client",
    "websockets.server",
    "uvicorn",
    "uvicorn.error",
    "httpx",
    "httpcore",
    "google",
    "livegate",
)


def _log_text(caplog: pytest.LogCaptureFixture) -> str:
    parts = []
    handler = logging.Formatter()
    for record in caplog.records:
        parts.append(record.getMessage())
        if record.exc_info:
            parts.append(handler.formatException(record.exc_info))
    return "\n".join(parts)


async def test_no_secret_in_logs_errors_or_close_reasons(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Good and bad Gemini keys, a Vertex service account, and the passthrough, all logged at DEBUG."""
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    sa = service_account()
    secrets = [API_KEY, WRONG_KEY, TOKEN, sa["private_key"].splitlines()[1]]
    seen: list[str] = []
    async with EmulatorServer(api_key=API_KEY, bearer_token=TOKEN) as emulator:
        base = http_base(emulator.url)
        vertex = {"vertex_project": "p", "vertex_credentials": json.dumps(sa), "api_base": base}
        models = [
            entry("good", f"gemini/{DEV_MODEL}", api_key=API_KEY, api_base=base),
            entry("bad", f"gemini/{DEV_MODEL}", api_key=WRONG_KEY, api_base=base),
            entry("vx", f"vertex_ai/{VERTEX_MODEL}", **vertex),
        ]
        passthrough = {"api_base": base, "vertex_credentials": json.dumps(sa), "vertex_project": "p"}
        with respx.mock() as router:
            router.post(TOKEN_URI).mock(return_value=token_response(TOKEN))
            async with running_gateway(
                tmp_path, document(*models, vertex_passthrough=passthrough), log_level="trace"
            ) as gateway:
                for alias in ("good", "bad", "vx"):
                    turn = await text_turn(gateway, alias)
                    seen += [json.dumps(turn.events), turn.close_reason or ""]
                async with connect(f"{gateway.base}/v1/vertex-ai/live", additional_headers=AUTH) as ws:
                    await ws.send(json.dumps({"setup": {"model": "gemini-2.0-flash-live-001"}}))
                    with pytest.raises(ConnectionClosed):
                        await ws.recv()
                seen.append(ws.close_reason or "")
    assert "API key not valid" in seen[2] and "not found" in seen[-1]  # the sessions really ran
    logged = _log_text(caplog)
    assert "HTTP Request: POST https://oauth2.googleapis.com/token" in logged  # DEBUG/INFO logging was on
    for secret in secrets:
        assert secret not in logged
        assert all(secret not in text for text in seen)
    # The gateway key: only the test's own client logs it (websockets.client); the gateway side never does.
    server_side = [r.getMessage() for r in caplog.records if not r.name.startswith("websockets.client")]
    assert "< authorization: [redacted]" in server_side and not any(MASTER_KEY in m for m in server_side)
