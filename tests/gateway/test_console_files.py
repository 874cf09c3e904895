"""`/console/<file>` serves the page's static files from gateway/web/, not the Python modules beside them."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.config import load_config
from gateway.web.console import WEB_DIR

EXAMPLE = Path(__file__).parents[2] / "examples" / "config.yaml"


def test_console_serves_its_assets_and_not_its_source() -> None:
    client = TestClient(create_app(load_config(EXAMPLE, {})))  # no lifespan: static routes need no state
    for asset in ("index.html", "console.js", "worklets.js", "console.css"):
        assert client.get(f"/console/{asset}").status_code == 200, asset
    python = sorted(path.name for path in WEB_DIR.glob("*.py"))
    assert "console.py" in python
    for module in python:
        response = client.get(f"/console/{module}")
        assert response.status_code == 404, module
        assert "import" not in response.text
