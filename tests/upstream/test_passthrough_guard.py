"""The native passthrough never lends Google credentials without a gateway key (issue #16), and with no
credentials configured it closes 4001 at once without asking the GCE metadata server (issue #9)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import pytest
import respx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from gateway.upstream.adc import adc_source
from gateway.upstream.google_auth import ApplicationDefault, CredentialsError, GoogleAuth

from .support import AUTH, TIMEOUT, TOKEN_URI, entry, running_gateway, service_account

PLACEHOLDER = entry("unused", "gemini/gemini-3.1-flash-live-preview", api_key="unused")
METADATA = ("http://metadata.google.internal", "http://169.254.169.254")


async def closed(url: str) -> tuple[int | None, str | None, float]:
    started = time.monotonic()
    async with asyncio.timeout(TIMEOUT), connect(url, additional_headers=AUTH) as ws:
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    return ws.close_code, ws.close_reason, time.monotonic() - started


async def test_no_master_key_refuses_every_client(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Without general_settings.master_key: 4001 saying a gateway key is needed; no token is ever fetched."""
    caplog.set_level(logging.WARNING, logger="livegate.passthrough")
    settings = {"vertex_credentials": json.dumps(service_account()), "vertex_project": "p"}
    document = {"model_list": [PLACEHOLDER], "general_settings": {"vertex_passthrough": settings}}
    with respx.mock(assert_all_called=False) as router:
        token = router.post(TOKEN_URI)
        async with running_gateway(tmp_path, document) as gw:
            code, reason, _ = await closed(f"{gw.base}/v1/vertex-ai/live?project_id=anyone-elses")
    assert (code, reason) == (4001, "The Vertex passthrough needs a gateway key: set general_settings.master_key")
    assert not token.called
    assert "vertex passthrough refused: no general_settings.master_key is configured" in caplog.messages


async def test_no_credentials_close_4001_without_the_metadata_server(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing configured, not on Google Cloud: 4001 within a second, the metadata server never asked, a log line."""
    caplog.set_level(logging.WARNING, logger="livegate.passthrough")
    machine = {"HOME": str(tmp_path), "CLOUDSDK_CONFIG": str(tmp_path / "gcloud")}
    auth = GoogleAuth(adc=ApplicationDefault(machine, product_name_file=str(tmp_path / "no-dmi")))
    document = {
        "model_list": [PLACEHOLDER],
        "general_settings": {"master_key": "sk-upstream-test-master", "vertex_passthrough": {"vertex_project": "p"}},
    }
    with respx.mock(assert_all_called=False) as router:
        probes = [router.route(url__startswith=base) for base in METADATA]
        async with running_gateway(tmp_path, document, google_auth=auth) as gw:
            code, reason, elapsed = await closed(f"{gw.base}/v1/vertex-ai/live")
    assert code == 4001 and reason and reason.startswith("Vertex AI credentials are not configured")
    # Nothing blocked on a metadata probe (google-auth waits up to 3 s for one); a busy machine's handshake
    # alone can take longer than the second the refusal takes on a quiet one.
    assert elapsed < 3.0 and not any(probe.called for probe in probes)
    (line,) = [m for m in caplog.messages if m.startswith("vertex passthrough refused (close 4001)")]
    assert "the metadata server was not asked" in line


def test_adc_sources_are_found_without_the_network(tmp_path: Path) -> None:
    """Where ADC would come from: the env variable, gcloud's file, Google Cloud markers; else nowhere."""
    dmi = tmp_path / "product_name"
    empty = {"CLOUDSDK_CONFIG": str(tmp_path / "gcloud")}
    assert adc_source(empty, str(dmi)) is None
    assert adc_source({**empty, "GOOGLE_APPLICATION_CREDENTIALS": "/k.json"}, str(dmi)) == (
        "GOOGLE_APPLICATION_CREDENTIALS"
    )
    (tmp_path / "gcloud").mkdir()
    (tmp_path / "gcloud" / "application_default_credentials.json").write_text("{}")
    assert adc_source(empty, str(dmi)) == "gcloud application-default credentials"
    assert adc_source({"K_SERVICE": "svc"}, str(dmi)) == "the Google Cloud metadata server"
    dmi.write_text("Google Compute Engine\n")
    assert adc_source({}, str(dmi)) == "the Google Cloud metadata server"
    assert adc_source({"NO_GCE_CHECK": "True"}, str(dmi)) is None


async def test_application_default_refuses_before_google_auth(tmp_path: Path) -> None:
    """The loader itself raises the 'not configured' error, so no google-auth probe can start."""
    loader = ApplicationDefault({"CLOUDSDK_CONFIG": str(tmp_path)}, product_name_file=str(tmp_path / "none"))
    with pytest.raises(CredentialsError, match="not configured"):
        loader(None)  # type: ignore[arg-type]  # no request object is needed: nothing is asked
