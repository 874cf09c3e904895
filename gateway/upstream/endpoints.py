"""Where each deployment's Gemini Live socket is: URL, auth headers and `setup.model` (GEMINI_LIVE.md §1, §8).

Keys travel in headers, never in URLs, so no access log or error message can leak them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from gateway.config import Deployment, Provider
from gateway.upstream.google_auth import AccessToken

GEMINI_HOST = "https://generativelanguage.googleapis.com"
GEMINI_VERSION = "v1beta"  # the SDK's v1 default is unverified for Live (GEMINI_LIVE.md §1.1)
VERTEX_VERSION = "v1beta1"
DEFAULT_VERTEX_LOCATION = "us-central1"
MULTI_REGIONS = frozenset({"us", "eu"})  # served from aiplatform.{us|eu}.rep.googleapis.com (§1.1)
GEMINI_PATH = "/ws/google.ai.generativelanguage.{version}.GenerativeService.BidiGenerateContent"
VERTEX_PATH = "/ws/google.cloud.aiplatform.{version}.LlmBidiService/BidiGenerateContent"
_WS_SCHEMES = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}


@dataclass(frozen=True)
class Endpoint:
    """One dialable upstream."""

    url: str
    model_resource: str  # setup.model
    headers: dict[str, str] = field(default_factory=dict, repr=False)  # may hold credentials


def ws_base(base: str) -> str:
    """`api_base` as a WebSocket base: http→ws, https→wss, path kept, no trailing slash (§1.1)."""
    parts = urlsplit(base if "://" in base else "https://" + base)
    scheme = _WS_SCHEMES.get(parts.scheme)
    if scheme is None:
        raise ValueError(f"api_base must be an http(s) or ws(s) URL, got scheme {parts.scheme!r}")
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def vertex_location(deployment: Deployment) -> str:
    return deployment.vertex_location or DEFAULT_VERTEX_LOCATION


def vertex_host(location: str) -> str:
    """`aiplatform.googleapis.com` for global, the multi-region host for us/eu, else regional (§1.1)."""
    if location == "global":
        return "https://aiplatform.googleapis.com"
    if location in MULTI_REGIONS:
        return f"https://aiplatform.{location}.rep.googleapis.com"
    return f"https://{location}-aiplatform.googleapis.com"


def vertex_url(api_base: str | None, location: str, version: str | None) -> str:
    """The Vertex Live socket URL for a location, or on `api_base` when set (§1.1, §8)."""
    return ws_base(api_base or vertex_host(location)) + VERTEX_PATH.format(version=version or VERTEX_VERSION)


def vertex_model(project: str, location: str, model_id: str) -> str:
    """`projects/{p}/locations/{l}/publishers/google/models/{id}` (§1.3)."""
    return f"projects/{project}/locations/{location}/publishers/google/models/{model_id}"


def endpoint_for(
    deployment: Deployment, *, emulator_url: str | None = None, token: AccessToken | None = None
) -> Endpoint:
    """Build the URL, headers and model resource of a deployment (§1.1–§1.3)."""
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
    url = ws_base(base) + GEMINI_PATH.format(version=version)
    return Endpoint(url, f"models/{deployment.model_id}", headers)


def _vertex_endpoint(deployment: Deployment, emulator_url: str | None, token: AccessToken | None) -> Endpoint:
    location = vertex_location(deployment)
    base = emulator_url if deployment.provider is Provider.EMULATOR else deployment.api_base
    headers = token.headers() if token else {}
    if deployment.vertex_project:
        resource = vertex_model(deployment.vertex_project, location, deployment.model_id)
    else:  # express mode: an API key and no project, on the global host (§1.2, §1.3)
        location = "global"
        resource = f"publishers/google/models/{deployment.model_id}"
    if deployment.api_key and not token:
        headers["x-goog-api-key"] = deployment.api_key
    return Endpoint(vertex_url(base, location, deployment.api_version), resource, headers)


def model_resource(deployment: Deployment) -> str:
    """setup.model for a deployment, known without dialing (no credentials needed)."""
    return endpoint_for(deployment, emulator_url="ws://unused").model_resource
