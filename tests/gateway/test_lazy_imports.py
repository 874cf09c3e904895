"""What a gateway imports only when a session or its config needs it (issue #15: idle RSS and start-up)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

HEAVY = ("numpy", "soxr", "google.auth", "google.genai", "sqlalchemy", "jsonschema")


def test_a_plain_gateway_loads_no_heavy_dependency(tmp_path: Path) -> None:
    """pcm16 sessions, no database, no Vertex OAuth, no tools: the app is built without numpy, soxr,
    google-auth, google-genai, SQLAlchemy or jsonschema (each comes with the first session or setting that
    needs it)."""
    config = tmp_path / "config.yaml"
    models = [{"model_name": "live", "litellm_params": {"model": "gemini/gemini-2.5-flash-native-audio-preview-12-2025",
                                                         "api_key": "k"}}]
    config.write_text(yaml.safe_dump({"model_list": models, "general_settings": {"master_key": "sk-x",
                                                                                "database_url": None}}))
    code = (
        "import sys\n"
        "from gateway.app import create_app\n"
        "from gateway.config import load_config\n"
        "import gateway.cli, gateway.serve\n"
        f"create_app(load_config({str(config)!r}, {{}}))\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
