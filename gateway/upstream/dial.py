"""Dialing an alias's Gemini Live upstream: credentials, the handshake and the setup, in fallback order.

Fallbacks follow seed 002: the next deployment is tried when the handshake or the setup fails, before the
client sees anything; the REST stand-in is the opt-in last resort. URLs live in `gateway/upstream/endpoints.py`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.protocol import State
from websockets.proxy import get_proxy
from websockets.uri import parse_uri

from gateway import close_codes
from gateway.config import Deployment, Provider
from gateway.upstream.connection import UpstreamConnection, dial_connection
from gateway.upstream.endpoints import Endpoint, endpoint_for, model_resource, vertex_location
from gateway.upstream.google_auth import AccessToken, CredentialsError

__all__ = [  # the endpoint names are re-exported for the session and bench/
    "Endpoint",
    "LiveSocket",
    "OpenedUpstream",
    "UpstreamContext",
    "UpstreamUnavailable",
    "dial",
    "dial_websockets",
    "endpoint_for",
    "model_resource",
    "open_upstream",
    "should_fall_back",
]

log = logging.getLogger("livegate.upstream")
# websockets logs every handshake header (x-goog-api-key, Authorization) at DEBUG: its records for our
# upstream sockets go to this logger, which never goes below INFO.
_wire_log = logging.getLogger("livegate.upstream.websockets")

PING_INTERVAL_S = 20.0  # keep-alive pings to Gemini, and how long a pong may take
SETUP_TIMEOUT_S = 10.0  # how long the first answer to `setup` may take before the next deployment is tried


async def dial(endpoint: Endpoint, *, open_timeout: float = 10.0) -> LiveConnection:
    """Open the upstream socket (gateway/upstream/connection.py): frames written and read without a task hop.
    Gemini frames can be large (audio), so no size cap. Through websockets' own client when a proxy is
    configured for the URL (HTTPS_PROXY and the like), which that client knows how to cross."""
    if _wire_log.getEffectiveLevel() < logging.INFO:
        _wire_log.setLevel(logging.INFO)
    if get_proxy(parse_uri(endpoint.url)) is not None:
        return await dial_websockets(endpoint, open_timeout=open_timeout)
    return await dial_connection(
        endpoint.url,
        endpoint.headers,
        open_timeout=open_timeout,
        ping_interval=PING_INTERVAL_S,
        ping_timeout=PING_INTERVAL_S,
        user_agent="livegate",
        logger=_wire_log,
    )


async def dial_websockets(endpoint: Endpoint, *, open_timeout: float = 10.0) -> ClientConnection:
    """The upstream socket as websockets' asyncio `ClientConnection` (the Vertex passthrough relays through it)."""
    if _wire_log.getEffectiveLevel() < logging.INFO:
        _wire_log.setLevel(logging.INFO)
    return await connect(
        endpoint.url,
        additional_headers=endpoint.headers,
        max_size=None,
        open_timeout=open_timeout,
        ping_interval=PING_INTERVAL_S,
        ping_timeout=PING_INTERVAL_S,
        user_agent_header="livegate",
        compression=None,  # base64 audio barely deflates; deflate was the largest CPU cost (bench/)
        logger=_wire_log,
    )


LiveConnection = UpstreamConnection | ClientConnection  # what `dial` opens
TokenSource = Callable[[Deployment], Awaitable[AccessToken]]
Frame = bytes | str


class LiveSocket(Protocol):
    """What the session uses of an upstream: an `UpstreamConnection` (or websockets' `ClientConnection` through
    a proxy), or the REST fallback's stand-in."""

    @property
    def close_code(self) -> int | None: ...

    @property
    def close_reason(self) -> str | None: ...

    async def send(self, message: Frame, text: bool | None = None) -> None: ...

    def __aiter__(self) -> AsyncIterator[Frame]: ...

    async def recv(self) -> Frame: ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...


@dataclass(frozen=True)
class UpstreamContext:
    """What dialing needs from the app: the built-in emulator's URL and Google credentials."""

    emulator_url: str | None = None
    token_for: TokenSource | None = None  # Vertex access tokens (gateway/upstream/google_auth.py); None: no OAuth
    setup_timeout_s: float = SETUP_TIMEOUT_S


@dataclass
class OpenedUpstream:
    """A connected upstream that has been sent its setup.

    `first_frame` is the upstream's first frame (normally `setupComplete`) when `open_upstream` read it
    to detect a refused setup: the session must feed it before reading `ws`. None: nothing was read.
    """

    ws: LiveSocket  # a LiveConnection, or RestLiveConnection (gateway/upstream/rest_fallback.py)
    deployment: Deployment
    endpoint: Endpoint
    first_frame: Frame | None = None


class UpstreamUnavailable(Exception):
    """No deployment of the alias could be reached; `detail` names every attempt."""

    def __init__(self, close: close_codes.ClientClose, detail: str) -> None:
        super().__init__(detail)
        self.close = close
        self.detail = detail


@dataclass(frozen=True)
class Attempt:
    """One deployment that could not be opened, and why (secrets redacted)."""

    deployment: Deployment
    close: close_codes.ClientClose
    what: str
    code: int | None = None  # the upstream's close code, when it closed after the upgrade

    def describe(self) -> str:
        d = self.deployment
        where = f" ({vertex_location(d)})" if d.provider is Provider.VERTEX else ""
        return f"{d.provider.value}/{d.model_id}{where}: {close_codes.redact(self.what)}"


class _Failed(Exception):
    def __init__(self, attempt: Attempt) -> None:
        self.attempt = attempt


def should_fall_back(attempt: Attempt) -> bool:
    """The one fallback policy (seed 002): anything before `setupComplete` except a setup Gemini calls invalid.

    A 1007 "invalid argument" would fail the same way on every deployment (they all get the same setup), so
    it is final; a 1007 about the API key or location is not (§5.1).
    """
    if attempt.code != 1007:
        return True
    return attempt.close is close_codes.UPSTREAM_AUTH or "location" in attempt.what


async def open_upstream(
    deployments: Sequence[Deployment],
    setup: dict[str, Any] | Callable[[Deployment], dict[str, Any]],
    ctx: UpstreamContext,
    *,
    read_first_frame: bool = False,
    spare: LiveConnection | None = None,
) -> OpenedUpstream:
    """Dial the alias's deployments in order and send the setup (with each one's model name).

    With `read_first_frame`, a close before the first answer counts as a failed attempt too, and the frame
    read is returned as `first_frame`. Raises `UpstreamUnavailable` naming every attempt.
    """
    attempts: list[Attempt] = []
    for deployment in deployments:
        try:
            body = setup(deployment) if callable(setup) else setup  # each deployment's own setup, if asked
            first, spare = (spare, None) if deployment is deployments[0] else (None, spare)
            return await _open_one(deployment, body, ctx, read_first_frame, first)
        except _Failed as failed:
            attempts.append(failed.attempt)
            log.info("upstream attempt failed for %r: %s", deployment.alias, failed.attempt.describe())
            if not should_fall_back(failed.attempt):
                break
    rest = next((d for d in deployments if d.rest_fallback and d.provider is not Provider.EMULATOR), None)
    if rest is not None and should_fall_back(attempts[-1]):
        try:
            return await _open_rest(rest, setup(rest) if callable(setup) else setup, ctx, read_first_frame)
        except _Failed as failed:
            attempts.append(failed.attempt)
    raise UpstreamUnavailable(attempts[-1].close, _summary(deployments[0].alias, attempts))


def _summary(alias: str, attempts: list[Attempt]) -> str:
    if len(attempts) == 1:
        return f"{alias!r} → {attempts[0].describe()}"
    listed = "; ".join(f"{i}) {a.describe()}" for i, a in enumerate(attempts, 1))
    return f"every deployment of {alias!r} failed: {listed}"


async def _token(deployment: Deployment, ctx: UpstreamContext) -> AccessToken | None:
    """The bearer token of a Vertex deployment (none for API keys and express mode)."""
    if deployment.provider is not Provider.VERTEX or ctx.token_for is None or deployment.api_key:
        return None
    try:
        return await ctx.token_for(deployment)
    except CredentialsError as exc:
        raise _Failed(Attempt(deployment, close_codes.UPSTREAM_AUTH, str(exc))) from None


async def _open_rest(deployment: Deployment, setup: dict[str, Any], ctx: UpstreamContext, read: bool) -> OpenedUpstream:
    """The last resort (seed 002): text turns over REST with the deployment's `rest_fallback` model."""
    from gateway.upstream.rest_fallback import RestLiveConnection, rest_url  # google-genai: ~40 MB, loaded if used

    connection = RestLiveConnection(deployment, await _token(deployment, ctx))
    await connection.send(orjson.dumps(setup))
    first = await connection.recv() if read else None
    log.warning(
        "no Live deployment of %r answered: serving text turns over REST (%s)",
        deployment.alias,
        deployment.rest_fallback,
    )
    endpoint = Endpoint(rest_url(deployment), f"rest:{deployment.rest_fallback}")
    return OpenedUpstream(connection, deployment, endpoint, first)


async def dial_spare(deployment: Deployment, ctx: UpstreamContext) -> LiveConnection | None:
    """A handshaken socket to the deployment, ready for a setup later (a planned switch); None if it fails."""
    try:
        token = await _token(deployment, ctx)
        return await _dial_attempt(deployment, endpoint_for(deployment, emulator_url=ctx.emulator_url, token=token))
    except _Failed as failed:
        log.info("spare upstream for %r not opened: %s", deployment.alias, failed.attempt.describe())
        return None


async def _open_one(
    deployment: Deployment,
    setup: dict[str, Any],
    ctx: UpstreamContext,
    read: bool,
    spare: LiveConnection | None = None,
) -> OpenedUpstream:
    token = await _token(deployment, ctx)
    endpoint = endpoint_for(deployment, emulator_url=ctx.emulator_url, token=token)
    ws = spare if spare is not None and spare.state is State.OPEN else await _dial_attempt(deployment, endpoint)
    body = {**setup["setup"], "model": endpoint.model_resource}
    try:
        async with asyncio.timeout(ctx.setup_timeout_s):
            await ws.send(orjson.dumps({"setup": body}), text=True)
            first = await ws.recv() if read else None
    except ConnectionClosed:  # Gemini refused the key or the setup (§5.1); a bad key closes before the setup
        code, reason = ws.close_code, ws.close_reason or ""
        what = f"closed {code}: {reason}" if reason else f"closed {code}"
        raise _Failed(Attempt(deployment, close_codes.for_upstream_close(code, reason), what, code)) from None
    except TimeoutError:
        await ws.close()
        what = f"no answer to the setup within {ctx.setup_timeout_s:g} s"
        raise _Failed(Attempt(deployment, close_codes.DIAL_FAILED, what)) from None
    except BaseException:
        await ws.close()
        raise
    return OpenedUpstream(ws, deployment, endpoint, first)


async def _dial_attempt(deployment: Deployment, endpoint: Endpoint) -> LiveConnection:
    try:
        return await dial(endpoint)
    except InvalidStatus as exc:
        status = exc.response.status_code
        close = close_codes.for_handshake_status(status)
        raise _Failed(Attempt(deployment, close, f"HTTP {status} from the upstream handshake")) from None
    except (OSError, InvalidHandshake, TimeoutError) as exc:
        what = "connection refused" if isinstance(exc, ConnectionRefusedError) else type(exc).__name__
        raise _Failed(Attempt(deployment, close_codes.DIAL_FAILED, what)) from None
