"""gateway/upstream/endpoints.py: URL, headers and setup.model of every backend (GEMINI_LIVE.md §1.1–§1.3, §8)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config import Deployment, Provider
from gateway.upstream.endpoints import endpoint_for, model_resource
from gateway.upstream.google_auth import AccessToken
from schemas.profiles import profile_for

from .support import DEV_MODEL, VERTEX_MODEL

KEY = "AIzaSyENDPOINTTESTKEY0000000000000000"
TOKEN = AccessToken("ya29.endpoint-test-token", expires_at=2e9)


def deployment(provider: Provider, model: str = DEV_MODEL, **fields: Any) -> Deployment:
    return Deployment(alias="live", provider=provider, model_id=model, profile=profile_for(model), **fields)


def test_gemini_endpoint_default_host_version_and_header() -> None:
    """gemini/<id>: Google's v1beta URL, `models/<id>`, the key only in x-goog-api-key (§1.1–§1.3)."""
    endpoint = endpoint_for(deployment(Provider.GEMINI, api_key=KEY))
    assert endpoint.url == (
        "wss://generativelanguage.googleapis.com/ws/"
        "google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
    )
    assert endpoint.model_resource == f"models/{DEV_MODEL}"
    assert endpoint.headers == {"x-goog-api-key": KEY} and KEY not in endpoint.url and KEY not in repr(endpoint)


@pytest.mark.parametrize(
    ("api_base", "version", "prefix"),
    [
        ("http://127.0.0.1:9000", None, "ws://127.0.0.1:9000/ws/google.ai.generativelanguage.v1beta."),
        ("https://proxy.example/gl/", "v1alpha", "wss://proxy.example/gl/ws/google.ai.generativelanguage.v1alpha."),
        ("wss://proxy.example", "v1", "wss://proxy.example/ws/google.ai.generativelanguage.v1."),
    ],
)
def test_gemini_api_base_and_version(api_base: str, version: str | None, prefix: str) -> None:
    """api_base replaces the host (http→ws, https→wss, path kept); api_version picks the version."""
    endpoint = endpoint_for(deployment(Provider.GEMINI, api_key=KEY, api_base=api_base, api_version=version))
    assert endpoint.url.startswith(prefix) and endpoint.url.endswith("GenerativeService.BidiGenerateContent")


@pytest.mark.parametrize(
    ("location", "host"),
    [
        ("us-central1", "wss://us-central1-aiplatform.googleapis.com"),
        ("europe-west4", "wss://europe-west4-aiplatform.googleapis.com"),
        ("global", "wss://aiplatform.googleapis.com"),
        ("us", "wss://aiplatform.us.rep.googleapis.com"),
        ("eu", "wss://aiplatform.eu.rep.googleapis.com"),
    ],
)
def test_vertex_hosts_and_model_resource(location: str, host: str) -> None:
    """vertex_ai/<id>: regional, global and multi-region hosts, the LlmBidiService path, the full resource."""
    d = deployment(Provider.VERTEX, VERTEX_MODEL, vertex_project="proj", vertex_location=location)
    endpoint = endpoint_for(d, token=AccessToken("ya29.t", 2e9, quota_project="billing-proj"))
    assert endpoint.url == f"{host}/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
    assert endpoint.model_resource == f"projects/proj/locations/{location}/publishers/google/models/{VERTEX_MODEL}"
    assert endpoint.headers == {"Authorization": "Bearer ya29.t", "x-goog-user-project": "billing-proj"}


def test_vertex_defaults_and_express_mode() -> None:
    """No location → us-central1, api_version v1; an API key without project → express mode on global (§1.3)."""
    d = deployment(Provider.VERTEX, VERTEX_MODEL, vertex_project="p", api_version="v1")
    endpoint = endpoint_for(d, token=TOKEN)
    assert endpoint.url.startswith("wss://us-central1-aiplatform.googleapis.com/ws/google.cloud.aiplatform.v1.")
    assert "x-goog-user-project" not in endpoint.headers
    express = endpoint_for(deployment(Provider.VERTEX, VERTEX_MODEL, api_key=KEY))
    assert express.url.startswith("wss://aiplatform.googleapis.com/ws/")
    assert express.model_resource == f"publishers/google/models/{VERTEX_MODEL}"
    assert express.headers == {"x-goog-api-key": KEY}


def test_model_resource_needs_no_credentials() -> None:
    """The session learns setup.model before dialing, emulator deployments included."""
    assert model_resource(deployment(Provider.EMULATOR)) == f"models/{DEV_MODEL}"
    emulated_vertex = deployment(Provider.EMULATOR, VERTEX_MODEL, vertex_project="demo", vertex_location="global")
    assert model_resource(emulated_vertex).startswith("projects/demo/locations/global/publishers/google/models/")
