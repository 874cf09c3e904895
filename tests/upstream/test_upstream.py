"""gateway/upstream/dial.py: dialing in fallback order (seed 002), setup answer read first, clear failures (§5.1)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from gateway import close_codes
from gateway.config import Deployment, Provider
from gateway.emulator import EmulatorServer
from gateway.upstream.dial import (
    Attempt,
    UpstreamContext,
    UpstreamUnavailable,
    open_upstream,
    should_fall_back,
)
from gateway.upstream.google_auth import AccessToken, CredentialsError
from schemas.profiles import profile_for
from translators.resume import Retry

from .support import DEV_MODEL, VERTEX_MODEL, free_port, http_base

KEY = "AIzaSyUPSTREAMTESTKEY0000000000000000"


def deployment(provider: Provider, model: str = DEV_MODEL, **fields: Any) -> Deployment:
    return Deployment(alias="live", provider=provider, model_id=model, profile=profile_for(model), **fields)


def setup(model: str = "placeholder") -> dict[str, Any]:
    return {"setup": {"model": model, "generationConfig": {"responseModalities": ["AUDIO"]}}}


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [
        (Attempt(deployment(Provider.GEMINI), close_codes.DIAL_REFUSED, "HTTP 404"), True),
        (Attempt(deployment(Provider.GEMINI), close_codes.DIAL_FAILED, "connection refused"), True),
        (Attempt(deployment(Provider.GEMINI), close_codes.UPSTREAM_TO_CLIENT[1008], "closed 1008", 1008), True),
        (Attempt(deployment(Provider.GEMINI), close_codes.UPSTREAM_AUTH, "closed 1007: API key", 1007), True),
        (Attempt(deployment(Provider.GEMINI), close_codes.UPSTREAM_TO_CLIENT[1007], "closed 1007: bad", 1007), False),
    ],
)
def test_should_fall_back(attempt: Attempt, expected: bool) -> None:
    """Everything before setupComplete falls back except a setup Gemini calls invalid (1007)."""
    assert should_fall_back(attempt) is expected


async def test_gemini_key_reaches_emulator_in_header_only() -> None:
    """Against an emulator requiring a key: the handshake carries x-goog-api-key, the URL never the key."""
    async with EmulatorServer(api_key=KEY) as emulator:
        d = deployment(Provider.GEMINI, api_key=KEY, api_base=http_base(emulator.url))
        opened = await open_upstream([d], setup(), UpstreamContext(), read_first_frame=True)
        await opened.ws.close()
    record = emulator.connections[0]
    assert record.headers["x-goog-api-key"] == KEY and KEY not in record.path
    assert record.setup is not None and record.setup["model"] == f"models/{DEV_MODEL}"
    assert orjson.loads(opened.first_frame or b"") == {"setupComplete": {}}


async def test_wrong_gemini_key_is_an_auth_failure() -> None:
    """A wrong key (Gemini closes 1007 'API key not valid') → UPSTREAM_AUTH (4001), no retry elsewhere."""
    async with EmulatorServer(api_key=KEY) as emulator:
        d = deployment(Provider.GEMINI, api_key="AIzaWRONG", api_base=http_base(emulator.url))
        with pytest.raises(UpstreamUnavailable) as info:
            await open_upstream([d], setup(), UpstreamContext(), read_first_frame=True)
    assert info.value.close is close_codes.UPSTREAM_AUTH and info.value.close.close_code == 4001
    assert "API key not valid" in info.value.detail and "AIzaWRONG" not in info.value.detail


async def test_setup_refusal_falls_back_and_returns_first_frame() -> None:
    """A retired model (1008 after the setup) is skipped; the next deployment's setupComplete is returned."""
    async with EmulatorServer() as emulator:
        base = http_base(emulator.url)
        retired = deployment(Provider.GEMINI, "gemini-2.0-flash-live-001", api_key=KEY, api_base=base)
        good = deployment(Provider.GEMINI, api_key=KEY, api_base=base)
        opened = await open_upstream([retired, good], setup(), UpstreamContext(), read_first_frame=True)
        await opened.ws.close()
    assert opened.deployment is good and orjson.loads(opened.first_frame or b"") == {"setupComplete": {}}
    assert [c.setup["model"] for c in emulator.connections if c.setup] == [
        "models/gemini-2.0-flash-live-001",
        f"models/{DEV_MODEL}",
    ]


async def test_every_attempt_is_named_when_all_fail() -> None:
    """Refused port, HTTP 404, credentials failure, setup refusal: the error lists all four, in order."""

    async def no_token(d: Deployment) -> AccessToken:
        raise CredentialsError("Google refused the Vertex AI credentials: invalid_grant: bad")

    async with EmulatorServer() as emulator:
        base = http_base(emulator.url)
        attempts = [
            deployment(Provider.GEMINI, api_key=KEY, api_base=f"http://127.0.0.1:{free_port()}"),
            deployment(Provider.GEMINI, api_key=KEY, api_base=f"{base}/not-here"),
            deployment(Provider.VERTEX, VERTEX_MODEL, vertex_project="p", api_base=base),
            deployment(Provider.GEMINI, "gemini-2.0-flash-live-001", api_key=KEY, api_base=base),
        ]
        ctx = UpstreamContext(token_for=no_token)
        with pytest.raises(UpstreamUnavailable) as info:
            await open_upstream(attempts, setup(), ctx, read_first_frame=True)
    detail = info.value.detail
    assert detail.startswith("every deployment of 'live' failed: 1) gemini/")
    for needle in (
        "connection refused",
        "HTTP 404",
        "vertex_ai/gemini-live-2.5-flash-native-audio (us-central1)",
        "invalid_grant",
        "closed 1008",
        "not found",
    ):
        assert needle in detail
    assert detail.index("connection refused") < detail.index("HTTP 404") < detail.index("invalid_grant")
    assert info.value.close is close_codes.UPSTREAM_TO_CLIENT[1008] and KEY not in detail


async def test_without_reading_the_first_frame_setup_failures_surface_later() -> None:
    """read_first_frame=False (today's session): the socket is returned at once, first_frame is None."""
    async with EmulatorServer() as emulator:
        d = deployment(Provider.GEMINI, api_key=KEY, api_base=http_base(emulator.url))
        opened = await open_upstream([d], setup(), UpstreamContext())
        assert opened.first_frame is None
        assert orjson.loads(await opened.ws.recv()) == {"setupComplete": {}}
        await opened.ws.close()


@pytest.mark.parametrize(
    ("detail", "ever_ready", "close", "resuming", "expected"),
    [
        ("BidiGenerateContent session not found", True, close_codes.UPSTREAM_TO_CLIENT[1008], True, Retry.REPLAY),
        (
            "closed 1007: Request contains an invalid argument.",
            True,
            close_codes.UPSTREAM_TO_CLIENT[1007],
            True,
            Retry.REPLAY,
        ),
        (
            "closed 1007: Request contains an invalid argument.",
            True,
            close_codes.UPSTREAM_TO_CLIENT[1007],
            False,
            Retry.NO,
        ),
        ("closed 1011: Internal error", True, close_codes.UPSTREAM_TO_CLIENT[1011], True, Retry.RESUME),
        ("closed 1011: Internal error", False, close_codes.UPSTREAM_TO_CLIENT[1011], False, Retry.NO),
    ],
)
def test_redial_policy(detail: str, ever_ready: bool, close: Any, resuming: bool, expected: Retry) -> None:
    """A refused resumption (1008 not found, or 1007 as after 3.8's deadline) is replayed; a fresh setup
    refused as invalid is final; faults are resumed once the session has worked."""
    assert close_codes.redial_policy(detail, ever_ready, close, resuming) is expected
