"""Where each deployment's Gemini Live socket is, how to authenticate to it, and dialing it.

URLs and model names follow GEMINI_LIVE.md §1 and §8. Keys travel in headers, never in URLs, so no
access log or error message can leak them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidStatus

from gateway import close_codes
from gateway.config import Deployment, Provider

GEMINI_HOST = "https://generativelanguage.googleapis.com"
GEMINI_VERSION = "v1beta"  # the SDK's v1 default is unverified for Live (GEMINI_LIVE.md §1.1)
VERTEX_VERSION = "v1beta1"
DEFAULT_VERTEX_LOCATION = "us-central1"
GEMINI_PATH = "/ws/google.ai.generativelanguage.{version}.GenerativeService.BidiGenerateContent"
VERTEX_PATH = "/ws/google.cloud.aiplatform.{version}.LlmBidiService/BidiGenerateContent"
_WS_SCHEMES = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}


@dataclass(frozen=True)
class Endpoint:
    """One dialable upstream."""

    url: str
    model_resource: str  # setup.model
    headers: dict[str, str] = field(default_factory=dict, repr=False)  # may hold credentials


def _ws_base(base: str) -> str:
    parts = urlsplit(base if "://" in base else "https://" + base)
    scheme = _WS_SCHEMES.get(parts.scheme)
    if scheme is None:
        raise ValueError(f"api_base must be an http(s) or ws(s) URL, got scheme {parts.scheme!r}")
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def vertex_location(deployment: Deployment) -> str:
    return deployment.vertex_location or DEFAULT_VERTEX_LOCATION


def vertex_host(location: str) -> str:
    """`aiplatform.googleapis.com` for global, else the regional host (§1.1)."""
    if location == "global":
        return "https://aiplatform.googleapis.com"
    return f"https://{location}-aiplatform.googleapis.com"


def endpoint_for(deployment: Deployment, *, emulator_url: str | None = None, token: str | None = None) -> Endpoint:
    """Build the URL, headers and model resource of a deployment (§1.1–§1.3)."""
    model = deployment.model_id
    if deployment.provider is Provider.VERTEX or (
        deployment.provider is Provider.EMULATOR and deployment.vertex_project
    ):
        return _vertex_endpoint(deployment, emulator_url, token)
    if deployment.provider is Provider.EMULATOR:
        if emulator_url is None:
            raise RuntimeError("emulator deployment dialed with no emulator running")
        base, headers = emulator_url, {}
    else:
        base, headers = deployment.api_base or GEMINI_HOST, {"x-goog-api-key": deployment.api_key or ""}
    version = deployment.api_version or GEMINI_VERSION
    return Endpoint(_ws_base(base) + GEMINI_PATH.format(version=version), f"models/{model}", headers)


def _vertex_endpoint(deployment: Deployment, emulator_url: str | None, token: str | None) -> Endpoint:
    location = vertex_location(deployment)
    base = emulator_url if deployment.provider is Provider.EMULATOR else deployment.api_base
    version = deployment.api_version or VERTEX_VERSION
    url = _ws_base(base or vertex_host(location)) + VERTEX_PATH.format(version=version)
    resource = (
        f"projects/{deployment.vertex_project}/locations/{location}/publishers/google/models/{deployment.model_id}"
    )
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if deployment.api_key and not token:
        headers["x-goog-api-key"] = deployment.api_key  # express mode
    return Endpoint(url, resource, headers)


async def dial(endpoint: Endpoint, *, open_timeout: float = 10.0) -> ClientConnection:
    """Open the upstream socket. Gemini frames can be large (audio), so no size cap."""
    return await connect(
        endpoint.url,
        additional_headers=endpoint.headers,
        max_size=None,
        open_timeout=open_timeout,
        ping_interval=20,
        ping_timeout=20,
        user_agent_header="livegate",
    )


TokenSource = Callable[[Deployment], Awaitable[str | None]]


@dataclass(frozen=True)
class UpstreamContext:
    """What dialing needs from the app: the built-in emulator's URL and Google credentials."""

    emulator_url: str | None = None
    token_for: TokenSource | None = None  # Vertex access tokens; None: no OAuth available


@dataclass
class OpenedUpstream:
    """A connected upstream that has been sent its setup."""

    ws: ClientConnection
    deployment: Deployment
    endpoint: Endpoint


class UpstreamUnavailable(Exception):
    """No deployment of the alias could be reached; `detail` names every attempt."""

    def __init__(self, close: close_codes.ClientClose, detail: str) -> None:
        super().__init__(detail)
        self.close = close
        self.detail = detail


def model_resource(deployment: Deployment) -> str:
    """setup.model for a deployment, known without dialing (no credentials needed)."""
    return endpoint_for(deployment, emulator_url="ws://unused").model_resource


async def open_upstream(
    deployments: Sequence[Deployment], setup: dict[str, Any], ctx: UpstreamContext
) -> OpenedUpstream:
    """Dial the alias's deployment and send the setup (with that deployment's model name)."""
    deployment = deployments[0]
    token = await ctx.token_for(deployment) if ctx.token_for and deployment.provider is Provider.VERTEX else None
    endpoint = endpoint_for(deployment, emulator_url=ctx.emulator_url, token=token)
    try:
        ws = await dial(endpoint)
    except InvalidStatus as exc:
        status = exc.response.status_code
        raise UpstreamUnavailable(close_codes.DIAL_REFUSED, f"HTTP {status} from the upstream handshake") from None
    except (OSError, InvalidHandshake, TimeoutError) as exc:
        raise UpstreamUnavailable(close_codes.DIAL_FAILED, type(exc).__name__) from None
    body = {**setup["setup"], "model": endpoint.model_resource}
    await ws.send(orjson.dumps({"setup": body}), text=True)
    return OpenedUpstream(ws, deployment, endpoint)
