"""Google OAuth access tokens for Vertex AI (GEMINI_LIVE.md §1.2): load credentials, cache, refresh early.

google-auth is synchronous, so loading and refreshing run in a worker thread over an httpx transport
(respx can mock `https://oauth2.googleapis.com/token`); one refresh at a time per credentials. It is imported
on the first refresh: a gateway that serves no Vertex OAuth deployment never loads it (issue #15: idle RSS).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import TYPE_CHECKING, Any, cast

import httpx

from gateway.close_codes import redact
from gateway.config import Deployment
from gateway.upstream.adc import GCE_PRODUCT_NAME, adc_source

if TYPE_CHECKING:  # google-auth (~25 MB with its crypto) is imported when a Vertex token is first needed
    from google.auth import exceptions as auth_errors
    from google.auth import transport
    from google.auth.credentials import Credentials

log = logging.getLogger("livegate.google_auth")

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)  # what the SDK asks for (§1.2)
REFRESH_MARGIN_S = 300.0  # refresh this long before expiry, so a token never dies mid-handshake
DEFAULT_LIFETIME_S = 3600.0  # Google's access tokens last an hour when the answer names no expiry
HTTP_TIMEOUT_S = 10.0

Clock = Callable[[], float]  # unix seconds
Loader = Callable[["transport.Request"], "Credentials"]


class CredentialsError(Exception):
    """No usable Google credentials; the message is safe to show a client (no secret, no exception text)."""


@dataclass(frozen=True)
class AccessToken:
    """A bearer token and what goes with it on the wire (§1.2)."""

    token: str = field(repr=False)
    expires_at: float  # unix seconds
    quota_project: str | None = None  # sent as x-goog-user-project

    def headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if self.quota_project:
            headers["x-goog-user-project"] = self.quota_project
        return headers


class _Response:
    """google-auth's `transport.Response` interface (duck-typed, so google-auth loads only when used)."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    @property
    def data(self) -> bytes:
        return self._response.content


class HttpxRequest:
    """google-auth's `transport.Request` interface over an httpx client (called from a worker thread)."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> _Response:
        try:
            response = self._client.request(
                method, url, content=body, headers=headers, timeout=timeout or HTTP_TIMEOUT_S
            )
        except httpx.HTTPError as exc:
            from google.auth import exceptions as auth_errors

            raise auth_errors.TransportError(f"{type(exc).__name__} calling {url}") from None  # type: ignore[no-untyped-call]
        return _Response(response)


def loader_for(credentials: str | None, adc: Loader) -> Loader:
    """How to load `vertex_credentials`: a JSON document, a file path, or None for ADC."""
    if credentials is None:
        return adc
    if credentials.lstrip().startswith("{"):
        return lambda request: _from_text(credentials, "vertex_credentials is not usable credentials JSON")
    return lambda request: _from_file(credentials)


def _from_file(path: str) -> Credentials:
    problem = "vertex_credentials names no readable, usable credentials file"
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError):
        raise CredentialsError(problem) from None
    return _from_text(text, problem)


def _from_text(text: str, problem: str) -> Credentials:
    """Type-specific loaders for the common key files; google-auth's generic loader for the rest."""
    import google.auth
    from google.auth import exceptions as auth_errors

    try:
        info = json.loads(text)
        load = _loaders().get(info.get("type"))
        if load is not None:
            return load(info, scopes=SCOPES)
        loaded = google.auth.load_credentials_from_dict(info, scopes=SCOPES)  # type: ignore[no-untyped-call]
        return cast("Credentials", loaded[0])
    except (ValueError, KeyError, AttributeError, auth_errors.GoogleAuthError):
        raise CredentialsError(problem) from None


def _loaders() -> dict[str, Callable[..., Credentials]]:
    """By the key file's "type"."""
    from google.oauth2 import credentials as user_credentials
    from google.oauth2 import service_account

    return {
        "service_account": service_account.Credentials.from_service_account_info,
        "authorized_user": user_credentials.Credentials.from_authorized_user_info,
    }


NO_CREDENTIALS = (
    "Vertex AI credentials are not configured: set vertex_credentials, "
    "DEFAULT_GOOGLE_APPLICATION_CREDENTIALS or application default credentials"
)


class ApplicationDefault:
    """Application default credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud, metadata server), refused at
    once when none is configured instead of letting google-auth probe the metadata server off Google Cloud."""

    def __init__(self, environ: Mapping[str, str] = os.environ, product_name_file: str = GCE_PRODUCT_NAME) -> None:
        self._environ = environ  # injected: tests describe the machine
        self._product_name_file = product_name_file

    def __call__(self, request: transport.Request) -> Credentials:
        if adc_source(self._environ, self._product_name_file) is None:
            raise CredentialsError(NO_CREDENTIALS + " (none found here; the metadata server was not asked)")
        import google.auth

        return google.auth.default(scopes=SCOPES, request=request)[0]


class TokenSource:
    """One set of credentials: a cached token, refreshed `margin_s` before expiry, one refresh at a time."""

    def __init__(self, load: Loader, request: transport.Request, clock: Clock, margin_s: float) -> None:
        self._load = load  # builds the google-auth credentials (in the worker thread, once)
        self._request = request  # google-auth transport for the token endpoint
        self._clock = clock  # injected: tests move time instead of sleeping
        self._margin_s = margin_s
        self._credentials: Credentials | None = None
        self._token: AccessToken | None = None  # the last token obtained
        # The refresh in flight, shared by every waiting session; shielded, so a session that goes away
        # cannot cancel it and a second refresh can never run beside it on the same credentials.
        self._refreshing: asyncio.Task[AccessToken] | None = None

    def _fresh(self, token: AccessToken) -> bool:
        return self._clock() < token.expires_at - self._margin_s

    async def token(self) -> AccessToken:
        token = self._token
        if token is not None and self._fresh(token):
            return token
        if self._refreshing is None:
            self._refreshing = asyncio.create_task(self._renew(token))
            self._refreshing.add_done_callback(_retrieve)
        return await asyncio.shield(self._refreshing)

    async def _renew(self, current: AccessToken | None) -> AccessToken:
        try:
            self._token = await asyncio.to_thread(self._refresh)
            return self._token
        except CredentialsError:
            if current is not None and self._clock() < current.expires_at:
                log.warning("access token refresh failed; the current token is still valid, using it")
                return current
            raise
        finally:
            self._refreshing = None

    def _refresh(self) -> AccessToken:
        """Runs in a worker thread: load the credentials once, then ask the token endpoint."""
        from google.auth import exceptions as auth_errors

        try:
            if self._credentials is None:
                self._credentials = self._load(self._request)
            self._credentials.refresh(self._request)  # type: ignore[no-untyped-call]
        except CredentialsError:
            raise
        except auth_errors.DefaultCredentialsError:
            raise CredentialsError(NO_CREDENTIALS) from None
        except auth_errors.RefreshError as exc:
            raise CredentialsError(f"Google refused the Vertex AI credentials: {_refresh_reason(exc)}") from None
        except auth_errors.TransportError:
            raise CredentialsError("the Google token endpoint could not be reached") from None
        except (OSError, ValueError, KeyError, auth_errors.GoogleAuthError):
            raise CredentialsError("the Vertex AI credentials could not be used") from None
        return self._snapshot(self._credentials)

    def _snapshot(self, credentials: Credentials) -> AccessToken:
        expiry = credentials.expiry  # naive UTC (google-auth's convention)
        expires_at = expiry.replace(tzinfo=UTC).timestamp() if expiry else self._clock() + DEFAULT_LIFETIME_S
        quota = getattr(credentials, "quota_project_id", None)
        return AccessToken(str(credentials.token), expires_at, quota)


def _retrieve(task: asyncio.Task[AccessToken]) -> None:
    """Mark a failed refresh's exception as seen even when every waiting session has gone."""
    if not task.cancelled():
        task.exception()


def _refresh_reason(exc: auth_errors.RefreshError) -> str:
    """The token endpoint's `error: description` (e.g. `invalid_grant: Invalid JWT Signature.`), redacted."""
    text = str(exc.args[0]) if exc.args else "refresh failed"
    return redact(text)[:200]


class GoogleAuth:
    """Token sources by credentials, shared by every session of the app (built once in the lifespan)."""

    def __init__(
        self,
        *,
        clock: Clock = time.time,
        adc: Loader | None = None,
        client: httpx.Client | None = None,
        margin_s: float = REFRESH_MARGIN_S,
    ) -> None:
        self._clock = clock
        self._adc = adc or ApplicationDefault()  # injected so tests can stand in for the machine's ADC
        self._client = client  # created on first use: most gateways never need one
        self._margin_s = margin_s
        self._sources: dict[str | None, TokenSource] = {}  # vertex_credentials (None: ADC) → source

    def source(self, credentials: str | None) -> TokenSource:
        source = self._sources.get(credentials)
        if source is None:
            if self._client is None:
                self._client = httpx.Client()
            request = cast("transport.Request", HttpxRequest(self._client))
            source = TokenSource(loader_for(credentials, self._adc), request, self._clock, self._margin_s)
            self._sources[credentials] = source
        return source

    async def token(self, credentials: str | None) -> AccessToken:
        return await self.source(credentials).token()

    async def token_for(self, deployment: Deployment) -> AccessToken:
        """`UpstreamContext.token_for`: the bearer token of a Vertex deployment."""
        return await self.token(deployment.vertex_credentials)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
