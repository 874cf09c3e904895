"""gateway/upstream/google_auth.py: tokens from google-auth over httpx (respx mocks Google), cached, refreshed early."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from google.auth import exceptions as auth_errors
from google.auth import transport
from google.auth.credentials import Credentials

from gateway.upstream.google_auth import REFRESH_MARGIN_S, CredentialsError, GoogleAuth

from .support import TOKEN_URI, service_account, token_response


class Clock:
    """Injected time: tests move it instead of sleeping."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def sa_json() -> str:
    return json.dumps(service_account())


async def test_service_account_json_gets_a_cached_token(sa_json: str) -> None:
    """A service-account JSON string: one JWT-bearer grant at the token endpoint, then the cached token."""
    auth = GoogleAuth()
    with respx.mock(assert_all_mocked=True) as router:
        route = router.post(TOKEN_URI).mock(return_value=token_response("ya29.first"))
        first = await auth.token(sa_json)
        again = await auth.token(sa_json)
    auth.close()
    assert first.token == again.token == "ya29.first" and route.call_count == 1
    form = parse_qs(route.calls[0].request.content.decode())
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    assert form["assertion"][0].count(".") == 2  # a signed JWT
    assert first.headers() == {"Authorization": "Bearer ya29.first"}


async def test_refreshed_five_minutes_before_expiry(sa_json: str) -> None:
    """The token is reused until `REFRESH_MARGIN_S` before it expires, then refreshed; no sleeping."""
    clock = Clock()
    auth = GoogleAuth(clock=clock)
    with respx.mock() as router:
        route = router.post(TOKEN_URI).mock(side_effect=[token_response("ya29.one"), token_response("ya29.two")])
        assert (await auth.token(sa_json)).token == "ya29.one"
        clock.now += 3600 - REFRESH_MARGIN_S - 5
        assert (await auth.token(sa_json)).token == "ya29.one"
        clock.now += 10
        assert (await auth.token(sa_json)).token == "ya29.two"
    auth.close()
    assert route.call_count == 2


async def test_concurrent_sessions_share_one_refresh(sa_json: str) -> None:
    """Twenty sessions asking at once cause one request to the token endpoint."""
    auth = GoogleAuth()
    with respx.mock() as router:
        route = router.post(TOKEN_URI).mock(return_value=token_response("ya29.shared"))
        tokens = await asyncio.gather(*(auth.token(sa_json) for _ in range(20)))
    auth.close()
    assert {t.token for t in tokens} == {"ya29.shared"} and route.call_count == 1


async def test_refused_key_is_a_clear_error(sa_json: str) -> None:
    """The token endpoint's invalid_grant becomes a CredentialsError naming it; nothing is cached."""
    auth = GoogleAuth()
    refused = httpx.Response(400, json={"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
    with respx.mock() as router:
        route = router.post(TOKEN_URI).mock(side_effect=[refused, token_response("ya29.later")])
        with pytest.raises(CredentialsError, match="refused the Vertex AI credentials: invalid_grant: Invalid JWT"):
            await auth.token(sa_json)
        assert (await auth.token(sa_json)).token == "ya29.later"
    auth.close()
    assert route.call_count == 2


async def test_unreachable_token_endpoint(sa_json: str) -> None:
    """A transport failure is reported as such, with no exception text."""
    auth = GoogleAuth()
    with respx.mock() as router:
        router.post(TOKEN_URI).mock(side_effect=httpx.ConnectError("boom"))
        with pytest.raises(CredentialsError, match="could not be reached"):
            await auth.token(sa_json)
    auth.close()


async def test_failed_refresh_keeps_a_still_valid_token(sa_json: str) -> None:
    """Inside the margin a failed refresh falls back to the current token; after expiry it is an error."""
    clock = Clock()
    auth = GoogleAuth(clock=clock)
    with respx.mock() as router:
        down = httpx.ConnectError("token endpoint down")
        router.post(TOKEN_URI).mock(side_effect=[token_response("ya29.old"), down, down])
        await auth.token(sa_json)
        clock.now += 3600 - 60
        assert (await auth.token(sa_json)).token == "ya29.old"
        clock.now += 120
        with pytest.raises(CredentialsError):
            await auth.token(sa_json)
    auth.close()


async def test_credentials_file_and_quota_project(tmp_path: Path) -> None:
    """A file path works (here authorized-user ADC JSON), and its quota project becomes x-goog-user-project."""
    path = tmp_path / "adc.json"
    user = {"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": "r"}
    path.write_text(json.dumps({**user, "quota_project_id": "billing-proj"}))
    auth = GoogleAuth()
    with respx.mock() as router:
        route = router.post(TOKEN_URI).mock(return_value=token_response("ya29.user"))
        token = await auth.token(str(path))
    auth.close()
    assert parse_qs(route.calls[0].request.content.decode())["grant_type"] == ["refresh_token"]
    assert token.headers() == {"Authorization": "Bearer ya29.user", "x-goog-user-project": "billing-proj"}


@pytest.mark.parametrize(
    ("credentials", "needle"),
    [
        ("/nonexistent/sa.json", "names no readable"),
        ('{"type": "service_account"}', "not usable credentials JSON"),
        ("{not json", "not usable credentials JSON"),
    ],
)
async def test_unusable_credentials(credentials: str, needle: str) -> None:
    """A missing file or broken JSON: a fixed message, never the file's contents."""
    auth = GoogleAuth()
    with pytest.raises(CredentialsError, match=needle):
        await auth.token(credentials)
    auth.close()


async def test_missing_application_default_credentials() -> None:
    """No vertex_credentials and no ADC: 'not configured', naming where credentials can come from."""

    def no_adc(request: transport.Request) -> Credentials:
        raise auth_errors.DefaultCredentialsError("Your default credentials were not found.")  # type: ignore[no-untyped-call]

    auth = GoogleAuth(adc=no_adc)
    with pytest.raises(CredentialsError, match="not configured: set vertex_credentials"):
        await auth.token(None)


async def test_a_cancelled_session_does_not_cancel_the_shared_refresh(sa_json: str) -> None:
    """A session that goes away mid-refresh leaves it running; the next session joins it (still one request)."""
    release = threading.Event()

    def slow_token_endpoint(request: httpx.Request) -> httpx.Response:
        release.wait(5)  # in google-auth's worker thread, never the event loop
        return token_response("ya29.slow")

    auth = GoogleAuth()
    with respx.mock() as router:
        route = router.post(TOKEN_URI).mock(side_effect=slow_token_endpoint)
        gone = asyncio.create_task(auth.token(sa_json))
        await asyncio.sleep(0)
        gone.cancel()
        joining = asyncio.create_task(auth.token(sa_json))
        await asyncio.sleep(0)
        release.set()
        assert (await joining).token == "ya29.slow"
    auth.close()
    assert gone.cancelled() and route.call_count == 1
