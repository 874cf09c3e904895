"""Which handshake paths the emulator serves and who may open them (GEMINI_LIVE.md §1.1, §1.2, §8)."""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

from schemas.profiles import Backend

# §1.1: any Developer version (the SDK 3.x default is v1), the ephemeral-token method, and a leading `//`.
_DEVELOPER = re.compile(
    r"^//?ws/google\.ai\.generativelanguage\.(v\d+(?:(?:alpha|beta)\d*)?)"
    r"\.GenerativeService\.(BidiGenerateContent(?:Constrained)?)$"
)
_VERTEX = re.compile(r"^//?ws/google\.cloud\.aiplatform\.(v1|v1beta1)\.LlmBidiService/(BidiGenerateContent)$")


@dataclass(frozen=True)
class Route:
    """A served endpoint: which backend, which API version, which rpc method."""

    backend: Backend
    version: str
    method: str


def parse_route(path: str) -> Route | None:
    """The route of a request target (query string ignored), or None for a 404."""
    bare = path.partition("?")[0]  # not urlsplit: it reads `//ws/...` as a host name
    for backend, pattern in ((Backend.GEMINI, _DEVELOPER), (Backend.VERTEX, _VERTEX)):
        match = pattern.match(bare)
        if match:
            return Route(backend=backend, version=match.group(1), method=match.group(2))
    return None


def developer_path(version: str = "v1beta", method: str = "BidiGenerateContent") -> str:
    return f"/ws/google.ai.generativelanguage.{version}.GenerativeService.{method}"


def vertex_path(version: str = "v1beta1") -> str:
    return f"/ws/google.cloud.aiplatform.{version}.LlmBidiService/BidiGenerateContent"


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _api_key_matches(headers: Mapping[str, str], path: str, api_key: str) -> bool:
    # §1.2: the Python SDK sends `x-goog-api-key`; the JS SDK and the docs use `?key=`.
    query = parse_qs(path.partition("?")[2])
    return _same(headers.get("x-goog-api-key"), api_key) or any(_same(k, api_key) for k in query.get("key", []))


def _bearer_matches(headers: Mapping[str, str], bearer_token: str) -> bool:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and _same(token.strip(), bearer_token)


def is_authorized(
    route: Route, headers: Mapping[str, str], path: str, api_key: str | None, bearer_token: str | None
) -> bool:
    """Whether the handshake carries the configured credentials; nothing configured means open.

    Developer API: the API key, when one is configured. Vertex: the bearer token, when one is configured;
    a matching API key (express mode, §1.2) is accepted instead.
    """
    if route.backend is Backend.GEMINI:
        return api_key is None or _api_key_matches(headers, path, api_key)
    if bearer_token is None:
        return True
    by_key = api_key is not None and _api_key_matches(headers, path, api_key)
    return by_key or _bearer_matches(headers, bearer_token)
