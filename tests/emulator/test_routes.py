"""gateway/emulator/routes.py: served paths (§1.1, §10) and handshake credentials (§1.2)."""

from __future__ import annotations

import pytest

from gateway.emulator.routes import Route, developer_path, is_authorized, parse_route, vertex_path
from schemas.profiles import Backend

DEV = Route(Backend.GEMINI, "v1beta", "BidiGenerateContent")
VERTEX = Route(Backend.VERTEX, "v1beta1", "BidiGenerateContent")


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent", DEV),
        ("//ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=k", DEV),
        (
            "//ws/google.ai.generativelanguage.v1.GenerativeService.BidiGenerateContent",
            Route(Backend.GEMINI, "v1", "BidiGenerateContent"),
        ),
        (
            "/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained",
            Route(Backend.GEMINI, "v1alpha", "BidiGenerateContentConstrained"),
        ),
        ("//ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent", VERTEX),
        (
            "/ws/google.cloud.aiplatform.v1.LlmBidiService/BidiGenerateContent",
            Route(Backend.VERTEX, "v1", "BidiGenerateContent"),
        ),
        (developer_path(), DEV),
        (vertex_path(), VERTEX),
    ],
)
def test_served_paths(path: str, route: Route) -> None:
    """Every SDK-built path, any Developer version, `//ws` and a query string are served."""
    assert parse_route(path) == route


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/ws",
        "///ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent",
        "/ws/google.ai.generativelanguage.v1beta.GenerativeService.GenerateContent",
        "/ws/google.ai.generativelanguage.beta.GenerativeService.BidiGenerateContent",
        "/ws/google.cloud.aiplatform.v2.LlmBidiService/BidiGenerateContent",
        "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService.BidiGenerateContent",
        "/v1beta/models/m:generateContent",
    ],
)
def test_other_paths_are_not_found(path: str) -> None:
    """Anything else is a 404."""
    assert parse_route(path) is None


def test_developer_api_key() -> None:
    """Developer: the key in `x-goog-api-key` or `?key=`; nothing configured means open."""
    path = developer_path()
    assert is_authorized(DEV, {}, path, None, None)
    assert is_authorized(DEV, {"x-goog-api-key": "k"}, path, "k", None)
    assert is_authorized(DEV, {}, path + "?key=k", "k", None)
    assert not is_authorized(DEV, {}, path, "k", None)
    assert not is_authorized(DEV, {"x-goog-api-key": "bad"}, path + "?key=worse", "k", None)
    assert is_authorized(DEV, {}, path, None, "tok"), "a bearer token only guards Vertex"


def test_vertex_bearer_token() -> None:
    """Vertex: `Authorization: Bearer`, or the API key (express mode); nothing configured means open."""
    path = vertex_path()
    assert is_authorized(VERTEX, {}, path, None, None)
    assert is_authorized(VERTEX, {}, path, "k", None)
    assert is_authorized(VERTEX, {"authorization": "Bearer tok"}, path, None, "tok")
    assert is_authorized(VERTEX, {"authorization": "bearer tok"}, path, None, "tok")
    assert is_authorized(VERTEX, {"x-goog-api-key": "k"}, path, "k", "tok")
    assert not is_authorized(VERTEX, {"authorization": "Bearer nope"}, path, None, "tok")
    assert not is_authorized(VERTEX, {"authorization": "Token tok"}, path, None, "tok")
    assert not is_authorized(VERTEX, {}, path, "k", "tok")
